"""The clear dialog says what an `ExternalTaskMarker` among the cleared tasks clears in the other
DAG (the scheduler clears it there, tests/engine/test_external_task_marker.py)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from flowtui.scheduling.clients import connect
from flowtui.tui.screens.confirm import ClearDialog
from flowtui.tui.screens.dag_runs import DagScreen
from tests.conftest import Home
from tests.tui.conftest import make_dashboard, plain, wait_for

MARKED = """
    from datetime import datetime
    from flowtui import DAG, EmptyOperator, ExternalTaskMarker

    with DAG("parent", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        EmptyOperator(task_id="start") >> ExternalTaskMarker(
            task_id="clear_child", external_dag_id="child", external_task_id="wait"
        )
"""


async def test_the_clear_dialog_names_what_a_marker_clears_in_the_other_dag(home: Home) -> None:
    home.write_dag("parent.py", MARKED)
    home.run("dags", "test", "parent", check=True)
    app = make_dashboard(home.settings, connect(home.settings, "dashboard:test"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = DagScreen("parent")
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.data is not None and screen.run_grid.selected())
        await pilot.press("c")  # on start: clear_child is downstream of it
        assert isinstance(app.screen, ClearDialog)
        listing = _listing(pilot)
        assert "2 task instance(s) will be reset" in listing
        assert "through an ExternalTaskMarker, wait of child with its downstream" in listing
        await pilot.press("d")  # downstream off: start alone, no marker
        assert "ExternalTaskMarker" not in _listing(pilot)
        assert "1 task instance(s)" in _listing(pilot)


def _listing(pilot: Pilot[Any]) -> str:
    return plain(pilot.app.screen.query_one("#clear-list", Static).content)
