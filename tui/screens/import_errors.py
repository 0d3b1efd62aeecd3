"""Files of the DAG folder that failed to load: each file and line, its whole message (wrapped)
and the source line it points at; `enter` opens the file there (`SourceScreen`). Then warnings
about DAGs that load but ask for what the settings cannot do (mail without an [smtp] host)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from flowtui.alert_config import MailWarning, mail_warnings
from flowtui.config import Settings
from flowtui.store import reads
from flowtui.tui.screens.base import LiveScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.state_badge import STYLES


class ImportErrorsScreen(LiveScreen):
    """One entry per broken file, then the warnings; esc goes back."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        # priority: the list's own enter (select) would hide this one from the footer
        Binding("enter", "open_source", "Open file", priority=True),
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
    ]

    home_settings: Settings | None = None
    """The App's settings, kept on mount for `load` (the live thread cannot reach the App)."""

    def __init__(self, filename: str | None = None) -> None:
        super().__init__()
        self.filename = filename
        """The file to put the cursor on (`e` on a DAG whose file has an error)."""
        self.places: list[tuple[str, int | None]] = []
        """(file, line) of each entry, in order."""

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(Text(" Import errors ", style="bold reverse"), id="errors-title")
        yield OptionList(id="errors")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.home_settings = self.settings
        self.error_list.focus()

    @property
    def error_list(self) -> OptionList:
        return self.query_one("#errors", OptionList)

    def load(self, conn: sqlite3.Connection) -> Any:
        errors = reads.import_errors(conn)
        return {
            "errors": errors,
            "sources": [_source_line(e["filename"], e["line"]) for e in errors],
            "warnings": load_warnings(conn, self.home_settings),
        }

    def show(self, data: Any) -> None:
        options = self.error_list
        kept = options.highlighted
        options.clear_options()
        self.places = []
        for error, source in zip(data["errors"], data["sources"], strict=True):
            options.add_option(Option(_error_entry(error, source), id=f"e:{error['filename']}"))
            self.places.append((error["filename"], error["line"]))
        if not data["errors"]:
            options.add_option(Option(Text("no import errors", style="dim"), disabled=True))
            self.places.append(("", None))
        for warning in data["warnings"]:
            entry = Group(
                Text(warning.fileloc, style="bold"),
                Text(f"warning: {warning.message}", style="italic"),
            )
            options.add_option(Option(entry, id=f"w:{warning.dag_id}"))
            self.places.append((warning.fileloc, None))
        files = [f for f, _ in self.places]
        if self.filename is not None and self.filename in files:
            options.highlighted = files.index(self.filename)
            self.filename = None  # only the first time: then the user moves
        elif kept is not None and kept < len(self.places):
            options.highlighted = kept

    @on(OptionList.OptionSelected, "#errors")
    def _selected(self) -> None:
        self.action_open_source()

    def action_open_source(self) -> None:
        index = self.error_list.highlighted
        if index is None or index >= len(self.places) or not self.places[index][0]:
            return
        # Imported on first use: Pygments would add ~90 ms to the dashboard's first frame.
        from flowtui.tui.screens.source import SourceScreen

        self.app.push_screen(SourceScreen(*self.places[index]))

    def action_cursor(self, way: str) -> None:
        getattr(self.error_list, f"action_cursor_{way}")()


def _error_entry(error: dict[str, Any], source: str | None) -> Group:
    where = Text(error["filename"], style="bold")
    if error["line"]:
        where.append(f":{error['line']}", style="bold")
    parts = [where, Text(error["message"].rstrip(), style=STYLES["failed"])]
    if source is not None:
        parts.append(Text(f"{error['line']:>5} │ ", style="dim") + Text(source.rstrip()))
    parts.append(Text(""))
    return Group(*parts)


def _source_line(filename: str, line: int | None) -> str | None:
    """The line an error points at (live thread); None when unknown or unreadable."""
    if not line:
        return None
    try:
        with Path(filename).open(encoding="utf-8", errors="replace") as source:
            for number, text in enumerate(source, start=1):
                if number == line:
                    return text
    except OSError:
        return None
    return None


def load_warnings(conn: sqlite3.Connection, settings: Settings | None) -> list[MailWarning]:
    """Warnings about loaded DAGs (mail without an [smtp] host), made from the stored specs and
    this dashboard's settings; no query at all when an [smtp] host is set (or, before the
    screen is mounted, no settings are known)."""
    if settings is None or settings.smtp.host:
        return []
    return mail_warnings(reads.tasks_asking_for_email(conn), settings.smtp, settings.home)
