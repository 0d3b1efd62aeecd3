"""Sending one mail through the `[smtp]` settings: plain SMTP, STARTTLS or SMTP over TLS, with
a login when a user is set (the password from the environment variable `password_env` names).
The server's certificate is checked against the system's CAs (`SSL_CERT_FILE` points OpenSSL
at others). Errors become `DeliveryFailed`, transient or not. `Mail` is EmailOperator's mail as
plain data: a remote attempt's travels home as JSON and is sent there."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.alert_config import SmtpSettings
from flowtui.notify import DeliveryFailed

if TYPE_CHECKING:
    from email.message import Message


class Attachment(NamedTuple):
    """A file attached to a mail, under its base name."""

    name: str
    content: bytes

    @classmethod
    def read(cls, path: str) -> Attachment:
        """The file at `path`, read now.

        Raises:
            OSError: it cannot be read.
        """
        return cls(Path(path).name, Path(path).read_bytes())


class Mail(NamedTuple):
    """An HTML mail with attachments, as EmailOperator sends it."""

    to: Sequence[str]
    subject: str
    html: str
    cc: Sequence[str]
    bcc: Sequence[str]
    attachments: Sequence[Attachment]
    mime_subtype: str = "mixed"
    mime_charset: str = "utf-8"

    def to_json(self) -> dict[str, Any]:
        """JSON-able, the attachments' bytes in base64."""
        import base64

        files = [[a.name, base64.b64encode(a.content).decode()] for a in self.attachments]
        return {**self._asdict(), "attachments": files}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mail:
        import base64

        files = [Attachment(name, base64.b64decode(text)) for name, text in data["attachments"]]
        return cls(**{**data, "attachments": files})


def send_mail(smtp: SmtpSettings, mail: Mail) -> None:
    """Build `mail` and hand it to the server for its To, Cc and Bcc.

    Raises:
        DeliveryFailed: as `send_message`.
    """
    message = build_message(
        smtp,
        to=mail.to,
        subject=mail.subject,
        html=mail.html,
        cc=mail.cc,
        attachments=mail.attachments,
        mime_subtype=mail.mime_subtype,
        mime_charset=mail.mime_charset,
    )
    send_message(smtp, message, [*mail.to, *mail.cc, *mail.bcc])


def build_message(
    smtp: SmtpSettings,
    *,
    to: Sequence[str],
    subject: str,
    text: str | None = None,
    html: str | None = None,
    cc: Sequence[str] = (),
    attachments: Sequence[Attachment] = (),
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
) -> Message:
    """A message from `smtp.mail_from`: plain `text`, or (as Airflow's EmailOperator builds it)
    a multipart/`mime_subtype` of the `html` part and the `attachments`."""
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    if html is None:
        message: Message = MIMEText(text or "", "plain", mime_charset)
    else:
        message = MIMEMultipart(mime_subtype)
        message.attach(MIMEText(html, "html", mime_charset))
        for attachment in attachments:
            part = MIMEApplication(attachment.content, Name=attachment.name)
            part["Content-Disposition"] = f'attachment; filename="{attachment.name}"'
            message.attach(part)
    message["Subject"] = subject
    message["From"] = smtp.mail_from
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    return message


def send_message(smtp: SmtpSettings, message: Message, recipients: Sequence[str]) -> None:
    """Hand `message` to the server for `recipients` (To, Cc and Bcc together).

    Raises:
        DeliveryFailed: no host is configured, the password's variable is unset, or the server
            could not be reached or refused (transient for timeouts, refused connections and
            4xx replies).
    """
    if not smtp.host:
        raise DeliveryFailed("flowtui.toml has no [smtp] host", transient=False)
    password = _password(smtp)
    import smtplib
    import ssl

    try:
        context = ssl.create_default_context()
        if smtp.ssl:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout, context=context
            )
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with server:
            if smtp.starttls:
                server.starttls(context=context)
            if smtp.user:
                server.login(smtp.user, password)
            server.send_message(message, smtp.mail_from, list(recipients))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        refused = ", ".join(sorted(exc.recipients))
        raise DeliveryFailed(
            f"the server refused {refused}", transient=all(400 <= c < 500 for c in codes)
        ) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        raise DeliveryFailed(
            f"SMTP error {exc.smtp_code} {text}".strip(), transient=400 <= exc.smtp_code < 500
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryFailed(f"the server does not support it: {exc}", transient=False) from None
    except ssl.SSLError as exc:  # a certificate that does not verify stays so
        raise DeliveryFailed(f"TLS failed: {exc}", transient=False) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(_reason(exc), transient=True) from None


def _password(smtp: SmtpSettings) -> str:
    if not smtp.password_env:
        return ""
    password = os.environ.get(smtp.password_env)
    if password is None:
        raise DeliveryFailed(
            f"the environment variable {smtp.password_env} (smtp.password_env) is not set",
            transient=False,
        )
    return password


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
