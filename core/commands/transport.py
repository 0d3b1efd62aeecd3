"""Commands between processes: a running scheduler listens on a Unix socket in the abstract
namespace (no file, no port; only processes of the same user are answered, checked with
SO_PEERCRED), one JSON line in, one JSON line out: a command, or the read-only status query
(`{"query": "status"}`), which the server answers on its own thread, not the scheduler's loop."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from typing import Any, Protocol

from flowtui.commands.model import Command, SchedulerStatus, from_wire, to_wire
from flowtui.config import Settings
from flowtui.errors import CommandRejected, FlowtuiError


class CommandTarget(Protocol):
    """Whoever applies commands (the scheduler): `call` blocks until the result is ready."""

    def call(self, command: Command, actor: str, timeout: float = 30.0) -> dict[str, Any]: ...


logger = logging.getLogger(__name__)

STATUS_TIMEOUT = 2.0
"""Seconds a status query waits: it is answered at once, or the scheduler is stuck."""


def socket_address(settings: Settings) -> str:
    """The scheduler's address for a home: abstract, so that its length never matters."""
    digest = hashlib.sha1(str(settings.home).encode()).hexdigest()[:20]
    return f"\0flowtui-{digest}"


class CommandServer:
    """Serves a `CommandTarget` and its status to other processes of the same user."""

    def __init__(
        self,
        settings: Settings,
        scheduler: CommandTarget,
        status: Callable[[], SchedulerStatus],
    ) -> None:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                owner._serve_one(self.request, self.rfile, self.wfile)

        self.scheduler = scheduler
        self.status = status
        self._server = socketserver.ThreadingUnixStreamServer(socket_address(settings), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="flowtui-commands", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve_one(
        self, conn: socket.socket, rfile: io.BufferedIOBase, wfile: io.BufferedIOBase
    ) -> None:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():
            logger.warning("refused a command from uid %s", uid)
            return
        try:
            request = json.loads(rfile.readline())
            if request.get("query") == "status":
                result = self.status()._asdict()
            else:
                result = self.scheduler.call(from_wire(request), request.get("actor", "unknown"))
            reply: dict[str, Any] = {"ok": True, "result": result}
        except FlowtuiError as exc:
            reply = {"ok": False, "error": str(exc)}
        except Exception as exc:
            logger.exception("command failed")
            reply = {"ok": False, "error": f"the scheduler could not apply it: {exc}"}
        wfile.write((json.dumps(reply) + "\n").encode())


class SocketClient:
    """Sends commands (and the status query) to the scheduler running on a home."""

    def __init__(self, settings: Settings, actor: str) -> None:
        self.settings = settings
        self.actor = actor

    def send(self, command: Command) -> dict[str, Any]:
        return self._exchange({**to_wire(command), "actor": self.actor}, timeout=60)

    def status(self) -> SchedulerStatus:
        """What the scheduler says about itself.

        Raises:
            CommandRejected: nothing answers on the home's socket (in time).
        """
        try:
            return SchedulerStatus(**self._exchange({"query": "status"}, STATUS_TIMEOUT))
        except (OSError, ValueError, TypeError) as exc:  # cut off, stuck, or garbled
            raise CommandRejected(
                f"the scheduler on {self.settings.home} gave no status: {exc}"
            ) from None

    def _exchange(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(socket_address(self.settings))
            except OSError:
                raise CommandRejected(
                    f"the scheduler on {self.settings.home} holds its lock but does not answer "
                    f"commands; it may be starting up, try again in a moment"
                ) from None
            sock.sendall((json.dumps(request) + "\n").encode())
            reply = json.loads(sock.makefile("rb").readline() or b"{}")
        if not reply.get("ok"):
            raise CommandRejected(reply.get("error", "the scheduler gave no answer"))
        result: dict[str, Any] = reply["result"]
        return result
