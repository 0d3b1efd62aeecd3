"""The question `q` asks while task attempts run: keep the scheduler running in the background
(the default, like tmux's detach), stop it and its tasks, or stay in the dashboard."""

from __future__ import annotations

from enum import StrEnum

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class QuitChoice(StrEnum):
    KEEP = "keep"
    """Close the dashboard; the scheduler and its attempts go on."""
    STOP = "stop"
    """Stop the scheduler, which stops its attempts, then close the dashboard."""


class QuitDialog(ModalScreen[QuitChoice | None]):
    """Keep running (enter, k), stop the scheduler and its tasks (s), or cancel (esc, n)."""

    AUTO_FOCUS = "#keep"
    BINDINGS = [
        Binding("enter,k", "choose('keep')", "Keep running"),
        Binding("s", "choose('stop')", "Stop all"),
        Binding("escape,n,c", "choose('')", "Cancel"),
    ]

    def __init__(self, running_attempts: int, pid: int) -> None:
        super().__init__()
        self.running_attempts, self.pid = running_attempts, pid

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"{self.running_attempts} task attempt(s) are running. Quit?",
                classes="dialog--title",
            )
            yield Static(
                f"Keep running: the dashboard closes; the scheduler (pid {self.pid}) and its "
                f"tasks go on in the background. The next `flowtui` attaches to it; "
                f"`flowtui scheduler stop` stops it.\n\n"
                f"Stop all: the scheduler stops its tasks (each becomes failed, or up_for_retry "
                f"if it has retries left, with the cause 'the scheduler stopped') and exits.",
                classes="dialog--detail",
            )
            with Horizontal(classes="dialog--buttons"):
                yield Button("Keep running (enter)", id="keep", variant="primary")
                yield Button("Stop all (s)", id="stop", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(QuitChoice(choice) if choice else None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose("" if event.button.id == "cancel" else str(event.button.id))
