"""Snapshots of the main screens over fixed data (dates, run ids, durations and the home label
pinned; no scheduler, so nothing moves): the DAG list and the DAG screen's grid and graph.
The task-instance screen has Pilot tests instead: its attempts table's column widths depend
on when its rows arrive, which no pause pins down."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.pilot import Pilot

from flowtui.commands.model import SchedulerState
from flowtui.scheduling.clients import connect
from flowtui.spec import DagSpec, TaskSpec
from flowtui.store.schema import open_connection
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from tests.conftest import Home
from tests.tui.conftest import make_dashboard

pytest.importorskip("pytest_textual_snapshot")

EDGES = {
    "extract": ("validate", "transform"),
    "validate": ("load",),
    "transform": ("load",),
    "load": ("report",),
    "report": (),
}
RUNS: list[tuple[str, str, dict[str, tuple[str, int, float | None]]]] = [
    # run_id, run state, {task: (state, try_number, duration)}
    ("scheduled__2024-03-01", "success", {t: ("success", 1, 12.0) for t in EDGES}),
    ("scheduled__2024-03-02", "success", {t: ("success", 1, 14.0) for t in EDGES}),
    (
        "scheduled__2024-03-03",
        "failed",
        {
            "extract": ("success", 1, 11.0),
            "validate": ("success", 2, 3.0),
            "transform": ("failed", 1, 48.0),
            "load": ("upstream_failed", 0, None),
            "report": ("upstream_failed", 0, None),
        },
    ),
]


def _spec() -> DagSpec:
    upstream = {t: tuple(u for u, downs in EDGES.items() if t in downs) for t in EDGES}
    tasks = {
        t: TaskSpec(t, "BashOperator", upstream=upstream[t], downstream=EDGES[t]) for t in EDGES
    }
    return DagSpec("sales_etl", "/dags/sales.py", tasks, schedule="@daily")


def _write_fixed_store(home: Home) -> None:
    home.path.mkdir(parents=True, exist_ok=True)
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "INSERT INTO dags (dag_id, fileloc, spec, schedule) VALUES (?, ?, ?, ?)",
        ("sales_etl", "/dags/sales.py", json.dumps(_spec().to_dict()), json.dumps("@daily")),
    )
    for day, (run_id, state, tis) in enumerate(RUNS, start=1):
        start = f"2024-03-0{day + 1}T00:00:00+00:00"
        conn.execute(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
            "data_interval_start, data_interval_end, start_date, end_date, conf) "
            "VALUES ('sales_etl', ?, 'scheduled', ?, ?, ?, ?, ?, ?, '{}')",
            (
                run_id,
                state,
                f"2024-03-0{day}T00:00:00+00:00",
                f"2024-03-0{day}T00:00:00+00:00",
                start,
                start,
                f"2024-03-0{day + 1}T00:01:05+00:00",
            ),
        )
        offset = 0
        for task_id, (ti_state, tries, duration) in tis.items():
            _write_task_instance(conn, run_id, task_id, ti_state, tries, duration, day, offset)
            offset += 5
    conn.close()


def _write_task_instance(
    conn: Any,
    run_id: str,
    task_id: str,
    state: str,
    tries: int,
    duration: float | None,
    day: int,
    offset: int,
) -> None:
    def at(seconds: float) -> str:
        return f"2024-03-0{day + 1}T00:00:{seconds:06.3f}+00:00"

    conn.execute(
        "INSERT INTO task_instances (dag_id, run_id, task_id, state, try_number, max_tries, "
        "duration) VALUES ('sales_etl', ?, ?, ?, ?, 1, ?)",
        (run_id, task_id, state, tries, duration),
    )
    for try_number in range(1, tries + 1):
        begin = offset + (try_number - 1) * 4
        conn.execute(
            "INSERT INTO attempts (dag_id, run_id, task_id, try_number, state, queued_at, "
            "start_date, end_date) VALUES ('sales_etl', ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                task_id,
                try_number,
                state if try_number == tries else "failed",
                at(begin),
                at(begin + 1),
                at(min(begin + 1 + (duration or 1), 59)),
            ),
        )


def _app(home: Home) -> Dashboard:
    _write_fixed_store(home)
    settings = home.settings
    return make_dashboard(settings, connect(settings, "dashboard:test"))


async def _open(pilot: Pilot[Any], *keys: str) -> None:
    app = pilot.app
    screen = DagScreen("sales_etl")
    await app.push_screen(screen)
    for _ in range(100):
        if screen.data is not None and screen.run_grid.selected():
            break
        await pilot.pause(0.05)
    await pilot.press(*keys)
    await _pin_header(pilot)


def test_grid_at_80x24_starts_on_the_failed_task(home: Home, snap_compare: Any) -> None:
    """A user opens a DAG whose latest run failed: the cursor is on the failed task."""
    assert snap_compare(_app(home), terminal_size=(80, 24), run_before=_open)


def test_graph_at_120x40(home: Home, snap_compare: Any) -> None:
    """g shows every task in layers with its edges and the selected run's states."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open(pilot, "g")

    assert snap_compare(_app(home), terminal_size=(120, 40), run_before=run_before)


async def _pin_header(pilot: Pilot[Any]) -> None:
    """Fixed paths, and the scheduler as probed (no scheduler runs), not as at start."""
    header = pilot.app.screen.query_one(HeaderBar)
    header.home, header.dags_folder = "~/.flowtui", "~/dags (fixed for the snapshot)"
    for _ in range(100):
        if header.scheduler is SchedulerState.NOT_RUNNING:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def test_dag_list_at_80x24_with_an_import_error(home: Home, snap_compare: Any) -> None:
    """The first screen: each DAG with its recent runs as glyphs, and the import-error banner."""
    app = _app(home)
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "INSERT INTO import_errors (filename, line, message, timestamp) VALUES "
        "('/dags/broken.py', 3, 'SyntaxError: invalid syntax', '2024-03-04T00:00:00+00:00')"
    )
    conn.close()

    async def run_before(pilot: Pilot[Any]) -> None:
        for _ in range(100):
            screen = pilot.app.screen
            if isinstance(screen, DagsScreen) and screen.dag_table.row_count:
                break
            await pilot.pause(0.05)
        await _pin_header(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
