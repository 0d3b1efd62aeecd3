"""What the Airflow UI shows, in the terminal: a task instance's XComs, rendered fields and doc
(x, t, d), a DAG's details and source (i, s), a task's history across runs (h), and every run
of a DAG with a date filter (a). Read from a home where `dags test` ran the DAG twice."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Markdown, Static

from flowtui.scheduling.clients import connect
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dag_details import DagDetailsScreen
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.runs import RunsScreen, parse_date_filter
from flowtui.tui.screens.source import SourceScreen
from flowtui.tui.screens.task_details import TaskDetailsScreen
from flowtui.tui.screens.task_history import TaskHistoryScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from tests.conftest import Home
from tests.tui.conftest import SIZE, make_dashboard, plain, wait_for

SHOP = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator

    def push(ti, **context):
        ti.xcom_push("extra", "hello")
        return {"rows": 3, "names": ["ann", "bob"]}

    with DAG("shop", start_date=datetime(2024, 1, 1), description="Orders into the warehouse",
             tags=["sales", "daily"], doc_md="# Shop\\n\\nLoads **orders** every day.",
             default_args={"owner": "data-team"}):
        p = PythonOperator(task_id="push", python_callable=push, doc_md="Pushes *rows*.")
        load = BashOperator(
            task_id="load", bash_command="echo {{ ds }} {{ ti.xcom_pull('push')['rows'] }}"
        )
        p >> load
"""

