"""One task instance: its state, try number and operator, its attempts (start, duration, exit
code, cause), its state history from `events`, and the log of a chosen attempt (`LogPane`,
which reads and follows the file itself); x / t / d open its XComs, rendered fields and doc.
Clear, retry and mark come from `TaskActionsScreen`."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from flowtui.spec import TaskSpec
from flowtui.states import instance_name
from flowtui.store import reads
from flowtui.store.summaries import dag_header, task_history, task_states
from flowtui.tui.format import format_duration, format_elapsed, format_timestamp, format_until
from flowtui.tui.screens.base import KeyTable, SpecCache
from flowtui.tui.screens.task_actions import SelectedTaskInstance, TaskActionsScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.log_file import AttemptLog
from flowtui.tui.widgets.log_pane import LogPane
from flowtui.tui.widgets.log_view import LogView
from flowtui.tui.widgets.state_badge import STYLES, badge

LIVE_ATTEMPT_STATES = ("queued", "running")
LIVE_TI_STATES = ("queued", "running", "restarting", "up_for_retry", "up_for_reschedule")
"""A task instance in one of these states may still write to its latest attempt's log."""

_WAITING = {"up_for_reschedule": "waiting: next poke", "up_for_retry": "next try"}
"""States between two processes of a task instance, and how their next one is announced."""


