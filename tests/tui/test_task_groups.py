"""Task groups on the DAG screen, over a real store holding one `dags test` run of the Airflow
task-group DAG (tests/airflow_dags) with one task marked failed: the grid's group rows (nested,
folded with z or enter, their state in the run), c and r on a group row acting on its tasks,
and the graph's group headers and edge label."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.coordinate import Coordinate

from flowtui.scheduling.clients import Offline
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.widgets.task_groups import group_key, group_state
from tests.conftest import Home
from tests.tui.conftest import SIZE, make_dashboard, settle, wait_for

DAG_FILE = Path(__file__).parents[1] / "airflow_dags" / "airflow_task_groups.py"
DAG_ID = "airflow_task_groups"
FAILED = "extract.nested.products"


@pytest.fixture(scope="module")
def grouped_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """One successful run of the task-group DAG, then `products` marked failed (the CLI)."""
    root = tmp_path_factory.mktemp("groups")
    home = Home(root / "home", root / "dags")
    home.dags.mkdir()
    home.write_dag("airflow_task_groups.py", DAG_FILE.read_text())
    home.run("dags", "test", DAG_ID, "--logical-date", "2024-01-15", check=True)
    run_id = home.latest_run_id(DAG_ID)
    home.run("tasks", "mark", DAG_ID, run_id, FAILED, "failed", check=True)
    return home


@pytest.fixture
def home_copy(grouped_home: Home, tmp_path: Path) -> Home:
    """A copy of the module's home for a test that changes it."""
    home = Home(tmp_path / "home", tmp_path / "dags")
    shutil.copytree(grouped_home.path, home.path, ignore=shutil.ignore_patterns("*.sock"))
    shutil.copytree(grouped_home.dags, home.dags)
    return home


def _app(home: Home) -> Dashboard:
    return make_dashboard(home.settings, Offline(home.settings, "dashboard:test"))


async def _open(pilot: Any) -> DagScreen:
    screen = DagScreen(DAG_ID)
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.run_grid.selected() is not None, what="the grid")
    return screen


def _names(screen: DagScreen) -> list[str]:
    grid = screen.run_grid
    return [grid.get_cell_at(Coordinate(row, 0)).plain.rstrip() for row in range(grid.row_count)]


def _cell(screen: DagScreen, run_id: str, row: str) -> str:
    value = screen.run_grid.get_cell(row, run_id)
    return value.plain.strip() if isinstance(value, Text) else str(value).strip()


def test_a_groups_state_is_its_most_urgent_task_state_as_in_airflow() -> None:
    assert group_state(["success", "failed", "upstream_failed"]) == "failed"
    assert group_state(["success", "running", "queued"]) == "queued"
    assert group_state(["success", "skipped"]) == "success"
    assert group_state(["skipped", "none"]) == "none"
    assert group_state([None, None]) is None


async def test_the_grid_shows_tasks_under_their_groups_and_folds_them(
    grouped_home: Home,
) -> None:
    run_id = grouped_home.latest_run_id(DAG_ID)
    async with _app(grouped_home).run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        grid = screen.run_grid
        assert _names(screen) == [
            "start",
            "▾ extract",
            "  orders",
            "  ▾ nested",
            "    customers",
            "    products",
            "▾ load",  # a group without prefix_group_id: its task's id has no dot
            "  load_all",
            "end",
        ]
        assert grid.selected() == (run_id, FAILED)  # the failed task, as ever
        assert _cell(screen, run_id, group_key("extract")) == "✘"  # one failed task in it
        assert _cell(screen, run_id, group_key("extract.nested")) == "✘"
        assert _cell(screen, run_id, group_key("load")) == "✔"
        await pilot.press("z")  # on a task: folds its group, the cursor on the group's row
        assert grid.selected() == (run_id, group_key("extract.nested"))
        assert "  ▸ nested" in _names(screen)
        assert "    products" not in _names(screen)
        details = str(screen.query_one("#run-details").render())
        assert "group extract.nested" in details
        assert "2 tasks" in details
        await pilot.press("space")  # on a group row: selects all its tasks in the run
        assert grid.marked == [(run_id, "extract.nested.customers"), (run_id, FAILED)]
        assert _cell(screen, run_id, group_key("extract.nested")) == "•✘"
        await pilot.press("space")
        assert grid.marked == []
        await pilot.press("up", "up", "enter")  # enter on a group row folds it too
        assert grid.selected() == (run_id, group_key("extract"))
        assert _names(screen) == ["start", "▸ extract", "▾ load", "  load_all", "end"]
        assert _cell(screen, run_id, group_key("extract")) == "✘"
        await pilot.press("l")  # a group has no log: a toast, no screen
        assert pilot.app.screen is screen
        await pilot.press("enter")
        assert "  ▸ nested" in _names(screen)  # the inner group stays folded
        await pilot.press("Z")  # unfold all
        assert len(_names(screen)) == 9
        await pilot.press("Z")  # fold all
        assert _names(screen) == ["start", "▸ extract", "▸ load", "end"]
        # the screen's next refresh keeps the folds
        screen.show(screen.data)
        assert _names(screen) == ["start", "▸ extract", "▸ load", "end"]


