"""All of a DAG's runs, also those older than the grid's width: newest first, filtered by
logical date (`/`: `2024-03`, `2024-03-01..2024-03-10`, `..2024-02`), with the task instances
of the run under the cursor below. `enter` on a run moves to its task instances, `enter` on one
of those opens it; c / r / m act on that task instance, C / M on the run."""

from __future__ import annotations

import re
import sqlite3
from typing import Any, NamedTuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from flowtui.spec import DagSpec
from flowtui.states import instance_name
from flowtui.store import reads
from flowtui.store.details import runs_between
from flowtui.store.summaries import dag_header, task_states
from flowtui.tui.format import format_duration, format_elapsed, format_timestamp
from flowtui.tui.messages import RefreshRequested
from flowtui.tui.screens.base import KeyTable, SpecCache
from flowtui.tui.screens.task_actions import RunActionsScreen, SelectedRun, SelectedTaskInstance
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.state_badge import badge

DATE = re.compile(r"\d{4}(-\d\d(-\d\d([T ]\d\d(:\d\d(:\d\d)?)?)?)?)?")
"""A logical date's beginning, as the store writes it."""


RUN_COLUMNS = (("logical date", 16), ("state", 14), ("failed", 6), ("took", 7), ("type", 9))
TI_COLUMNS = (("task", 24), ("state", 17), ("try", 3), ("took", 6), ("started", 14))
RUN_ID_WIDTH = 40
"""The run id, last: cut first at 80 columns (the logical date and type say most of it)."""


class RunsData(NamedTuple):
    """One read: the runs that match (newest first), how many match in all, and the task
    instances of the run under the cursor."""

    runs: list[dict[str, Any]]
    total: int
    run_id: str | None
    tis: list[dict[str, Any]]
    states: dict[str, str]
    """Every task of that run -> its state (a mapped task's sums up its instances)."""
    spec: DagSpec | None


def parse_date_filter(text: str) -> tuple[str, str]:
    """(since, until) date prefixes from `2024-03`, `A..B`, `A..` or `..B`.

    Raises:
        ValueError: a part is not the beginning of a date, with how to write one.
    """
    text = text.strip()
    since, _, until = text.partition("..") if ".." in text else (text, "", text)
    for part in (since, until):
        if part and not DATE.fullmatch(part):
            raise ValueError(f"{part!r} is not a date: use 2024-03, 2024-03-01 or A..B")
    return since.replace(" ", "T"), until.replace(" ", "T")


