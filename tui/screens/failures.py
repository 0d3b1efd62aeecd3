"""Recent failures across every DAG: the task instances failed or up for retry now, the latest
first, each with its run, when it ended and its error's last line; `enter` opens one, and the
task keys (`r` reruns it) act on the one under the cursor, as on the task-instance screen."""

from __future__ import annotations

import sqlite3
import textwrap
from typing import NamedTuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from flowtui.spec import DagSpec
from flowtui.states import instance_name
from flowtui.store.summaries import dag_header, recent_failures, task_states
from flowtui.tui.format import format_timestamp, one_line
from flowtui.tui.screens.base import KeyTable, SpecCache
from flowtui.tui.screens.task_actions import SelectedTaskInstance, TaskActionsScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.state_badge import glyph

LIMIT = 50
"""Failures listed, at most."""

TASK_WIDTH = 30
"""Characters of `dag_id.task_id` and of the run id, at most."""

WHEN_WIDTH = 14
"""`MM-DD HH:MM:SS`."""


class Failure(NamedTuple):
    """One failed task instance and what a rerun of it needs to know (read on the live thread)."""

    dag_id: str
    run_id: str
    task_id: str
    state: str
    try_number: int
    end_date: str | None
    cause: str
    """The last line of its latest attempt's error; empty when none was kept."""
    downstream: list[str]
    upstream: list[str]
    states: dict[str, str]
    """Every task of its run -> state (a mapped task's sums up its instances)."""
    map_index: int = -1
    """Which instance of a mapped task; -1 for an unmapped task."""

    @property
    def key(self) -> str:
        return _key(self.dag_id, self.run_id, self.task_id, self.map_index)

    @property
    def name(self) -> str:
        return instance_name(self.task_id, self.map_index)


class FailuresScreen(TaskActionsScreen):
    """Failures the latest first; the cursor starts on the latest."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[Failure] = []
        self._specs: dict[str, SpecCache] = {}
        self._error_width = 0
        """The error column's width, set by `show` from the screen's (fixed widths: measuring
        two-line cells gave columns a few characters wide in a real terminal)."""

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(
            Text(" Recent failures ", style="bold reverse")
            + Text("  failed or up for retry now, latest first", style="dim"),
            id="failures-title",
        )
        yield KeyTable(id="failures", cursor_type="row", zebra_stripes=True)
        yield Static("no task instance is failed now", id="failures-empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#failures-empty", Static).display = False
        self.failures_table.focus()

    def on_resize(self) -> None:
        self.show(self.failures)

    @property
    def failures_table(self) -> KeyTable:
        return self.query_one("#failures", KeyTable)

    # --- data ---

    def load(self, conn: sqlite3.Connection) -> list[Failure]:
        found = []
        states: dict[tuple[str, str], dict[str, str]] = {}
        for row in recent_failures(conn, LIMIT):
            dag_id, run_id, task_id = row["dag_id"], row["run_id"], row["task_id"]
            spec = self._spec(conn, dag_id)
            if (dag_id, run_id) not in states:
                states[dag_id, run_id] = task_states(conn, dag_id, run_id)
            lines = (row["cause"] or "").strip().splitlines()
            found.append(
                Failure(
                    dag_id,
                    run_id,
                    task_id,
                    row["state"],
                    row["try_number"],
                    row["end_date"],
                    lines[-1] if lines else "",
                    spec.relatives([task_id], "downstream") if spec else [],
                    spec.relatives([task_id], "upstream") if spec else [],
                    states[dag_id, run_id],
                    row["map_index"],
                )
            )
        return found

    def _spec(self, conn: sqlite3.Connection, dag_id: str) -> DagSpec | None:
        header = dag_header(conn, dag_id)
        if header is None:
            return None
        return self._specs.setdefault(dag_id, SpecCache()).parse(header["spec"])

    def show(self, data: list[Failure]) -> None:
        table = self.failures_table
        current = self.selected_task_instance()
        was_placed = bool(self.failures)
        self.failures = data
        table.clear()
        error_width = max(
            20, (self.size.width or self.app.size.width) - WHEN_WIDTH - TASK_WIDTH - 8
        )
        if error_width != self._error_width:
            self._error_width = error_width
            table.clear(columns=True)
            table.add_column("when", width=WHEN_WIDTH, key="when")
            table.add_column("task / run", width=TASK_WIDTH, key="task")
            table.add_column("error", width=error_width, key="error")
        for failure in data:
            table.add_row(*_cells(failure, error_width), key=failure.key, height=2)
        self.query_one("#failures-empty", Static).display = not data
        keys = [f.key for f in data]
        if was_placed and current is not None:
            key = _key(current.dag_id, current.run_id, current.task_id, current.map_index)
            if key in keys:
                table.move_cursor(row=keys.index(key), animate=False)

    # --- keys ---

    def selected_task_instance(self) -> SelectedTaskInstance | None:
        table = self.failures_table
        if not self.failures or table.row_count == 0:
            return None
        failure = self.failures[min(table.cursor_row, len(self.failures) - 1)]
        return SelectedTaskInstance(
            failure.dag_id,
            failure.run_id,
            failure.task_id,
            failure.state,
            downstream=failure.downstream,
            upstream=failure.upstream,
            states={**failure.states, failure.task_id: failure.state},  # the instance's own
            map_index=failure.map_index,
        )

    @on(DataTable.RowSelected, "#failures")
    def _row_selected(self) -> None:
        self.action_open_task()

    def action_open_task(self) -> None:
        ti = self.selected_task_instance()
        if ti is not None:
            screen = TaskInstanceScreen(ti.dag_id, ti.run_id, ti.task_id, map_index=ti.map_index)
            self.app.push_screen(screen)


def _key(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    return f"{dag_id}\x00{run_id}\x00{task_id}\x00{map_index}"


def _cells(failure: Failure, error_width: int) -> list[Text]:
    when = Text(format_timestamp(failure.end_date, year=False) or "-")
    when.append(f"\ntry {failure.try_number}", style="dim")
    task = glyph(failure.state) + Text(" ")
    task.append(one_line(f"{failure.dag_id}.{failure.name}", TASK_WIDTH - 2), style="bold")
    task.append("\n" + one_line(failure.run_id, TASK_WIDTH), style="dim")
    lines = textwrap.wrap(failure.cause, error_width) or ["(no error kept)"]
    if len(lines) > 2:
        lines = [lines[0], one_line(" ".join(lines[1:]), error_width)]
    return [when, task, Text("\n".join(lines))]
