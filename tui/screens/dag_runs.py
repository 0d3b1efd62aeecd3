"""Placeholder replaced by the DAG screen."""

from __future__ import annotations

import sqlite3
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from flowtui.tui.screens.base import LiveScreen
from flowtui.tui.widgets.header_bar import HeaderBar


class DagScreen(LiveScreen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, dag_id: str) -> None:
        super().__init__()
        self.dag_id = dag_id

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(self.dag_id)
        yield Footer()

    def load(self, conn: sqlite3.Connection) -> Any:
        return None

    def show(self, data: Any) -> None:
        pass
