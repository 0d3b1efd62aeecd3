"""Pools: each pool with the slots its running attempts hold, the task instances waiting for it
and its size (`default_pool` first, with `parallelism` slots until set). Read-only: pools are
changed with `flowtui pools set|delete`, which the line under the table says."""

from __future__ import annotations

import sqlite3
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from flowtui.config import Settings
from flowtui.store.reads import PoolRow, pools
from flowtui.tui.format import one_line
from flowtui.tui.screens.base import KeyTable, LiveScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter

COLUMNS = ("pool", "used", "queued", "slots", "description")
_NAME_WIDTH = 24
_DESCRIPTION_WIDTH = 36
"""Characters shown of a name and a description: the row fits 80 columns."""


class PoolsScreen(LiveScreen):
    """One row per pool: used / queued / slots."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    home_settings: Settings | None = None
    """The App's settings, kept on mount for `load` (the live thread cannot reach the App)."""

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(Text(" Pools ", style="bold reverse"), id="pools-title")
        yield KeyTable(id="pools", cursor_type="row", zebra_stripes=True)
        yield Static(
            "used: slots of running attempts · queued: tasks waiting for a slot · "
            "change with: flowtui pools set NAME SLOTS",
            id="pools-hint",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.home_settings = self.settings
        table = self.pool_table
        for column in COLUMNS:
            table.add_column(column, key=column)
        table.focus()

    @property
    def pool_table(self) -> KeyTable:
        return self.query_one("#pools", KeyTable)

    def load(self, conn: sqlite3.Connection) -> Any:
        settings = self.home_settings
        return pools(conn, settings.parallelism) if settings is not None else []

    def show(self, data: Any) -> None:
        table = self.pool_table
        row_index = table.cursor_row
        table.clear()
        for row in data:
            table.add_row(*_cells(row), key=row.name)
        if data:
            table.move_cursor(row=min(row_index, len(data) - 1), animate=False)


def _cells(row: PoolRow) -> list[Any]:
    full = row.used >= row.slots
    return [
        Text(one_line(row.name, _NAME_WIDTH), style="bold"),
        Text(str(row.used), style="bold red" if full and row.used else ""),
        Text(str(row.queued), style="yellow" if row.queued else "dim"),
        str(row.slots),
        Text(one_line(row.description, _DESCRIPTION_WIDTH), style="dim"),
    ]
