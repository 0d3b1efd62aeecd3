"""`GridReader`: the DAG screen's reads of its grid on the live thread, kept between refreshes so
that each one reads only what changed since the last `events.id` it saw (issue 13, point 9: a
200-task DAG's screen re-read 5,000 task instances four times a second), and `GridColumns`,
which turns a read into the grid's data on the UI thread redoing only the runs read again, with
the rows `GridRows` takes from the DAG's spec."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from flowtui.spec import DagSpec
from flowtui.store import reads
from flowtui.store.summaries import grid_cells, recent_runs, runs_with_events_since
from flowtui.tui.widgets.run_grid import GridData, row_names

Cells = dict[str, dict[str, Any]]
"""task_id -> task instance, of one run."""

RUNNING = "running"
"""A running run's task instances are read on every refresh, events or not: they also change
without an event (a DAG file's new task gets one; a state kept with new fields)."""


@dataclass(frozen=True)
class GridRead:
    """One read: the recent runs (oldest first), their cells, and the attempts of `run_id`."""

    runs: list[dict[str, Any]]
    cells: dict[str, Cells]
    """run_id -> its cells. A run's cells are a new dict when read again and never changed
    after, so `is` tells a reader on another thread which runs changed since a former read."""
    attempts_run_id: str | None
    attempts: list[dict[str, Any]]


class GridReader:
    """Reads a DAG's recent runs, re-reading only the runs that changed since the last read."""

    def __init__(self, dag_id: str) -> None:
        self.dag_id = dag_id
        self._seen = -1
        """The newest event at the last read; -1 before the first."""
        self._recent = 0
        self._runs: list[dict[str, Any]] = []
        self._cells: dict[str, Cells] = {}
        self._attempts: tuple[str | None, list[dict[str, Any]]] = (None, [])

    def read(self, conn: sqlite3.Connection, recent: int, run_id: str | None) -> GridRead:
        """The last `recent` runs and their cells, and the attempts of `run_id` (the newest
        run's when it is not among them); in the caller's transaction."""
        seen = None if self._seen < 0 else self._seen
        newest, events = runs_with_events_since(conn, self.dag_id, seen)
        if self._seen < 0 or recent != self._recent or any(events.values()):
            self._runs, self._recent = recent_runs(conn, self.dag_id, recent), recent
        self._seen = newest
        run_ids = [r["run_id"] for r in self._runs]
        running = {r["run_id"] for r in self._runs if r["state"] == RUNNING}
        stale = [r for r in run_ids if r in events or r in running or r not in self._cells]
        fresh = grid_cells(conn, self.dag_id, stale)
        self._cells = {r: fresh[r] if r in fresh else self._cells[r] for r in run_ids}
        if run_id not in self._cells:
            run_id = run_ids[-1] if run_ids else None
        if run_id is None:
            self._attempts = (None, [])
        elif run_id in events or run_id != self._attempts[0]:
            self._attempts = (run_id, reads.attempts(conn, self.dag_id, run_id))
        return GridRead(self._runs, dict(self._cells), *self._attempts)


@dataclass(frozen=True)
class _Column:
    """What the grid takes from one run's cells, kept while those cells are the same object."""

    cells: Cells
    states: dict[tuple[str, str], str]
    durations: dict[str, float | None]
    missed: frozenset[tuple[str, str]]


class GridColumns:
    """UI thread: turns a read into the grid's `GridData`, redoing only the runs whose cells
    were read again (a refresh of one running run costs one column, not the whole grid). The
    grid is given every `GridData` made here, so `changed_runs` is relative to the one before."""

    def __init__(self) -> None:
        self._columns: dict[str, _Column] = {}
        self._is_first = True
        self._task_ids: list[str] = []
        self._by_task: dict[str, tuple[_Column, list[float | None]]] = {}
        """run_id -> its column and its durations in the order of `_task_ids`."""

    def grid_data(
        self,
        runs: list[dict[str, Any]],
        cells: dict[str, Cells],
        task_ids: list[str],
        sensing: frozenset[str],
        visible: int,
        names: dict[str, str],
        groups: dict[str, tuple[str, ...]] | None = None,
    ) -> GridData:
        """The grid's rows and the last `visible` of `runs`; the sparklines get every run."""
        columns = {r["run_id"]: self._column(r["run_id"], cells[r["run_id"]]) for r in runs}
        changed = frozenset(r for r, c in columns.items() if self._columns.get(r) is not c)
        self._columns = columns
        shown = runs[-visible:]
        states: dict[tuple[str, str], str] = {}
        missed: set[tuple[str, str]] = set()
        for run in shown:
            column = columns[run["run_id"]]
            states.update(column.states)
            missed.update(column.missed)
        if task_ids != self._task_ids:
            self._task_ids, self._by_task = task_ids, {}
        by_task = {r: self._durations_of(r, c, task_ids) for r, c in columns.items()}
        self._by_task = by_task
        ordered = zip(*(by_task[r["run_id"]][1] for r in runs), strict=True)
        durations = (
            dict(zip(task_ids, map(list, ordered), strict=True))
            if runs
            else {task_id: [] for task_id in task_ids}
        )
        first, self._is_first = self._is_first, False
        return GridData(
            task_ids,
            shown,
            states,
            durations,
            frozenset(missed),
            sensing,
            names,
            None if first else changed,
            groups or {},
        )

    def _durations_of(
        self, run_id: str, column: _Column, task_ids: list[str]
    ) -> tuple[_Column, list[float | None]]:
        kept = self._by_task.get(run_id)
        if kept is not None and kept[0] is column:
            return kept
        return column, [column.durations.get(t) for t in task_ids]

    def _column(self, run_id: str, cells: Cells) -> _Column:
        column = self._columns.get(run_id)
        if column is not None and column.cells is cells:
            return column
        return _Column(
            cells,
            {(run_id, task_id): ti["state"] for task_id, ti in cells.items()},
            {task_id: ti["duration"] for task_id, ti in cells.items()},
            frozenset((run_id, t) for t, ti in cells.items() if ti.get("sla_missed")),
        )


@dataclass(frozen=True)
class GridRows:
    """What the grid's rows take from the spec, the same at each refresh while the spec and
    the task ids are (made again at each one, a 200-task DAG's took a millisecond)."""

    spec: DagSpec
    task_ids: list[str]
    names: dict[str, str]
    """The tasks' display names, for those that have one."""
    groups: dict[str, tuple[str, ...]]
    sensing: frozenset[str]
    """Sensors in poke mode."""
    shown: list[str]
    """What each row's name column shows (`row_names`)."""

    @classmethod
    def of(cls, spec: DagSpec, task_ids: list[str]) -> GridRows:
        tasks = spec.tasks.items()
        names = {t: task.display_name for t, task in tasks if task.display_name}
        groups = {t: task.task_groups for t, task in tasks if task.task_groups}
        sensing = frozenset(t for t, task in tasks if task.sensor_mode == "poke")
        return cls(spec, task_ids, names, groups, sensing, row_names(task_ids, groups, names))
