"""Modal dialogs: confirm a clear of task instances (with downstream / upstream / failed-only
toggles) or of a whole run (failed-only), choose a mark, give a trigger's conf, confirm
quitting while attempts run, and a plain yes/no."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from flowtui.commands.model import Clear
from flowtui.states import instance_name


class ConfirmDialog(ModalScreen[bool]):
    """A question with yes (y / enter) and no (n / esc)."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question, self.detail = question, detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog--title")
            if self.detail:
                yield Static(self.detail, classes="dialog--detail")
            with Horizontal(classes="dialog--buttons"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ClearTarget(Protocol):
    """A task instance a clear starts from, with what the dialog needs to widen it."""

    @property
    def run_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def downstream(self) -> list[str]: ...
    @property
    def upstream(self) -> list[str]: ...
    @property
    def states(self) -> dict[str, str]:
        """Every task of its run -> its state."""
        ...

    @property
    def map_index(self) -> int:
        """Which instance of a mapped task to clear (its relatives whole); -1: all of it."""
        ...


T = TypeVar("T")


class _ClearDialogBase(ModalScreen[T | None]):
    """What the clear dialogs share: toggles that redraw the listing, y (or the Clear button)
    confirms, esc (or Cancel) dismisses with None."""

    def on_mount(self) -> None:
        self._refresh_list()

    @on(Checkbox.Changed)
    def _toggled(self) -> None:
        self._refresh_list()

    def _refresh_list(self) -> None:
        raise NotImplementedError

    def action_confirm(self) -> None:
        raise NotImplementedError

    def action_flip(self, name: str) -> None:
        box = self.query_one(f"#{name}", Checkbox)
        box.value = not box.value

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self.action_confirm()
        else:
            self.dismiss(None)


class ClearDialog(_ClearDialogBase[list[Clear]]):
    """Lists what a clear of one or several task instances (of one or several runs) will reset,
    with toggles; y clears (one command per run), esc cancels."""

    BINDINGS = [
        Binding("y", "confirm", "Clear"),
        Binding("d", "flip('downstream')", "Downstream"),
        Binding("u", "flip('upstream')", "Upstream"),
        Binding("f", "flip('only_failed')", "Failed only"),
        Binding("escape,n", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        dag_id: str,
        targets: Sequence[ClearTarget],
        markers: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self.dag_id, self.targets = dag_id, list(targets)
        self.markers = markers or {}
        """The DAG's ExternalTaskMarkers: task id -> (DAG, task) that clearing it clears."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            if len(self.targets) == 1:
                target = self.targets[0]
                name = instance_name(target.task_id, target.map_index)
                title = f"Clear {name} in {target.run_id}?"
            else:
                title = f"Clear the {len(self.targets)} selected task instances?"
            yield Label(title, classes="dialog--title")
            yield Checkbox("downstream (d)", id="downstream", value=True)
            yield Checkbox("upstream (u)", id="upstream")
            yield Checkbox("failed only (f)", id="only_failed")
            yield Static(id="clear-list", classes="dialog--detail")
            with Horizontal(classes="dialog--buttons"):
                yield Button("Clear (y)", id="yes", variant="error")
                yield Button("Cancel (esc)", id="no")

    def selected(self) -> dict[tuple[str, int], list[str]]:
        """(run id, map index) -> the task ids the clear resets there with the toggles as they
        are (one clear each: a clear narrows to one map index)."""
        wide = {n: self.query_one(f"#{n}", Checkbox).value for n in ("upstream", "downstream")}
        only_failed = self.query_one("#only_failed", Checkbox).value
        chosen: dict[tuple[str, int], list[str]] = {}
        for target in self.targets:
            tasks = [target.task_id]
            tasks += target.upstream if wide["upstream"] else []
            tasks += target.downstream if wide["downstream"] else []
            if only_failed:
                tasks = [t for t in tasks if target.states.get(t) in ("failed", "upstream_failed")]
            chosen.setdefault((target.run_id, target.map_index), []).extend(tasks)
        return {key: list(dict.fromkeys(tasks)) for key, tasks in chosen.items() if tasks}

    def _refresh_list(self) -> None:
        chosen = self.selected()
        states = {(t.run_id, t.map_index): t.states for t in self.targets}
        starts = {(t.run_id, t.map_index, t.task_id) for t in self.targets}
        runs = len({t.run_id for t in self.targets})
        lines = [
            f"  {run + '  ' if runs > 1 else ''}"
            f"{instance_name(t, index if (run, index, t) in starts else -1)}"
            f"  ({states[run, index].get(t, 'none')})"
            for (run, index), tasks in chosen.items()
            for t in tasks
        ]
        reached = dict.fromkeys(
            self.markers[t] for tasks in chosen.values() for t in tasks if t in self.markers
        )
        lines += [
            f"  and, through an ExternalTaskMarker, {task} of {dag} with its downstream, in "
            f"{dag}'s run of the same logical date"
            for dag, task in reached
        ]
        self.query_one("#clear-list", Static).update(
            f"{len(lines) - len(reached)} task instance(s) will be reset and run again:\n"
            + "\n".join(lines or ["  (nothing)"])
        )

    def action_confirm(self) -> None:
        chosen = self.selected()
        if not chosen:
            self.notify("nothing to clear with these toggles", severity="warning")
            return
        self.dismiss(
            [
                Clear(
                    self.dag_id,
                    run_id,
                    "^(" + "|".join(map(re.escape, tasks)) + ")$",
                    map_index=map_index if map_index >= 0 else None,
                )
                for (run_id, map_index), tasks in chosen.items()
            ]
        )


class ClearRunDialog(_ClearDialogBase[Clear]):
    """Clear a whole run: every task instance, or only the failed ones; y clears."""

    BINDINGS = [
        Binding("y", "confirm", "Clear"),
        Binding("f", "flip('only_failed')", "Failed only"),
        Binding("escape,n", "cancel", "Cancel"),
    ]

    def __init__(self, dag_id: str, run_id: str, states: dict[str, str]) -> None:
        super().__init__()
        self.dag_id, self.run_id, self.states = dag_id, run_id, states
        """`states`: every task of the run -> its state."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Clear the whole run {self.run_id}?", classes="dialog--title")
            yield Checkbox("failed only (f)", id="only_failed")
            yield Static(id="clear-list", classes="dialog--detail")
            with Horizontal(classes="dialog--buttons"):
                yield Button("Clear (y)", id="yes", variant="error")
                yield Button("Cancel (esc)", id="no")

    @property
    def only_failed(self) -> bool:
        return self.query_one("#only_failed", Checkbox).value

    def selected(self) -> list[str]:
        failed = ("failed", "upstream_failed")
        return [t for t, s in self.states.items() if not self.only_failed or s in failed]

    def _refresh_list(self) -> None:
        by_state = Counter(self.states[t] for t in self.selected())
        counts = ", ".join(f"{n} {state}" for state, n in sorted(by_state.items()))
        self.query_one("#clear-list", Static).update(
            f"{sum(by_state.values())} task instance(s) will be reset and run again"
            + (f": {counts}" if counts else "")
        )

    def action_confirm(self) -> None:
        if not self.selected():
            self.notify("nothing to clear in this run", severity="warning")
            return
        self.dismiss(Clear(self.dag_id, self.run_id, only_failed=self.only_failed))


class MarkDialog(ModalScreen[str | None]):
    """Mark a task instance, a run, or the selected task instances: s success, f failed, k
    skipped (task instances only, as Airflow's "Mark as skipped"), esc cancel."""

    BINDINGS = [
        Binding("s", "choose('success')", "Success"),
        Binding("f", "choose('failed')", "Failed"),
        Binding("k", "choose('skipped')", "Skipped"),
        Binding("escape,n", "choose(None)", "Cancel"),
    ]

    def __init__(self, subject: str, *, skipped: bool = False) -> None:
        super().__init__()
        self.subject = subject
        """What is marked, as the title names it ("load in RUN_ID", "run RUN_ID")."""
        self.skipped = skipped
        """Whether skipped is offered (a run cannot be skipped)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Mark {self.subject} as...", classes="dialog--title")
            with Horizontal(classes="dialog--buttons"):
                yield Button("success (s)", id="success", variant="success")
                yield Button("failed (f)", id="failed", variant="error")
                if self.skipped:
                    yield Button("skipped (k)", id="skipped")
                yield Button("cancel (esc)", id="cancel")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.skipped or parameters != ("skipped",)

    def action_choose(self, state: str | None) -> None:
        self.dismiss(state)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)


class TriggerDialog(ModalScreen[dict[str, Any] | None]):
    """Trigger a run, with an optional conf given as a JSON object (validated here)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, dag_id: str, params: dict[str, Any]) -> None:
        super().__init__()
        self.dag_id, self.params = dag_id, params

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Trigger a run of {self.dag_id}", classes="dialog--title")
            hint = json.dumps(self.params) if self.params else "{}"
            yield Static(
                f"conf (JSON object, optional; params: {hint}); enter to trigger",
                classes="dialog--detail",
            )
            yield Input(placeholder="{}", id="conf")
            yield Static("", id="conf-error", classes="dialog--error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip() or "{}"
        try:
            conf = json.loads(text)
        except json.JSONDecodeError as exc:
            self.query_one("#conf-error", Static).update(f"not valid JSON: {exc.msg}")
            return
        if not isinstance(conf, dict):
            self.query_one("#conf-error", Static).update(
                'conf must be a JSON object, e.g. {"n": 1}'
            )
            return
        self.dismiss(conf)

    def action_cancel(self) -> None:
        self.dismiss(None)