async def test_c_on_a_group_row_clears_the_groups_tasks_in_that_run(home_copy: Home) -> None:
    home = home_copy
    run_id = home.latest_run_id(DAG_ID)
    async with _app(home).run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.run_grid.select(run_id, group_key("extract.nested"))
        await pilot.press("c")
        listing = str(pilot.app.screen.query_one("#clear-list").render())
        assert "extract.nested.customers" in listing
        assert FAILED in listing
        assert "extract.orders" not in listing
        await pilot.press("d", "y")  # downstream off: the group's two tasks alone
        await settle(pilot)
        # the refresh redraws the group rows: none of nested's tasks has run now
        nested, extract = group_key("extract.nested"), group_key("extract")
        await wait_for(pilot, lambda: _cell(screen, run_id, nested) == "·", what="the refresh")
        assert _cell(screen, run_id, extract) == "·"  # not run outranks success, as in Airflow
    assert home.task_state(DAG_ID, run_id, FAILED) == "none"
    assert home.task_state(DAG_ID, run_id, "extract.nested.customers") == "none"
    assert home.task_state(DAG_ID, run_id, "extract.orders") == "success"
    assert home.task_state(DAG_ID, run_id, "load_all") == "success"


async def test_r_on_a_group_row_retries_its_failed_tasks(home_copy: Home) -> None:
    home = home_copy
    run_id = home.latest_run_id(DAG_ID)
    async with _app(home).run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        screen.run_grid.select(run_id, group_key("load"))
        await pilot.press("r")  # nothing failed in it: a warning, no command
        await settle(pilot)
        screen.run_grid.select(run_id, group_key("extract"))
        await pilot.press("r")
        await settle(pilot)
    commands = [json.loads(str(e["detail"])) for e in home.events() if e["kind"] == "command"]
    clears = [c for c in commands if c["command"] == "clear"]
    assert [c["args"]["task_regex"] for c in clears] == [r"^(extract\.nested\.products)$"]
    assert home.task_state(DAG_ID, run_id, FAILED) == "none"
    assert home.task_state(DAG_ID, run_id, "extract.nested.customers") == "success"


async def test_the_graph_shows_group_headers_and_the_edge_label(grouped_home: Home) -> None:
    async with _app(grouped_home).run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("g")
        lines = screen.graph_view.text.plain.splitlines()
        assert "  ✔ start ── begin ─▶ ✔ extract.orders" in lines
        at = lines.index("  ▣ extract")
        assert lines[at + 1 : at + 3] == [
            "    ✔ orders ─┬─▶ ✔ extract.nested.customers",
            "              └─▶ ✘ extract.nested.products",
        ]
        at = lines.index("    ▣ nested", at)
        assert lines[at + 1 : at + 3] == [
            "      ✔ customers ──▶ ✔ load_all",
            "      ✘ products ──▶ ✔ load_all",
        ]
        assert "  ▣ load" in lines
        assert "    ✔ load_all ──▶ ✔ end" in lines
        # the graph's own order, groups together: down from the failed task is load_all
        await pilot.press("down")
        await wait_for(pilot, lambda: (screen.run_grid.selected() or ("", ""))[1] == "load_all")
