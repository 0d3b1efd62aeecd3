"""The keys that act on one task instance (clear, retry, mark), shared by the DAG screen and
the task-instance screen. A screen provides `selected_task_instance()`; the rest is here, up
to the command, which goes to the App as `CommandRequested`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from textual.binding import Binding

from flowtui.commands.model import Clear, Mark
from flowtui.tui.messages import CommandRequested
from flowtui.tui.screens.base import LiveScreen
from flowtui.tui.screens.confirm import ClearDialog, ConfirmDialog, MarkDialog

RETRYABLE = ("failed", "upstream_failed", "up_for_retry", "skipped")


@dataclass(frozen=True)
class SelectedTaskInstance:
    """A task instance the user points at, with what the dialogs need to describe it."""

    dag_id: str
    run_id: str
    task_id: str
    state: str
    downstream: list[str] = field(default_factory=list)
    """Task ids below it in the DAG, transitively."""
    upstream: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    """Every task of the run -> its state."""


class TaskActionsScreen(LiveScreen):
    """A live screen with a selected task instance and the c / r / m keys."""

    BINDINGS = [
        Binding("c", "clear_task", "Clear"),
        Binding("r", "retry_task", "Retry"),
        Binding("m", "mark_task", "Mark"),
    ]

    def selected_task_instance(self) -> SelectedTaskInstance | None:
        raise NotImplementedError

    def action_clear_task(self) -> None:
        ti = self.selected_task_instance()
        if ti is None:
            return
        dialog = ClearDialog(
            ti.dag_id,
            ti.run_id,
            ti.task_id,
            {"downstream": ti.downstream, "upstream": ti.upstream},
            ti.states,
        )

        def done(command: Clear | None) -> None:
            if command is not None:
                summary = f"cleared {ti.task_id} in {ti.run_id}"
                self.post_message(CommandRequested(command, summary))

        self.app.push_screen(dialog, done)

    def action_retry_task(self) -> None:
        """Run a failed task again now: clear it and whatever failed below it because of it."""
        ti = self.selected_task_instance()
        if ti is None:
            return
        if ti.state not in RETRYABLE:
            self.notify(
                f"{ti.task_id} is {ti.state}; r retries a failed task (c clears any)",
                severity="warning",
            )
            return
        below = [t for t in ti.downstream if ti.states.get(t) in RETRYABLE]
        pattern = "^(" + "|".join(re.escape(t) for t in [ti.task_id, *below]) + ")$"
        command = Clear(ti.dag_id, ti.run_id, pattern)
        self.post_message(CommandRequested(command, f"retrying {ti.task_id} in {ti.run_id}"))

    def action_mark_task(self) -> None:
        ti = self.selected_task_instance()
        if ti is None:
            return

        def mark(state: str) -> None:
            command = Mark(ti.dag_id, ti.run_id, ti.task_id, state)
            self.post_message(CommandRequested(command, f"marked {ti.task_id} {state}"))

        def chosen(state: str | None) -> None:
            if state == "success":
                mark(state)
            elif state == "failed":  # destructive: confirm first
                self.app.push_screen(
                    ConfirmDialog(
                        f"Mark {ti.task_id} failed?",
                        "A running attempt is stopped; tasks below it may become upstream_failed.",
                    ),
                    lambda yes: mark("failed") if yes else None,
                )

        self.app.push_screen(MarkDialog(ti.task_id, ti.run_id), chosen)
