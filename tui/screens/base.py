"""What every full screen of the dashboard shares: the header bar, the footer, and the live
data contract — `load(conn)` runs on the live thread, `show(data)` on the UI thread."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable

from flowtui.tui.widgets.header_bar import HeaderBar

if TYPE_CHECKING:
    from flowtui.tui.app import Dashboard


class LiveScreen(Screen[None]):
    """A screen fed by the live thread; subclasses implement `load` and `show`."""

    def load(self, conn: sqlite3.Connection) -> Any:
        """Read what this screen shows (live thread: no widget access here)."""
        raise NotImplementedError

    def show(self, data: Any) -> None:
        """Put freshly read data on screen (UI thread: no I/O here)."""
        raise NotImplementedError

    @property
    def dashboard(self) -> Dashboard:
        from flowtui.tui.app import Dashboard

        assert isinstance(self.app, Dashboard)
        return self.app

    @property
    def header_bar(self) -> HeaderBar:
        return self.query_one(HeaderBar)

    def on_screen_resume(self) -> None:
        self.dashboard.watch_screen(self)


class KeyTable(DataTable[Any]):
    """A DataTable whose enter opens the row, and that also moves with j/k (`l` is the log
    key elsewhere)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
