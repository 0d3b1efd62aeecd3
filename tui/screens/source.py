"""A DAG file's source, read-only, with syntax highlighting (Rich's `Syntax`, Pygments) and
line numbers, scrolled to a line and that line marked: where an import error points."""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from flowtui.tui.widgets.key_footer import KeyFooter

CONTEXT = 5
"""Lines shown above the marked one."""


class SourceScreen(Screen[None]):
    """One file at one line; esc goes back. The file is read once, as it opens."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("j", "scroll('scroll_down')", "Down", show=False),
        Binding("k", "scroll('scroll_up')", "Up", show=False),
    ]

    def __init__(self, path: str, line: int | None = None) -> None:
        super().__init__()
        self.path, self.line = path, line

    def compose(self) -> ComposeResult:
        at = f":{self.line}" if self.line else ""
        yield Static(Text(f" {self.path}{at} ", style="bold reverse"), id="source-title")
        with VerticalScroll(id="source-view"):
            yield Static(self._source(), id="source")
        yield KeyFooter()

    def on_mount(self) -> None:
        view = self.query_one("#source-view", VerticalScroll)
        view.focus()
        if self.line:
            target = max(0, self.line - 1 - CONTEXT)
            self.call_after_refresh(view.scroll_to, y=target, animate=False)

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one("#source-view", VerticalScroll), f"action_{how}")()

    def _source(self) -> Syntax | Text:
        try:
            code = Path(self.path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return Text(f"{self.path} cannot be read: {exc.strerror or exc}", style="bold")
        return Syntax(
            code,
            "python",
            line_numbers=True,
            highlight_lines={self.line} if self.line else None,
            word_wrap=False,
            theme="ansi_dark",
        )