class TaskInstanceScreen(TaskActionsScreen):
    """A task instance of one run; the log pane's keys work from anywhere on the screen."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "focus_log", "Log"),
        Binding("slash", "log('open_search')", "Search"),
        Binding("n", "log('next_match')", "Next match"),
        Binding("N", "log('previous_match')", "Prev match"),
        Binding("f", "log('toggle_follow')", "Follow"),
        Binding("left_square_bracket", "log('previous_attempt')", "Prev try"),
        Binding("right_square_bracket", "log('next_attempt')", "Next try"),
        Binding("x", "details('xcom')", "XCom", show=False),
        Binding("t", "details('rendered')", "Rendered fields", show=False),
        Binding("d", "details('doc')", "Task doc", show=False),
    ]
    FOOTER_KEYS = (
        "retry_task",
        "clear_task",
        "mark_task",
        "focus_log",
        "log('open_search')",
        "log('toggle_follow')",
        "app.pop_screen",
    )

    def __init__(
        self, dag_id: str, run_id: str, task_id: str, focus_log: bool = False, map_index: int = -1
    ) -> None:
        super().__init__()
        self.dag_id, self.run_id, self.task_id = dag_id, run_id, task_id
        self.focus_log = focus_log
        """Start with the log focused (`l` on the DAG screen) rather than the attempts."""
        self.map_index = map_index
        """Which instance of a mapped task; -1 for an unmapped task."""
        self.ti_name = instance_name(task_id, map_index)
        """`task`, or `task[N]`: how the screen names the instance."""
        self.data: dict[str, Any] | None = None
        """What `load` read last; None until the first read arrives."""
        self._spec = SpecCache()

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(Text(f" {self.ti_name}", style="bold"), id="ti-summary")
        with Horizontal(id="ti-tables"):
            yield KeyTable(id="ti-attempts", cursor_type="row")
            yield KeyTable(id="ti-history", cursor_type="row")
        yield LogPane(id="ti-log")
        yield KeyFooter()

    def on_mount(self) -> None:
        # No end column: start and duration say it, and at 80 columns the cause must fit.
        self.attempts_table.add_columns("try", "state", "start", "took", "exit", "cause")
        self.history_table.add_columns("time", "change", "actor", "detail")
        self.attempts_table.border_title = "attempts"
        self.history_table.border_title = "state history"
        if self.focus_log:
            self.log_pane.log_view.focus()
        else:
            self.attempts_table.focus()

    @on(DataTable.RowSelected, "#ti-attempts")
    def _attempt_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.log_pane.choose(int(event.row_key.value))
            self.log_pane.log_view.focus()

    @on(LogPane.AttemptChosen)
    def _attempt_chosen(self, event: LogPane.AttemptChosen) -> None:
        table = self.attempts_table
        if str(event.try_number) in {str(key.value) for key in table.rows}:
            table.move_cursor(row=table.get_row_index(str(event.try_number)), animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        panes = self.query(LogPane)
        if action == "log" and parameters and panes:
            return panes.first().check_action(str(parameters[0]), ())
        return True

    def action_details(self, tab: str) -> None:
        """XCom, rendered fields (of the try the log shows) or doc, each a tab of one screen."""
        # Imported on first use: Markdown (markdown-it) would add ~70 ms to the first frame.
        from flowtui.tui.screens.task_details import TaskDetailsScreen

        screen = TaskDetailsScreen(
            self.dag_id, self.run_id, self.task_id, tab, self.log_pane.try_number, self.map_index
        )
        self.app.push_screen(screen)

    def action_focus_log(self) -> None:
        self.log_pane.log_view.focus()

    def action_log(self, action: str) -> None:
        """Run one of the log pane's actions while the focus is elsewhere on the screen."""
        getattr(self.log_pane, f"action_{action}")()

    @property
    def attempts_table(self) -> KeyTable:
        return self.query_one("#ti-attempts", KeyTable)

    @property
    def history_table(self) -> KeyTable:
        return self.query_one("#ti-history", KeyTable)

    @property
    def log_pane(self) -> LogPane:
        return self.query_one(LogPane)

    @property
    def log_view(self) -> LogView:
        return self.log_pane.log_view

    # --- data ---

    def load(self, conn: sqlite3.Connection) -> Any:
        key = (self.dag_id, self.run_id, self.task_id, self.map_index)
        dag = dag_header(conn, self.dag_id)
        spec = self._spec.parse(dag["spec"]) if dag else None
        ti = reads.task_instance(conn, *key)
        states = task_states(conn, self.dag_id, self.run_id)
        if ti is not None:
            states[self.task_id] = ti["state"]  # this instance's, not its mapped task's
        return {
            "ti": ti,
            "attempts": reads.attempts(conn, *key),
            "history": task_history(conn, *key),
            "states": states,
            "mapped": 0 if ti else len(reads.mapped_instances(conn, *key[:3])),
            "spec": spec,
            "downstream": spec.relatives([self.task_id], "downstream") if spec else [],
            "upstream": spec.relatives([self.task_id], "upstream") if spec else [],
        }

    def show(self, data: Any) -> None:
        previous, self.data = self.data, data
        self.query_one("#ti-summary", Static).update(self._summary(data["ti"], data["mapped"]))
        # Refilled only when changed: a refill redraws the table (and its scrollbars), several
        # KB a second over SSH while a log is followed (issue 13, point 3).
        if previous is None or data["attempts"] != previous["attempts"]:
            self._fill_attempts(data["attempts"])
        if previous is None or data["history"] != previous["history"]:
            self._fill_history(data["history"])
        self.log_pane.set_attempts(self._attempt_logs(data["ti"], data["attempts"]))

    def clear_markers(self) -> dict[str, tuple[str, str]]:
        spec = self.data["spec"] if self.data is not None else None
        return spec.markers() if spec is not None else {}

    def selected_task_instance(self) -> SelectedTaskInstance | None:
        if self.data is None or self.data["ti"] is None:
            return None
        return SelectedTaskInstance(
            self.dag_id,
            self.run_id,
            self.task_id,
            self.data["ti"]["state"],
            downstream=self.data["downstream"],
            upstream=self.data["upstream"],
            states=self.data["states"],
            map_index=self.map_index,
        )

    def _summary(self, ti: dict[str, Any] | None, mapped: int) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.dag_id} / {self.run_id} / ", style="dim")
        task = self._task_spec()
        shown = task.display_name if task and task.display_name else self.task_id
        text.append(instance_name(shown, self.map_index), style="bold")
        if task and task.display_name:
            text.append(f" ({self.ti_name})", style="dim")
        if ti is None and mapped:  # expanded since this screen opened on the task
            text.append(f"   mapped: {mapped} instances; the DAG screen lists them", style="dim")
            return text
        if ti is None:
            text.append("   not in this run (yet)", style="dim")
            return text
        text.append("   ")
        text.append_text(badge(ti["state"]))
        text.append(f"   try {ti['try_number']} of {ti['max_tries'] + 1}")
        text.append(f"   {ti['operator'] or ''}", style="cyan")
        if ti["state"] == "running" and self._sensing():
            text.append("   ⏲ sensing (poke mode: holds its slot)")
        elif ti["state"] in _WAITING and ti["next_try_at"]:
            text.append(f"   {_WAITING[ti['state']]} {format_until(ti['next_try_at'])}")
        elif ti["duration"] is not None:
            text.append(f"   {format_duration(ti['duration'])}")
        if ti["hostname"]:
            text.append(f"   on {ti['hostname']}", style="dim")
        return text

    def _sensing(self) -> bool:
        """Whether the task is a sensor in poke mode (as the DAG's spec says)."""
        task = self._task_spec()
        return task is not None and task.sensor_mode == "poke"

    def _task_spec(self) -> TaskSpec | None:
        """The task as the DAG's spec describes it; None before it is read, or when gone."""
        spec = self.data.get("spec") if self.data else None
        return spec.tasks.get(self.task_id) if spec is not None else None

    def _fill_attempts(self, attempts: list[dict[str, Any]]) -> None:
        table, shown = self.attempts_table, self.log_pane.try_number
        if table.has_focus and table.row_count:  # keep the row the user is on
            shown = int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or 0)
        table.clear()
        for attempt in attempts:
            table.add_row(
                str(attempt["try_number"]),
                badge(attempt["state"]),
                format_timestamp(attempt["start_date"], year=False),
                format_elapsed(attempt["start_date"], attempt["end_date"]),
                "" if attempt["exit_code"] is None else str(attempt["exit_code"]),
                Text(attempt["cause"] or "", style=STYLES["failed"] if attempt["cause"] else ""),
                key=str(attempt["try_number"]),
            )
        if shown is not None and str(shown) in {str(key.value) for key in table.rows}:
            table.move_cursor(row=table.get_row_index(str(shown)), animate=False)

    def _fill_history(self, events: list[dict[str, Any]]) -> None:
        table = self.history_table
        table.clear()
        for event in events:
            change = Text()
            if event["new_state"] is not None:
                change.append_text(badge(event["old_state"]) if event["old_state"] else Text(""))
                change.append(" → ")
                change.append_text(badge(event["new_state"]))
            else:
                change.append(event["kind"], style="italic")
            table.add_row(
                format_timestamp(event["ts"], year=False),
                change,
                event["actor"],
                event["detail"] or "",
                key=str(event["id"]),
            )
        if table.row_count and not table.has_focus:
            table.move_cursor(row=table.row_count - 1, animate=False)

    def _attempt_logs(
        self, ti: dict[str, Any] | None, attempts: list[dict[str, Any]]
    ) -> list[AttemptLog]:
        settings = self.settings
        latest = ti["try_number"] if ti else None
        found = []
        for attempt in attempts:
            try_number = attempt["try_number"]
            path = attempt["log_path"] or settings.attempt_log_path(
                self.dag_id, self.run_id, self.task_id, try_number, self.map_index
            )
            is_running = attempt["state"] in LIVE_ATTEMPT_STATES or (
                try_number == latest and ti is not None and ti["state"] in LIVE_TI_STATES
            )
            found.append(AttemptLog(try_number, Path(path), attempt["state"] or "", is_running))
        return found
