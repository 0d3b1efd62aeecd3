"""Modal dialogs: confirm a clear (with downstream / upstream / failed-only toggles), choose
a mark, give a trigger's conf, confirm quitting while attempts run, and a plain yes/no."""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from flowtui.commands.model import Clear


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


class ClearDialog(ModalScreen[Clear | None]):
    """Lists what a clear will reset, with toggles; y clears, esc cancels."""

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
        run_id: str,
        task_id: str,
        relatives: dict[str, list[str]],
        states: dict[str, str],
    ) -> None:
        super().__init__()
        self.dag_id, self.run_id, self.task_id = dag_id, run_id, task_id
        self.relatives = relatives
        """"downstream" / "upstream" -> task ids, transitively."""
        self.states = states
        """task id -> its state in this run."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Clear {self.task_id} in {self.run_id}?", classes="dialog--title")
            yield Checkbox("downstream (d)", id="downstream", value=True)
            yield Checkbox("upstream (u)", id="upstream")
            yield Checkbox("failed only (f)", id="only_failed")
            yield Static(id="clear-list", classes="dialog--detail")
            with Horizontal(classes="dialog--buttons"):
                yield Button("Clear (y)", id="yes", variant="error")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self._refresh_list()

    def selected(self) -> list[str]:
        """Task ids the clear resets with the toggles as they are."""
        chosen = [self.task_id]
        for name in ("upstream", "downstream"):
            if self.query_one(f"#{name}", Checkbox).value:
                chosen += self.relatives.get(name, [])
        if self.query_one("#only_failed", Checkbox).value:
            chosen = [t for t in chosen if self.states.get(t) in ("failed", "upstream_failed")]
        return list(dict.fromkeys(chosen))

    @on(Checkbox.Changed)
    def _toggled(self) -> None:
        self._refresh_list()

    def _refresh_list(self) -> None:
        tasks = self.selected()
        lines = [f"  {t}  ({self.states.get(t, 'none')})" for t in tasks] or ["  (nothing)"]
        self.query_one("#clear-list", Static).update(
            f"{len(tasks)} task instance(s) will be reset and run again:\n" + "\n".join(lines)
        )

    def action_flip(self, name: str) -> None:
        box = self.query_one(f"#{name}", Checkbox)
        box.value = not box.value

    def action_confirm(self) -> None:
        tasks = self.selected()
        if not tasks:
            self.notify("nothing to clear with these toggles", severity="warning")
            return
        self.dismiss(
            Clear(self.dag_id, self.run_id, "^(" + "|".join(_escape(t) for t in tasks) + ")$")
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self.action_confirm()
        else:
            self.dismiss(None)


def _escape(task_id: str) -> str:
    import re

    return re.escape(task_id)


class MarkDialog(ModalScreen[str | None]):
    """Mark a task instance: s success, f failed, esc cancel."""

    BINDINGS = [
        Binding("s", "choose('success')", "Success"),
        Binding("f", "choose('failed')", "Failed"),
        Binding("escape,n", "choose(None)", "Cancel"),
    ]

    def __init__(self, task_id: str, run_id: str) -> None:
        super().__init__()
        self.task_id, self.run_id = task_id, run_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Mark {self.task_id} in {self.run_id} as...", classes="dialog--title")
            with Horizontal(classes="dialog--buttons"):
                yield Button("success (s)", id="success", variant="success")
                yield Button("failed (f)", id="failed", variant="error")
                yield Button("cancel (esc)", id="cancel")

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