class RunsScreen(RunActionsScreen):
    """A DAG's runs, filterable by date, and the task instances of one."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Filter by date"),
    ]

    def __init__(self, dag_id: str) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.data: RunsData | None = None
        self.since = self.until = ""
        self._run_id: str | None = None
        """The run under the cursor, read by `load` (live thread) for its task instances."""
        self._spec = SpecCache()

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(id="runs-title")
        yield Input(placeholder="logical date: 2024-03, 2024-03-01..2024-03-10", id="runs-filter")
        yield KeyTable(id="runs", cursor_type="row")
        yield KeyTable(id="run-tis", cursor_type="row")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.filter_input.display = False
        # Fixed widths: a table refilled on every refresh keeps its first (header) widths.
        for label, width in (*RUN_COLUMNS, ("run", RUN_ID_WIDTH)):
            self.runs_table.add_column(label, width=width)
        for label, width in TI_COLUMNS:
            self.tis_table.add_column(label, width=width)
        self.runs_table.focus()

    @property
    def runs_table(self) -> KeyTable:
        return self.query_one("#runs", KeyTable)

    @property
    def tis_table(self) -> KeyTable:
        return self.query_one("#run-tis", KeyTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#runs-filter", Input)

    # --- data ---

    def load(self, conn: sqlite3.Connection) -> RunsData:
        runs, total = runs_between(conn, self.dag_id, self.since, self.until)
        run_ids = [r["run_id"] for r in runs]
        run_id = self._run_id if self._run_id in run_ids else (run_ids[0] if runs else None)
        tis = reads.task_instances(conn, self.dag_id, run_id) if run_id else []
        states = task_states(conn, self.dag_id, run_id) if run_id else {}
        dag = dag_header(conn, self.dag_id)
        spec = self._spec.parse(dag["spec"]) if dag else None
        return RunsData(runs, total, run_id, tis, states, spec)

    def show(self, data: RunsData) -> None:
        self.data = data
        self._run_id = self._run_id or data.run_id
        self.query_one("#runs-title", Static).update(self._title(data))
        _refill(self.runs_table, [(r["run_id"], _run_row(r)) for r in data.runs])
        _refill(self.tis_table, [(_name(ti), _ti_row(ti)) for ti in data.tis])

    def _title(self, data: RunsData) -> Text:
        text = Text(f" {self.dag_id}: runs ", style="bold reverse")
        shown = f"{len(data.runs)} of {data.total}" if data.total > len(data.runs) else data.total
        where = (
            f" from {self.since or '…'} to {self.until or '…'}" if self.since or self.until else ""
        )
        text.append(f"  {shown} runs{where}, newest first", style="dim")
        if data.run_id:
            text.append(f"   below: {data.run_id}", style="dim")
        return text

    # --- keys and events ---

    @on(DataTable.RowHighlighted, "#runs")
    def _run_highlighted(self) -> None:
        # Where the cursor is now, not where the event says: a refill moves it through row 0.
        table, runs = self.runs_table, self.data.runs if self.data else []
        run_id = runs[table.cursor_row]["run_id"] if table.cursor_row < len(runs) else None
        if run_id is not None and run_id != self._run_id:
            self._run_id = run_id
            self.post_message(RefreshRequested())

    @on(DataTable.RowSelected, "#runs")
    def _run_selected(self) -> None:
        self.tis_table.focus()

    @on(DataTable.RowSelected, "#run-tis")
    def _ti_selected(self) -> None:
        ti = self.selected_task_instance()
        if ti is not None:
            screen = TaskInstanceScreen(ti.dag_id, ti.run_id, ti.task_id, map_index=ti.map_index)
            self.app.push_screen(screen)

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        try:
            self.since, self.until = parse_date_filter(event.value)
        except ValueError as exc:
            self.notify(str(exc), severity="warning")
            return
        self._run_id = None
        self.filter_input.display = bool(event.value.strip())
        self.runs_table.focus()
        self.post_message(RefreshRequested())

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def action_back(self) -> None:
        if self.tis_table.has_focus or self.filter_input.has_focus:
            self.runs_table.focus()
        else:
            self.app.pop_screen()

    def selected_run(self) -> SelectedRun | None:
        data = self.data
        if data is None or data.run_id is None:
            return None
        return SelectedRun(self.dag_id, data.run_id, data.states)

    def selected_task_instance(self) -> SelectedTaskInstance | None:
        run, data, table = self.selected_run(), self.data, self.tis_table
        if run is None or data is None or not data.tis or table.row_count == 0:
            return None
        ti = data.tis[min(table.cursor_row, len(data.tis) - 1)]
        task_id, spec = ti["task_id"], data.spec
        return SelectedTaskInstance(
            self.dag_id,
            run.run_id,
            task_id,
            ti["state"],
            downstream=spec.relatives([task_id], "downstream") if spec else [],
            upstream=spec.relatives([task_id], "upstream") if spec else [],
            states={**run.states, task_id: ti["state"]},  # a mapped instance's own state
            map_index=ti["map_index"],
        )


def _refill(table: KeyTable, rows: list[tuple[str, list[Any]]]) -> None:
    """Replace the table's rows, the cursor kept on the same key (else the same row)."""
    keys = [str(key.value) for key in table.rows]
    current = keys[table.cursor_row] if keys and table.cursor_row < len(keys) else None
    row = table.cursor_row
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    new_keys = [key for key, _ in rows]
    if new_keys:
        row = new_keys.index(current) if current in new_keys else min(row, len(new_keys) - 1)
        table.move_cursor(row=row, animate=False)


def _run_row(run: dict[str, Any]) -> list[Any]:
    took = format_elapsed(run["start_date"], run["end_date"]) if run["start_date"] else "-"
    failed = Text(str(run["failed"]), style="bold") if run["failed"] else Text("-", style="dim")
    return [
        format_timestamp(run["logical_date"], seconds=False),
        badge(run["state"]),
        failed,
        took if run["end_date"] else "running" if run["start_date"] else "-",
        run["run_type"],
        run["run_id"],
    ]


def _name(ti: dict[str, Any]) -> str:
    return instance_name(ti["task_id"], ti["map_index"])


def _ti_row(ti: dict[str, Any]) -> list[Any]:
    return [
        _name(ti),
        badge(ti["state"]),
        str(ti["try_number"]),
        format_duration(ti["duration"]),
        format_timestamp(ti["start_date"], year=False) or "-",
    ]
