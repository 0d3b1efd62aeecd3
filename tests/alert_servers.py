"""Real servers on 127.0.0.1 for the alert tests: an SMTP server (aiosmtpd) that takes mail only
after STARTTLS and a login, with a throwaway CA (trustme) that `SSL_CERT_FILE` makes the
client trust; and an HTTP server that records webhook posts, or holds them without answering."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import Home

USER, PASSWORD = "alice", "s3cret"
PASSWORD_ENV = "ALERTS_TEST_SMTP_PASSWORD"


class Mail:
    """One message the SMTP server took: the envelope and the parsed message."""

    def __init__(
        self, mail_from: str, rcpt_tos: list[str], content: bytes, user: str, tls: bool
    ) -> None:
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.user = user
        """Who logged in ("" if nobody did)."""
        self.tls = tls
        """Whether the session ran over TLS (after STARTTLS)."""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.message = message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        """The plain-text part (or the HTML part) as text."""
        body = self.message.get_body(("plain", "html"))
        assert body is not None
        return str(body.get_content())


class _Handler:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        user = session.auth_data.login.decode() if session.authenticated else ""
        tls = session.ssl is not None
        rcpt_tos = list(envelope.rcpt_tos)
        self.mails.append(Mail(envelope.mail_from, rcpt_tos, envelope.content, user, tls))
        return "250 OK"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, auth_data=auth_data)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def smtp_server(ca_file: Path) -> Iterator[tuple[int, list[Mail]]]:
    """An SMTP server on 127.0.0.1 that requires STARTTLS and AUTH LOGIN as alice; its CA is
    written to `ca_file` (point SSL_CERT_FILE there). Yields its port and the mails taken."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    handler = _Handler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
        auth_required=True,
    )
    controller.start()
    try:
        yield port, handler.mails
    finally:
        controller.stop()


class WebhookServer:
    """Records each POST's JSON body and answers 200; with `hang`, not before `release()`."""

    def __init__(self, *, hang: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.received = threading.Event()
        self._release = threading.Event()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                recorder.bodies.append(json.loads(self.rfile.read(length)))
                recorder.received.set()
                if hang:
                    recorder._release.wait(30)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        self._release.set()


def configure(home: Home, text: str) -> None:
    """Write the home's flowtui.toml."""
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "flowtui.toml").write_text(text)


@contextmanager
def smtp_home(
    home: Home, folder: Path, monkeypatch: pytest.MonkeyPatch, config: str = ""
) -> Iterator[list[Mail]]:
    """The SMTP server, the home's [smtp] pointing at it with STARTTLS and a login (after the
    rest of its flowtui.toml, `config`), and the environment (CA file, password variable) that
    flowtui's processes inherit."""
    ca_file = folder / "ca.pem"
    with smtp_server(ca_file) as (port, mails):
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        configure(
            home,
            f"""{config}
[smtp]
host = "127.0.0.1"
port = {port}
starttls = true
user = "{USER}"
password_env = "{PASSWORD_ENV}"
mail_from = "flowtui@build.example.com"
""",
        )
        yield mails
