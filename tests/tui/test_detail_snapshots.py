"""Snapshots of the detail views at 80x24 with NO_COLOR over the pinned store (no scheduler,
nothing moves): a task instance's XComs, its rendered fields, a DAG's details and doc, a task's
history across runs, the runs list, and the clear-a-run dialog."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from flowtui.store.schema import open_connection
from flowtui.tui.screens.dag_details import DagDetailsScreen
from flowtui.tui.screens.runs import RunsScreen
from flowtui.tui.screens.task_details import TaskDetailsScreen
from flowtui.tui.screens.task_history import TaskHistoryScreen
from tests.conftest import Home
from tests.tui.test_dag_screen_snapshots import _app, _open, _pin_header

pytest.importorskip("pytest_textual_snapshot")

pytestmark = pytest.mark.usefixtures("no_color")

RUN = "scheduled__2024-03-03"


@pytest.fixture
def no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def _with_details(home: Home) -> Any:
    """The pinned app, its store given XComs, rendered fields and docs to show."""
    app = _app(home)
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "INSERT INTO xcom (dag_id, run_id, task_id, key, value, timestamp) VALUES "
        "('sales_etl', ?, 'extract', 'return_value', ?, '2024-03-04T00:00:05+00:00')",
        (RUN, json.dumps({"rows": 1200, "files": ["orders.csv", "refunds.csv"]})),
    )
    rendered = {"bash_command": "python extract.py --day 2024-03-03", "env": {"DAY": "20240303"}}
    conn.execute(
        "UPDATE attempts SET rendered = ? WHERE run_id = ? AND task_id = 'extract'",
        (json.dumps(rendered), RUN),
    )
    (text,) = conn.execute("SELECT spec FROM dags WHERE dag_id = 'sales_etl'").fetchone()
    spec = json.loads(text)
    spec.update(
        description="Daily sales from the shop into the warehouse",
        tags=["sales", "daily"],
        doc_md="# Sales ETL\n\nLoads **orders** and refunds; `load` needs the warehouse up.",
    )
    conn.execute("UPDATE dags SET spec = ? WHERE dag_id = 'sales_etl'", (json.dumps(spec),))
    conn.close()
    return app


def _shown(
    make: Callable[[], Screen[Any]], ready: Callable[[Any], Any]
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = make()
        await pilot.app.push_screen(screen)
        for _ in range(100):
            if ready(screen):
                break
            await pilot.pause(0.05)
        await _pin_header(pilot)

    return run_before


def test_xcom_at_80x24(home: Home, snap_compare: Any) -> None:
    """x on a task instance: each key, when it was pushed, the value as pretty JSON."""
    make = lambda: TaskDetailsScreen("sales_etl", RUN, "extract", "xcom")  # noqa: E731
    run_before = _shown(make, lambda s: s.details)
    assert snap_compare(_with_details(home), terminal_size=(80, 24), run_before=run_before)


def test_rendered_fields_at_80x24(home: Home, snap_compare: Any) -> None:
    """t on a task instance: the fields as its try rendered them."""
    make = lambda: TaskDetailsScreen("sales_etl", RUN, "extract", "rendered")  # noqa: E731
    run_before = _shown(make, lambda s: s.details)
    assert snap_compare(_with_details(home), terminal_size=(80, 24), run_before=run_before)


def test_dag_details_at_80x24(home: Home, snap_compare: Any) -> None:
    """i on the DAG screen: the DAG's settings and its doc_md rendered."""
    run_before = _shown(lambda: DagDetailsScreen("sales_etl"), lambda s: s.details)
    assert snap_compare(_with_details(home), terminal_size=(80, 24), run_before=run_before)


def test_task_history_at_80x24(home: Home, snap_compare: Any) -> None:
    """h on a cell: the task in each run, newest first, with its durations' sparkline."""
    run_before = _shown(lambda: TaskHistoryScreen("sales_etl", "transform"), lambda s: s.rows)
    assert snap_compare(_with_details(home), terminal_size=(80, 24), run_before=run_before)


def test_runs_list_at_80x24(home: Home, snap_compare: Any) -> None:
    """a on the DAG screen: every run newest first, the newest's task instances below."""
    run_before = _shown(lambda: RunsScreen("sales_etl"), lambda s: s.data and s.data.tis)
    assert snap_compare(_with_details(home), terminal_size=(80, 24), run_before=run_before)


def test_clear_run_dialog_at_80x24(home: Home, snap_compare: Any) -> None:
    """C on the grid, failed only: what clearing the run resets, by state."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open(pilot)
        await pilot.press("C", "f")
        await pilot.pause(0.2)

    assert snap_compare(_with_details(home), terminal_size=(80, 24), run_before=run_before)
