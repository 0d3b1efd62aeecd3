"""The instances of one mapped task in one run, as Airflow's "Mapped tasks" tab: each one's map
index, state, try, start and duration. `enter` opens an instance's own screen (its attempts and
log), and the task keys (`c`, `r`, `m`) act on the instance under the cursor alone."""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from flowtui.store import reads
from flowtui.store.summaries import dag_header, task_states
from flowtui.tui.format import format_duration, format_timestamp
from flowtui.tui.screens.base import KeyTable, SpecCache
from flowtui.tui.screens.task_actions import SelectedTaskInstance, TaskActionsScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.state_badge import badge, tally

ATTENTION = ("failed", "up_for_retry", "upstream_failed")
"""States the cursor starts on (the first such instance), so that a fix is one key away."""

COLUMNS = (("index", 7), ("state", 19), ("try", 8), ("start", 16), ("took", 8))
"""Fixed widths: a table refilled on every refresh keeps the widths of its first rows."""


class MappedData(NamedTuple):
    """One read of the mapped task (live thread)."""

    instances: list[dict[str, Any]]
    """By map index; [] before the task expands."""
    states: dict[str, str]
    """Every task of the run -> its state (a mapped task's sums up its instances)."""
    downstream: list[str]
    upstream: list[str]


class MappedInstancesScreen(TaskActionsScreen):
    """A mapped task's instances in one run; enter opens the one under the cursor."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "open_instance(True)", "Log"),
    ]

    def __init__(self, dag_id: str, run_id: str, task_id: str) -> None:
        super().__init__()
        self.dag_id, self.run_id, self.task_id = dag_id, run_id, task_id
        self.data: MappedData | None = None
        """What `load` read last; None until the first read arrives."""
        self._spec = SpecCache()

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(id="mapped-title")
        yield KeyTable(id="mapped-instances", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.instances_table
        for name, width in COLUMNS:
            table.add_column(name, width=width, key=name)
        table.focus()

    @property
    def instances_table(self) -> KeyTable:
        return self.query_one("#mapped-instances", KeyTable)

    # --- data ---

    def load(self, conn: sqlite3.Connection) -> MappedData:
        header = dag_header(conn, self.dag_id)
        spec = self._spec.parse(header["spec"]) if header else None
        return MappedData(
            reads.mapped_instances(conn, self.dag_id, self.run_id, self.task_id),
            task_states(conn, self.dag_id, self.run_id),
            spec.relatives([self.task_id], "downstream") if spec else [],
            spec.relatives([self.task_id], "upstream") if spec else [],
        )

    def show(self, data: MappedData) -> None:
        is_first = self.data is None
        self.data = data
        self.query_one("#mapped-title", Static).update(self._title(data.instances))
        table = self.instances_table
        kept = table.cursor_row
        table.clear()
        for ti in data.instances:
            table.add_row(
                f"[{ti['map_index']}]",
                badge(ti["state"]),
                f"{ti['try_number']} of {ti['max_tries'] + 1}",
                format_timestamp(ti["start_date"], year=False),
                format_duration(ti["duration"]),
                key=str(ti["map_index"]),
            )
        if is_first:
            states = [ti["state"] for ti in data.instances]
            kept = next((i for i, s in enumerate(states) if s in ATTENTION), 0)
        if table.row_count:
            table.move_cursor(row=min(kept, table.row_count - 1), animate=False)

    def _title(self, instances: list[dict[str, Any]]) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.dag_id} / {self.run_id} / ", style="dim")
        text.append(self.task_id, style="bold")
        if not instances:
            text.append("   not expanded (yet): its instances come when it may run", style="dim")
            return text
        text.append(f"   {len(instances)} mapped instances   ")
        text.append_text(tally(ti["state"] for ti in instances))
        return text

    # --- keys ---

    def selected_task_instance(self) -> SelectedTaskInstance | None:
        data, table = self.data, self.instances_table
        if data is None or not data.instances or table.row_count == 0:
            return None
        ti = data.instances[min(table.cursor_row, len(data.instances) - 1)]
        return SelectedTaskInstance(
            self.dag_id,
            self.run_id,
            self.task_id,
            ti["state"],
            downstream=data.downstream,
            upstream=data.upstream,
            states={**data.states, self.task_id: ti["state"]},  # this instance's own state
            map_index=ti["map_index"],
        )

    @on(DataTable.RowSelected, "#mapped-instances")
    def _row_selected(self) -> None:
        self.action_open_instance()

    def action_open_instance(self, focus_log: bool = False) -> None:
        ti = self.selected_task_instance()
        if ti is not None:
            screen = TaskInstanceScreen(
                ti.dag_id, ti.run_id, ti.task_id, focus_log=focus_log, map_index=ti.map_index
            )
            self.app.push_screen(screen)
