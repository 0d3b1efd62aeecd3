"""Files of the DAG folder that failed to load: each file, the line and the one-line message;
then warnings about DAGs that load but ask for what the settings cannot do (mail without an
[smtp] host)."""

from __future__ import annotations

import sqlite3
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from flowtui.alert_config import MailWarning, mail_warnings
from flowtui.config import Settings
from flowtui.store import reads
from flowtui.tui.screens.base import KeyTable, LiveScreen
from flowtui.tui.widgets.header_bar import HeaderBar


class ImportErrorsScreen(LiveScreen):
    """One row per broken file; esc goes back."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(Text(" Import errors ", style="bold reverse"))
        yield KeyTable(id="errors", cursor_type="row")
        yield Footer()

    home_settings: Settings | None = None
    """The App's settings, kept on mount for `load` (the live thread cannot reach the App)."""

    def on_mount(self) -> None:
        self.home_settings = self.settings
        table = self.query_one(KeyTable)
        table.add_columns("file", "line", "error")
        table.focus()

    def load(self, conn: sqlite3.Connection) -> Any:
        return {
            "errors": reads.import_errors(conn),
            "warnings": load_warnings(conn, self.home_settings),
        }

    def show(self, data: Any) -> None:
        table = self.query_one(KeyTable)
        table.clear()
        for error in data["errors"]:
            table.add_row(
                error["filename"],
                str(error["line"] or ""),
                Text(error["message"], style="red"),
                key=error["filename"],
            )
        if not data["errors"]:
            table.add_row("no import errors", "", "")
        for warning in data["warnings"]:
            message = Text(f"warning: {warning.message}", style="yellow")
            table.add_row(warning.fileloc, "", message, key=f"warning:{warning.dag_id}")


def load_warnings(conn: sqlite3.Connection, settings: Settings | None) -> list[MailWarning]:
    """Warnings about loaded DAGs (mail without an [smtp] host), made from the stored specs and
    this dashboard's settings; no query at all when an [smtp] host is set (or, before the
    screen is mounted, no settings are known)."""
    if settings is None or settings.smtp.host:
        return []
    return mail_warnings(reads.tasks_asking_for_email(conn), settings.smtp, settings.home)
