"""Files of the DAG folder that failed to load: each file, the line and the one-line message."""

from __future__ import annotations

import sqlite3
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

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

    def on_mount(self) -> None:
        table = self.query_one(KeyTable)
        table.add_columns("file", "line", "error")
        table.focus()

    def load(self, conn: sqlite3.Connection) -> Any:
        return reads.import_errors(conn)

    def show(self, data: Any) -> None:
        table = self.query_one(KeyTable)
        table.clear()
        for error in data:
            table.add_row(
                error["filename"],
                str(error["line"] or ""),
                Text(error["message"], style="red"),
                key=error["filename"],
            )
        if not data:
            table.add_row("no import errors", "", "")
