"""The keys that act on one task instance (clear, retry, mark), or on the task instances the
user selected, shared by the DAG screen and the task-instance screen; and those that act on a
whole run (clear, mark), shared by the screens that show runs. A screen provides
`selected_task_instance()` (and `selected_run()`); the rest is here, up to the command, which
goes to the App as `CommandRequested`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from textual.binding import Binding

from flowtui.commands.model import Clear, Mark, MarkRun
from flowtui.states import FAILED_STATES, instance_name
from flowtui.tui.messages import CommandRequested
from flowtui.tui.screens.base import LiveScreen
from flowtui.tui.screens.confirm import ClearDialog, ClearRunDialog, ConfirmDialog, MarkDialog

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
    """Every task of the run -> its state (a mapped task's sums up its instances, but this
    one's own state when it is one of them)."""
    map_index: int = -1
    """Which instance of a mapped task; -1 for an unmapped task. For a mapped task's grid
    cell (all its instances), -1 too, with `mapped` set."""
    mapped: int = 0
    """How many instances the (expanded) mapped task has when the user points at all of
    them (its grid cell); 0 otherwise."""

    @property
    def name(self) -> str:
        """`task`, or `task[N]` for one instance of a mapped task."""
        return instance_name(self.task_id, self.map_index)


class TaskActionsScreen(LiveScreen):
    """A live screen with a selected task instance and the c / r / m keys."""

    BINDINGS = [
        Binding("c", "clear_task", "Clear"),
        Binding("r", "retry_task", "Retry"),
        Binding("m", "mark_task", "Mark"),
    ]
    FOOTER_KEYS: ClassVar[tuple[str, ...]] = (
        "select_cursor",
        "retry_task",
        "clear_task",
        "mark_task",
        "app.pop_screen",
    )

    def selected_task_instance(self) -> SelectedTaskInstance | None:
        raise NotImplementedError

    def marked_task_instances(self) -> list[SelectedTaskInstance]:
        """Task instances the user selected (`space` in the grid): c and m act on all of them
        rather than on the one under the cursor."""
        return []

    def group_task_instances(self) -> tuple[str, list[SelectedTaskInstance]] | None:
        """The task group under the cursor (a group row of the grid), by name, and its task
        instances in the run: c, m and r act on them. None when the cursor is on no group."""
        return None

    def _targets(self) -> tuple[list[SelectedTaskInstance], str, bool]:
        """What c and m act on, how to name it, and whether it is the user's selection: the
        selected task instances, else the group's under the cursor, else the one under it."""
        marked = self.marked_task_instances()
        if marked:
            return marked, f"{len(marked)} task instances", True
        group = self.group_task_instances()
        if group is not None:
            if not group[1]:
                self.notify(f"group {group[0]} has no task instance in this run", timeout=3)
            return group[1], f"group {group[0]}", False
        ti = self.selected_task_instance()
        return ([ti], ti.name, False) if ti is not None else ([], "", False)

    def action_clear_task(self) -> None:
        tis, what, is_marked = self._targets()
        if not tis:
            return

        def done(commands: list[Clear] | None) -> None:
            for command in commands or []:
                summary = f"cleared {what} in {command.run_id}"
                self.post_message(CommandRequested(command, summary))
            if commands and is_marked:
                self.marks_done()

        self.app.push_screen(ClearDialog(tis[0].dag_id, tis, self.clear_markers()), done)

    def clear_markers(self) -> dict[str, tuple[str, str]]:
        """This DAG's `ExternalTaskMarker`s: task id -> (the DAG, the task) its clear also
        clears, for the clear dialog to say so. None known by default."""
        return {}

    def marks_done(self) -> None:
        """A command went out for the marked task instances: forget the selection."""

    def action_retry_task(self) -> None:
        """Run a failed task again now: clear it and whatever failed below it because of it; on
        a group row, the group's failed tasks."""
        group = self.group_task_instances()
        if group is not None:
            name, tis = f"group {group[0]}", group[1]
        else:
            ti = self.selected_task_instance()
            if ti is None:
                return
            name, tis = ti.name, [ti]
        failed = [t for t in tis if t.state in (FAILED_STATES if t.mapped else RETRYABLE)]
        if not failed:
            state = "has no failed task instance" if group else f"is {tis[0].state}"
            self.notify(
                f"{name} {state}; r retries a failed task (c clears any)", severity="warning"
            )
            return
        below = [t for f in failed for t in f.downstream if f.states.get(t) in RETRYABLE]
        names = dict.fromkeys([*(t.task_id for t in failed), *below])
        pattern = "^(" + "|".join(re.escape(t) for t in names) + ")$"
        first = failed[0]
        if any(t.mapped for t in failed):  # all its instances: rerun the failed ones only
            command = Clear(first.dag_id, first.run_id, pattern, only_failed=True)
            what = name if group else f"the failed instances of {first.task_id}"
        else:
            map_index = first.map_index if first.map_index >= 0 else None
            command = Clear(first.dag_id, first.run_id, pattern, map_index=map_index)
            what = name
        self.post_message(CommandRequested(command, f"retrying {what} in {first.run_id}"))

    def action_mark_task(self) -> None:
        tis, what, is_marked = self._targets()
        if not tis:
            return
        mapped = [ti.task_id for ti in tis if ti.mapped]
        if mapped:
            self.notify(
                f"{mapped[0]} is mapped: enter lists its instances, m there marks one",
                severity="warning",
            )
            return
        subject = f"the {what} selected" if is_marked else f"{what} in {tis[0].run_id}"

        def mark(state: str) -> None:
            for ti in tis:
                command = Mark(ti.dag_id, ti.run_id, ti.task_id, state, ti.map_index)
                self.post_message(CommandRequested(command, f"marked {ti.name} {state}"))
            if is_marked:
                self.marks_done()

        detail = "A running attempt is stopped; tasks below it may become upstream_failed."
        self.ask_mark(subject, detail, mark, skipped=True)

    def ask_mark(
        self, subject: str, detail: str, mark: Callable[[str], None], *, skipped: bool = False
    ) -> None:
        """Ask success or failed (or skipped, when `skipped`) for `subject` (`MarkDialog`),
        confirm failed (`detail` says what it does), then call `mark(state)`."""

        def chosen(state: str | None) -> None:
            if state in ("success", "skipped"):
                mark(state)
            elif state == "failed":  # destructive: confirm first
                self.app.push_screen(
                    ConfirmDialog(f"Mark {subject} failed?", detail),
                    lambda yes: mark("failed") if yes else None,
                )

        self.app.push_screen(MarkDialog(subject, skipped=skipped), chosen)


@dataclass(frozen=True)
class SelectedRun:
    """A run the user points at: its task instances' states for the dialogs."""

    dag_id: str
    run_id: str
    states: dict[str, str] = field(default_factory=dict)
    """Every task of the run -> its state."""


class RunActionsScreen(TaskActionsScreen):
    """A task-actions screen that also shows runs: C clears the run under the cursor, M marks
    it, with the task-level dialogs' confirmations."""

    BINDINGS = [
        Binding("C", "clear_run", "Clear run", show=False),
        Binding("M", "mark_run", "Mark run", show=False),
    ]

    def selected_run(self) -> SelectedRun | None:
        raise NotImplementedError

    def action_clear_run(self) -> None:
        run = self.selected_run()
        if run is None:
            return

        def done(command: Clear | None) -> None:
            if command is not None:
                which = "failed task instances" if command.only_failed else "run"
                summary = f"cleared the {which} of {run.run_id}"
                self.post_message(CommandRequested(command, summary))

        self.app.push_screen(ClearRunDialog(run.dag_id, run.run_id, run.states), done)

    def action_mark_run(self) -> None:
        run = self.selected_run()
        if run is None:
            return

        def mark(state: str) -> None:
            command = MarkRun(run.dag_id, run.run_id, state)
            self.post_message(CommandRequested(command, f"marked run {run.run_id} {state}"))

        detail = "Running attempts are stopped and fail; task instances not started are skipped."
        self.ask_mark(f"run {run.run_id}", detail, mark)
