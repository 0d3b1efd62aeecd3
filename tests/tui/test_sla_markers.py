"""The dashboard marks a missed SLA: `!` before the task instance's glyph in the grid, a line
in the details panel, and `!SLA n` after the DAG's id in the list (its latest run's misses).
The `sla_miss` event is written here as the scheduler writes it (`scheduling.deadlines`, whose
own tests make real misses); the dashboard only reads it."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from flowtui.store import writes
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.dags import DagsScreen
from tests.conftest import Home
from tests.tui.conftest import SIZE, in_thread, wait_for

LATE = """
    from flowtui import DAG, BashOperator

    with DAG("late", schedule=None):
        BashOperator(task_id="slow", bash_command="true") >> BashOperator(
            task_id="quick", bash_command="true")
"""


def _plain(value: Any) -> str:
    return value.plain if isinstance(value, Text) else str(value)


async def test_a_missed_sla_is_marked_in_the_list_the_grid_and_the_details(home: Home) -> None:
    home.write_dag("late.py", LATE)
    assert home.run("dags", "test", "late").returncode == 0
    run_id = home.latest_run_id("late")
    store = home.store()
    try:
        with store.transaction() as conn:
            detail = {"sla": 1.0, "state": "running", "message": "not done"}
            writes.record_event(
                conn,
                "sla_miss",
                ts="2024-03-05T00:00:01+00:00",
                actor="scheduler",
                dag_id="late",
                run_id=run_id,
                task_id="slow",
                detail=json.dumps(detail),
            )
    finally:
        store.close()
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, DagsScreen) and app.screen.dag_table.row_count,
                what="the DAG list",
            )
            screen = app.screen
            assert isinstance(screen, DagsScreen)
            name = _plain(screen.dag_table.get_row("late")[0])
            assert name == "late !SLA 1"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DagScreen))
            dag_screen = app.screen
            assert isinstance(dag_screen, DagScreen)
            await wait_for(pilot, lambda: dag_screen.run_grid.selected() is not None)
            assert _plain(dag_screen.run_grid.get_cell("slow", run_id)) == "!✔"
            assert _plain(dag_screen.run_grid.get_cell("quick", run_id)) == " ✔"
            dag_screen.run_grid.select(run_id, "slow")
            await wait_for(
                pilot,
                lambda: "missed its SLA" in _plain(dag_screen.query_one("#run-details").render()),
                what="the details panel's SLA line",
            )
