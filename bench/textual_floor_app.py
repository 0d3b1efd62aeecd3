"""The dashboard bench's floor: the least a Textual app of the dashboard's shape does before its
first frame (a line of text, a table with one row, a footer), run in the same pseudo-terminal
as `flowtui`; the bench gives the first frame as a multiple of this one's."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

ROW = "floor_row"
"""What the bench waits for on the screen, with the footer's `Quit`."""


class Floor(App[None]):
    BINDINGS: ClassVar[list[Binding]] = [Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("the floor of a first frame")
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "state")
        table.add_row(ROW, "ok")


if __name__ == "__main__":
    Floor().run()
