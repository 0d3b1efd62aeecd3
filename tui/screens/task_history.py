"""One task across its DAG's runs, as Airflow's task duration and tries views show it: per run
(newest first) its state, tries and duration, with a sparkline of the durations on top (oldest
left); `enter` opens that run's task instance."""

from __future__ import annotations

import sqlite3
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from flowtui.store.details import task_runs
from flowtui.tui.format import format_duration, format_timestamp
from flowtui.tui.screens.base import KeyTable, LiveScreen
from flowtui.tui.screens.mapped_instances import MappedInstancesScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from flowtui.tui.widgets.duration_sparklines import sparkline
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.state_badge import badge

SPARK_RUNS = 40
"""Runs the sparkline draws, at most (it fits 80 columns with its summary)."""


COLUMNS = (("logical date", 16), ("state", 14), ("tries", 5), ("took", 6), ("run", 40))


class TaskHistoryScreen(LiveScreen):
    """A task's instances, one row per run, newest first."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, dag_id: str, task_id: str) -> None:
        super().__init__()
        self.dag_id, self.task_id = dag_id, task_id
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(id="history-title")
        yield KeyTable(id="history", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        # Fixed widths: a table refilled on every refresh keeps its first (header) widths.
        for label, width in COLUMNS:
            self.history_table.add_column(label, width=width)
        self.history_table.focus()
        self.show([])

    @property
    def history_table(self) -> KeyTable:
        return self.query_one("#history", KeyTable)

    def load(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        return task_runs(conn, self.dag_id, self.task_id)

    def show(self, data: list[dict[str, Any]]) -> None:
        self.rows = data
        self.query_one("#history-title", Static).update(self._title())
        table = self.history_table
        row = table.cursor_row
        table.clear()
        for run in data:
            table.add_row(
                format_timestamp(run["logical_date"], seconds=False),
                badge(run["state"]) if run["state"] else Text("no instance", style="dim"),
                str(run["try_number"] or "-"),
                format_duration(run["duration"]),
                run["run_id"],
                key=run["run_id"],
            )
        if data:
            table.move_cursor(row=min(row, len(data) - 1), animate=False)

    def _title(self) -> Text:
        text = Text(f" {self.dag_id}.{self.task_id} ", style="bold reverse")
        durations = [r["duration"] for r in reversed(self.rows)][-SPARK_RUNS:]
        known = [d for d in durations if d is not None]
        text.append("  ")
        text.append_text(sparkline(durations, max(known, default=0), len(durations) or 1))
        done = [r for r in self.rows if r["state"] in ("success", "failed")]
        ok = sum(r["state"] == "success" for r in done)
        text.append(f"  {len(self.rows)} runs", style="dim")
        if done:
            text.append(f", {ok}/{len(done)} succeeded", style="dim")
        if known:
            text.append(f", mean {format_duration(sum(known) / len(known))}", style="dim")
        return text

    @on(DataTable.RowSelected, "#history")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        run_id = event.row_key.value
        row = next((r for r in self.rows if r["run_id"] == run_id), None)
        if run_id is None or row is None:
            return
        if row["map_index"] is not None and row["map_index"] >= 0:  # expanded in that run
            self.app.push_screen(MappedInstancesScreen(self.dag_id, run_id, self.task_id))
        else:
            self.app.push_screen(TaskInstanceScreen(self.dag_id, run_id, self.task_id))
