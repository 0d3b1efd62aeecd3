"""A pane for task attempt logs that may be huge or still growing. `LogView` holds a window of
the file's bytes around the viewport (never the whole file), follows a running attempt like
`tail -f` and searches the whole file in chunks; `LogPane` adds a status line, the search box
and the choice of attempt. Every file read runs in a thread worker; the UI thread only renders
lines it was given."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static

from flowtui.tui.widgets.log_file import AttemptLog
from flowtui.tui.widgets.log_view import LogView


class LogPane(Vertical):
    """The log of one attempt of a task instance (the latest unless the user picks another),
    with a status line and a search box."""

    BINDINGS = [
        Binding("slash", "open_search", "Search"),
        Binding("n", "next_match", "Next match"),
        Binding("N", "previous_match", "Prev match"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("left_square_bracket,less_than_sign", "previous_attempt", "Prev try"),
        Binding("right_square_bracket,greater_than_sign", "next_attempt", "Next try"),
        Binding("escape", "close_search", "Close search", show=False),
    ]

    DEFAULT_CSS = """
    LogPane > .log-pane--status { height: 1; width: 1fr; }
    LogPane > .log-pane--search { display: none; }
    LogPane > LogView { height: 1fr; }
    """

    try_number: reactive[int | None] = reactive(None, init=False)
    """The attempt on display."""

    class AttemptChosen(Message):
        """Another attempt's log is on display."""

        def __init__(self, pane: LogPane, try_number: int) -> None:
            super().__init__()
            self.pane, self.try_number = pane, try_number

        @property
        def control(self) -> LogPane:
            return self.pane

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.attempts: list[AttemptLog] = []
        self._is_pinned = False
        self._status = Text()
        """The user chose an attempt, so a new attempt does not take over the pane."""

    def compose(self) -> ComposeResult:
        yield Static("no attempt yet", classes="log-pane--status")
        yield LogView()
        yield Input(placeholder="search: enter finds, esc closes", classes="log-pane--search")

    def watch_try_number(self, try_number: int | None) -> None:
        attempt = self._attempt(try_number)
        if attempt is not None:
            self.log_view.open(attempt.path, is_live=attempt.is_running)
            self.post_message(self.AttemptChosen(self, attempt.try_number))
        self._show_status()

    @on(LogView.Changed)
    def _view_changed(self) -> None:
        self._show_status()

    @on(Input.Submitted)
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search_box.display = False
        self.log_view.focus()
        self.log_view.search(event.value, again=True)  # the same text again: the next match
        self.screen.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that would do nothing now stay out of the footer (n/N before a search)."""
        if action == "close_search":
            return bool(self.search_box.display)
        if action in ("next_match", "previous_match"):
            return bool(self.log_view.search_text)
        if action in ("previous_attempt", "next_attempt"):
            return len(self.attempts) > 1
        return True

    def action_open_search(self) -> None:
        box = self.search_box
        box.display = True
        box.value = self.log_view.search_text
        box.focus()

    def action_close_search(self) -> None:
        if not self.search_box.display:
            raise SkipAction()
        self.search_box.display = False
        self.log_view.focus()

    def action_next_match(self) -> None:
        self._search_again(forward=True)

    def action_previous_match(self) -> None:
        self._search_again(forward=False)

    def action_toggle_follow(self) -> None:
        self.log_view.follow = not self.log_view.follow

    def action_previous_attempt(self) -> None:
        self._step_attempt(-1)

    def action_next_attempt(self) -> None:
        self._step_attempt(+1)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def search_box(self) -> Input:
        return self.query_one(".log-pane--search", Input)

    def set_attempts(self, attempts: list[AttemptLog]) -> None:
        """The attempts there are now, oldest first; shows the latest unless one was chosen."""
        if len(attempts) != len(self.attempts):
            self.screen.refresh_bindings()
        self.attempts = attempts
        if not attempts:
            self._show_status()
            return
        chosen = self._attempt(self.try_number) if self._is_pinned else None
        chosen = chosen or attempts[-1]
        if chosen.try_number != self.try_number:
            self.try_number = chosen.try_number
        else:
            self.log_view.is_live = chosen.is_running
            self._show_status()

    def choose(self, try_number: int) -> None:
        """Show attempt `try_number` and keep showing it when newer attempts start."""
        if self._attempt(try_number) is not None:
            self._is_pinned = True
            self.try_number = try_number

    def _attempt(self, try_number: int | None) -> AttemptLog | None:
        return next((a for a in self.attempts if a.try_number == try_number), None)

    def _step_attempt(self, step: int) -> None:
        tries = [a.try_number for a in self.attempts]
        if self.try_number not in tries:
            return
        index = tries.index(self.try_number) + step
        if 0 <= index < len(tries):
            self.choose(tries[index])
        else:
            self.notify(f"no {'earlier' if step < 0 else 'later'} attempt", timeout=2)

    def _search_again(self, *, forward: bool) -> None:
        view = self.log_view
        if not view.search_text:
            self.notify("press / to search first", timeout=2)
            return
        view.search(view.search_text, forward=forward, again=True)

    def _show_status(self) -> None:
        attempt = self._attempt(self.try_number)
        if attempt is None:
            self._set_status(Text(" no attempt yet", style="dim"))
            return
        view = self.log_view
        start, end = view.window
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" try {attempt.try_number} of {len(self.attempts)} ", style="bold reverse")
        text.append(f"  {attempt.state}  {_size(view.file_size)}")
        if view.file_size and (start, end) != (0, view.file_size):
            text.append(f"  showing {_size(start)} to {_size(end)}", style="dim")
        if not view.lines:
            text.append("  (no output yet)" if attempt.is_running else "  (empty)", style="dim")
        if attempt.is_running:
            following = view.is_following
            text.append("  following" if following else "  follow off", style="dim")
        if view.search_text:
            text.append(f"  /{view.search_text}", style="bold")
            if view.note:
                text.append(f" ({view.note})", style="yellow")
        self._set_status(text)

    def _set_status(self, text: Text) -> None:
        # Only when it changed, and without a relayout (a fixed-size line): `Static.update`
        # lays the screen out again, which redrew the tables' scrollbars on every new log line.
        if text != self._status:
            self._status = text
            status = self.query_one(".log-pane--status", Static)
            status.update(text, layout=False)


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
