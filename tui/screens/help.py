"""`?`: every key binding of the screen below and of the app, with what it does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from flowtui.tui.widgets.state_badge import legend


class HelpScreen(ModalScreen[None]):
    """Lists bindings as (keys, action); esc or ? closes."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table(title="Keys", expand=True, show_edge=False)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        for keys, description in self.bindings:
            table.add_row(keys, description)
        with VerticalScroll(classes="dialog help"):
            yield Static(table)
            yield Static(Text("\nStates: ", style="bold") + legend())

    def action_close(self) -> None:
        self.dismiss(None)
