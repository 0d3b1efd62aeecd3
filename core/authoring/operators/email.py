"""`EmailOperator`: send one mail through the home's `[smtp]` settings, with Airflow's arguments
(`to`, `subject`, `html_content`, `files`, `cc`, `bcc`, `mime_subtype`, `mime_charset`): from
the attempt's process, or for an attempt on a Dask worker (where the files are read) from the
scheduler's side. Airflow's `conn_id` and `custom_headers` are refused at load, like every
argument flowtui does not take."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from flowtui.authoring import variables
from flowtui.authoring.arguments import email_addresses
from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.errors import InvalidArgument


class MailNotSent(Exception):
    """The mail server could not be reached or refused the mail; the task fails (and retries,
    if it has retries left)."""


class EmailOperator(BaseOperator):
    """Send an HTML mail, with attachments, to `to` (and `cc`, `bcc`).

    Args:
        to: an address, several separated by commas or semicolons, or a list (templated;
            the addresses are checked once rendered).
        subject: the subject line (templated).
        html_content: the HTML body (templated).
        files: paths of files to attach (templated).
        cc: addresses copied.
        bcc: addresses copied blind.
        mime_subtype: the multipart subtype ("mixed", "alternative", ...).
        mime_charset: the charset of the HTML part.
    """

    template_fields: ClassVar[Sequence[str]] = ("to", "subject", "html_content", "files")
    template_ext: Sequence[str] = (".html",)

    def __init__(
        self,
        *,
        to: str | list[str],
        subject: str,
        html_content: str,
        files: list[str] | None = None,
        cc: str | list[str] | None = None,
        bcc: str | list[str] | None = None,
        mime_subtype: str = "mixed",
        mime_charset: str = "utf-8",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        place = self._where()
        for name, value in (("subject", subject), ("html_content", html_content)):
            if not isinstance(value, str):
                raise InvalidArgument(place, f"{name} must be a string, got {value!r}")
        if files is not None and not (
            isinstance(files, list | tuple) and all(isinstance(f, str) for f in files)
        ):
            raise InvalidArgument(place, f"files must be a list of paths, got {files!r}")
        if not isinstance(to, str | list) or not all(isinstance(a, str) for a in _listed(to)):
            raise InvalidArgument(place, "to must be an address or a list of addresses")
        self.to = to
        self.subject = subject
        self.html_content = html_content
        self.files = list(files or [])
        self.cc = email_addresses(cc, place, "cc")
        self.bcc = email_addresses(bcc, place, "bcc")
        self.mime_subtype = mime_subtype
        self.mime_charset = mime_charset

    def execute(self, context: Context) -> Any:
        """Send the mail; raise `MailNotSent` with the reason if it cannot be.

        Raises:
            OSError: a file to attach cannot be read.
        """
        from flowtui.notify import DeliveryFailed
        from flowtui.notify.smtp import Attachment, Mail, send_mail

        to = email_addresses(self.to, self._where(), "to")
        if not to:
            raise InvalidArgument(self._where(), "to names no address")
        attachments = [Attachment.read(file) for file in self.files]
        mail = Mail(
            to,
            self.subject,
            self.html_content,
            self.cc,
            self.bcc,
            attachments,
            self.mime_subtype,
            self.mime_charset,
        )
        remote = context["ti"].home_mailer()
        try:
            if remote is None:
                from flowtui.config import load_smtp

                send_mail(load_smtp(variables.db_path().parent), mail)
            else:  # on a Dask worker: the home's [smtp] is in its flowtui.toml
                remote.send(mail)
        except DeliveryFailed as exc:
            raise MailNotSent(f"mail to {', '.join(to)} not sent: {exc.reason}") from None
        print(f"Sent mail {self.subject!r} to {', '.join((*to, *self.cc, *self.bcc))}")
        return None


def _listed(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]