RUNS = ["test__2024-03-05T00:00:00+00:00", "test__2024-04-02T00:00:00+00:00"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home where `dags test` ran `shop` on 2024-03-05 and 2024-04-02 (read only here)."""
    root = tmp_path_factory.mktemp("shop")
    home = Home(root / "home", root / "dags")
    home.dags.mkdir()
    home.write_dag("shop.py", SHOP)
    for day in ("2024-03-05", "2024-04-02"):
        home.run("dags", "test", "shop", "--logical-date", day, check=True)
    return home


def _app(home: Home) -> Dashboard:
    return make_dashboard(home.settings, connect(home.settings, "dashboard:test"))


async def _open_dag(pilot: Pilot[Any], app: Dashboard) -> DagScreen:
    screen = DagScreen("shop")
    await app.push_screen(screen)
    await wait_for(pilot, lambda: screen.run_grid.selected(), what="the grid")
    return screen


def _top(app: Dashboard) -> object:
    """The screen on top, typed loosely: mypy narrows `app.screen` once and keeps it."""
    return app.screen


def _text(screen: Any, selector: str) -> str:
    return plain(screen.query_one(selector, Static).content)


def _markdown(screen: Any, selector: str) -> str:
    return " ".join(str(block.render()) for block in screen.query_one(selector, Markdown).children)


async def test_x_t_d_show_xcoms_rendered_fields_and_doc(shop: Home) -> None:
    app = _app(shop)
    async with app.run_test(size=SIZE) as pilot:
        ti_screen = TaskInstanceScreen("shop", RUNS[0], "push")
        await app.push_screen(ti_screen)
        await wait_for(pilot, lambda: ti_screen.data is not None, what="the task instance")
        await pilot.press("x")
        screen = await wait_for(
            pilot, lambda: isinstance(app.screen, TaskDetailsScreen) and app.screen.details
        )
        details = app.screen
        xcom = _text(details, "#xcom-text")
        assert "extra" in xcom
        assert '"hello"' in xcom
        assert "return_value" in xcom
        assert '  "rows": 3,' in xcom  # pretty JSON, one key a line
        assert '    "ann",' in xcom
        await pilot.press("t")
        assert details.query_one("TabbedContent").active == "rendered"  # type: ignore[attr-defined]
        assert "op_kwargs" in _text(details, "#rendered-text")
        await pilot.press("d")
        await wait_for(pilot, lambda: "Pushes rows" in _markdown(details, "#doc-text"))
        assert screen
        await pilot.press("escape")
        assert app.screen is ti_screen
        await app.push_screen(TaskDetailsScreen("shop", RUNS[0], "load", "rendered"))
        await wait_for(
            pilot, lambda: isinstance(app.screen, TaskDetailsScreen) and app.screen.details
        )
        rendered = _text(app.screen, "#rendered-text")
        assert "try 1 of 1" in rendered
        assert "echo 2024-03-05 3" in rendered  # the template and the XCom it pulled, rendered


async def test_i_shows_the_dags_details_and_doc_and_s_its_source(shop: Home) -> None:
    app = _app(shop)
    async with app.run_test(size=SIZE) as pilot:
        dag_screen = await _open_dag(pilot, app)
        await pilot.press("i")
        await wait_for(
            pilot, lambda: isinstance(app.screen, DagDetailsScreen) and app.screen.details
        )
        facts = _text(app.screen, "#dag-facts")
        assert "Orders into the warehouse" in facts
        assert "owner       data-team" in facts
        assert "sales, daily" in facts
        await wait_for(pilot, lambda: "Loads orders every day" in _markdown(app.screen, "#dag-doc"))
        await pilot.press("s")
        assert isinstance(app.screen, SourceScreen)
        assert "def push(ti, **context):" in _text(app.screen, "#source")
        await pilot.press("escape", "escape")
        assert _top(app) is dag_screen
        await pilot.press("s")  # from the DAG screen too
        source = _top(app)
        assert isinstance(source, SourceScreen)
        assert source.path == str(shop.dags / "shop.py")


async def test_h_shows_a_tasks_history_across_runs(shop: Home) -> None:
    app = _app(shop)
    async with app.run_test(size=SIZE) as pilot:
        dag_screen = await _open_dag(pilot, app)
        dag_screen.run_grid.select(None, "load")
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, TaskHistoryScreen) and app.screen.rows)
        history = app.screen
        assert isinstance(history, TaskHistoryScreen)
        assert [(r["run_id"], r["state"], r["try_number"]) for r in history.rows] == [
            (RUNS[1], "success", 1),
            (RUNS[0], "success", 1),
        ]
        title = _text(history, "#history-title")
        assert "shop.load" in title
        assert "2 runs, 2/2 succeeded" in title
        assert any(block in title for block in "▁▂▃▄▅▆▇█")
        await pilot.press("down", "enter")  # the older run's instance
        assert isinstance(app.screen, TaskInstanceScreen)
        assert (app.screen.run_id, app.screen.task_id) == (RUNS[0], "load")


async def test_a_lists_every_run_and_filters_them_by_date(shop: Home) -> None:
    app = _app(shop)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dag(pilot, app)
        await pilot.press("a")
        runs = await wait_for(
            pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.data and app.screen
        )
        assert [r["run_id"] for r in runs.data.runs] == [RUNS[1], RUNS[0]]
        assert [ti["task_id"] for ti in runs.data.tis] == ["push", "load"]  # the newest's
        await pilot.press("slash", *"2024-03", "enter")
        await wait_for(pilot, lambda: [r["run_id"] for r in runs.data.runs] == [RUNS[0]])
        assert "1 runs from 2024-03 to 2024-03" in _text(runs, "#runs-title")
        await wait_for(pilot, lambda: runs.data.run_id == RUNS[0], what="its task instances")
        await pilot.press("enter", "down", "enter")  # the run, then its second task instance
        assert isinstance(app.screen, TaskInstanceScreen)
        assert (app.screen.run_id, app.screen.task_id) == (RUNS[0], "load")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03", ("2024-03", "2024-03")),
        ("2024-03-01..2024-03-10", ("2024-03-01", "2024-03-10")),
        ("..2024-02", ("", "2024-02")),
        ("2024-03-01 06:00..", ("2024-03-01T06:00", "")),
        ("", ("", "")),
    ],
)
def test_date_filters(text: str, expected: tuple[str, str]) -> None:
    assert parse_date_filter(text) == expected


def test_a_date_filter_that_is_no_date_is_one_line() -> None:
    with pytest.raises(ValueError, match="'March' is not a date: use 2024-03"):
        parse_date_filter("March")
