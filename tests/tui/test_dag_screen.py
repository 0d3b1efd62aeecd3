"""The DAG screen: the grid of runs by tasks with the cursor on the latest failure, retry,
clear, mark, trigger and pause from it (checked in the store and `events`), the graph, the
timeline with retries, the durations column, and live updates without a key press."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import ContentSwitcher, Static
from textual.widgets.data_table import ColumnKey

from flowtui.store import reads
from flowtui.tui.app import Dashboard
from flowtui.tui.messages import RefreshRequested
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from tests.conftest import Home
from tests.tui.conftest import SIZE, in_thread, palette_titles, settle, wait_for

# A task that fails its first attempt in each run and succeeds when run again: with retries=1
# it shows two attempts; with none, the run fails until someone retries it.
ONCE = 'f="$FLOWTUI_HOME/{{ task.task_id }}-{{ run_id }}"; test -f "$f" || { touch "$f"; exit 1; }'

ETL = f"""
    from datetime import datetime, timedelta
    from flowtui import DAG, BashOperator

    with DAG("etl", start_date=datetime(2024, 1, 1), params={{"n": 1}}):
        extract = BashOperator(task_id="extract", bash_command="echo extract")
        flaky = BashOperator(task_id="flaky", bash_command={ONCE!r}, retries=1,
                             retry_delay=timedelta(seconds=0))
        transform = BashOperator(task_id="transform", bash_command={ONCE!r})
        load = BashOperator(task_id="load", bash_command="echo load")
        report = BashOperator(task_id="report", bash_command="echo report")
        extract >> [flaky, transform]
        transform >> load >> report
"""

DATASETS = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, Dataset

    orders = Dataset("file:///data/orders.csv")
    with DAG("make_orders", start_date=datetime(2024, 1, 1)) as make_orders:
        BashOperator(task_id="write", bash_command="true", outlets=[orders])
    with DAG("report", schedule=[orders], start_date=datetime(2024, 1, 1)) as report:
        BashOperator(task_id="build", bash_command="true")
"""

TASKS = ["extract", "flaky", "transform", "load", "report"]
EDGES = [("extract", "flaky"), ("extract", "transform"), ("transform", "load"), ("load", "report")]


@pytest.fixture
def failed_run(home: Home) -> str:
    """A run of `etl`, queued before any scheduler starts; the scheduler of the test runs it:
    extract and flaky (after a retry) succeed, transform fails, load and report become
    upstream_failed. Returns its run_id.

    Not `dags test`: a run it made stays queued for ever once cleared (see the report)."""
    home.write_dag("etl.py", ETL)
    done = home.run("dags", "trigger", "etl", check=True)
    return done.stdout.strip().rsplit(" ", 1)[-1]


def _run_state(home: Home, run_id: str) -> str | None:
    store = home.store()
    try:
        run = reads.run(store.conn, "etl", run_id)
    finally:
        store.close()
    return None if run is None else str(run["state"])


async def _open_dag(pilot: Any, app: Dashboard, home: Home, run_id: str) -> DagScreen:
    """Once run `run_id` has failed, enter on `etl` in the DAG list; wait for the grid."""
    await wait_for(pilot, lambda: _run_state(home, run_id) == "failed", what="the run to fail")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DagsScreen) and app.screen.dag_table.row_count,
        what="the DAG list",
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DagScreen))
    screen = app.screen
    assert isinstance(screen, DagScreen)
    await wait_for(pilot, lambda: screen.run_grid.selected() is not None, what="the grid")
    return screen


def _cell(screen: DagScreen, run_id: str, task_id: str) -> str:
    value = screen.run_grid.get_cell(task_id, run_id)
    return value.plain.strip() if isinstance(value, Text) else str(value).strip()


def _header(screen: DagScreen, column: str) -> Text:
    return screen.run_grid.columns[ColumnKey(column)].label


def _state(home: Home, run_id: str, task_id: str) -> dict[str, Any]:
    store = home.store()
    try:
        row = reads.task_instance(store.conn, "etl", run_id, task_id)
    finally:
        store.close()
    assert row is not None
    return row


def _commands(home: Home) -> list[dict[str, Any]]:
    """Commands in `events` after the fixture's trigger, with their decoded detail."""
    found = [e for e in home.events() if e["kind"] == "command"]
    assert json.loads(str(found[0]["detail"]))["command"] == "trigger"  # the fixture's, by the CLI
    return [{**e, "detail": json.loads(str(e["detail"]))} for e in found[1:]]


async def test_grid_starts_on_the_latest_failure_with_timeline_and_durations(
    home: Home, failed_run: str
) -> None:
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open_dag(pilot, app, home, failed_run)
            grid = screen.run_grid
            glyphs = [_cell(screen, failed_run, t) for t in TASKS]
            assert glyphs == ["✔", "✔", "✘", "⊘", "⊘"]
            assert _header(screen, failed_run).plain.strip() == "✘"  # the run's state
            assert grid.selected() == (failed_run, "transform")
            # durations: one sparkline per task, blocks then the latest duration
            assert _header(screen, "durations").plain == "durations"
            spark = grid.get_cell("flaky", "durations").plain
            assert any(block in spark for block in "▁▂▃▄▅▆▇█")
            assert spark.strip().endswith("s")
            # run details of the run under the cursor
            details = str(screen.query_one("#run-details").render())
            assert failed_run in details
            assert "failed" in details
            assert "conf" in details
            # the timeline: one bar per attempt, so the retried task has two
            timeline = screen.timeline.text.plain
            assert "flaky #1" in timeline
            assert "flaky #2" in timeline
            assert "transform #1" in timeline
            assert "transform #2" not in timeline
            assert "load #" not in timeline  # upstream_failed: never attempted
            await pilot.press("escape")
            assert isinstance(app.screen, DagsScreen)


async def test_r_retries_the_failed_task_and_the_screen_follows_by_itself(
    home: Home, failed_run: str, scheduler: subprocess.Popen[str], attached: Dashboard
) -> None:
    """Attached to a scheduler in another process: nothing nudges the screen but the poll."""
    app = attached
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_dag(pilot, app, home, failed_run)
        await pilot.press("r")
        await settle(pilot)
        row = await wait_for(
            pilot,
            lambda: (r := _state(home, failed_run, "transform"))["try_number"] == 2 and r,
            what="the second try of transform",
        )
        assert row["state"] in ("running", "success")
        # transform now succeeds, so load and report (cleared with it) run: the grid shows it
        await wait_for(
            pilot,
            lambda: [_cell(screen, failed_run, t) for t in TASKS] == ["✔"] * 5,
            what="the grid to show the rerun's outcome",
        )
        await wait_for(pilot, lambda: _header(screen, failed_run).plain == " ✔")
    (command,) = _commands(home)
    assert command["actor"] == "dashboard:test"
    assert command["detail"]["command"] == "clear"
    assert command["detail"]["args"]["task_regex"] == "^(transform|load|report)$"
    assert command["run_id"] == failed_run


async def test_c_clears_with_the_downstream_toggle(home: Home, failed_run: str) -> None:
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await _open_dag(pilot, app, home, failed_run)
            await pilot.press("c")
            listing = str(app.screen.query_one("#clear-list").render())
            assert "transform" in listing
            assert "load" in listing
            assert "report" in listing
            await pilot.press("d")  # downstream off: transform alone
            listing = str(app.screen.query_one("#clear-list").render())
            assert "transform" in listing
            assert "load" not in listing
            await pilot.press("y")
            await settle(pilot)
            await wait_for(
                pilot,
                lambda: _state(home, failed_run, "transform")["state"] == "success",
                what="transform to run again",
            )
    assert _state(home, failed_run, "transform")["try_number"] == 2
    assert _state(home, failed_run, "load")["state"] == "upstream_failed"  # not cleared
    reset = [
        e
        for e in home.events(run_id=failed_run)
        if e["kind"] != "command"
        and e["new_state"] == "none"
        and str(e["actor"]).startswith("dashboard:test")
    ]
    assert [e["task_id"] for e in reset] == ["transform"]
    (command,) = _commands(home)
    assert command["detail"]["args"]["task_regex"] == "^(transform)$"


async def test_m_marks_success_then_t_triggers_and_p_pauses(home: Home, failed_run: str) -> None:
    seen: list[Any] = []
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
            screen = await _open_dag(pilot, app, home, failed_run)
            await pilot.press("m", "s")
            await settle(pilot)
            await wait_for(pilot, lambda: _cell(screen, failed_run, "transform") == "✔")
            assert _state(home, failed_run, "transform")["state"] == "success"
            await pilot.press("t")
            await pilot.press(*'{"n": 2}', "enter")
            await settle(pilot)
            # the cursor was on the newest run, so it follows the new one
            new_run_id = await wait_for(
                pilot,
                lambda: (
                    (selected := screen.run_grid.selected())
                    and selected[0] != failed_run
                    and selected[0]
                ),
                what="the triggered run in the grid",
            )
            assert len(screen.run_grid.columns) == 2 + 2  # task, durations, two runs
            # the timeline needs that run's attempts: the screen asked the App for a re-read
            assert any(isinstance(m, RefreshRequested) for m in seen)
            await wait_for(
                pilot,
                lambda: screen.data is not None and screen.data.attempts_run_id == new_run_id,
                what="the new run's attempts",
            )
            await pilot.press("p")
            await settle(pilot)
            await wait_for(pilot, lambda: "paused" in str(screen.query_one("#dag-title").render()))
    store = home.store()
    try:
        dag = reads.dag(store.conn, "etl")
        assert dag is not None
        assert dag["is_paused"] is True
        new_run = reads.run(store.conn, "etl")
        assert new_run is not None
        assert new_run["conf"] == {"n": 2}
    finally:
        store.close()
    assert [c["detail"]["command"] for c in _commands(home)] == ["mark", "trigger", "set_paused"]
    assert {c["actor"] for c in _commands(home)} == {"dashboard:test"}


async def test_g_shows_the_graph_with_every_task_and_edge(home: Home, failed_run: str) -> None:
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open_dag(pilot, app, home, failed_run)
            await pilot.press("g")
            assert _view(screen) == "graph"
            assert _focused(app) is screen.graph_view
            lines = screen.graph_view.text.plain.splitlines()
            for task_id in TASKS:
                assert any(task_id in line for line in lines), task_id
            assert any("──▶" in line for line in lines)
            for source, target in EDGES:
                assert _has_edge(lines, source, target), (source, target, lines)
            assert "✘ transform" in screen.graph_view.text.plain  # states of the selected run
            await pilot.press("down")  # in graph order: transform -> load
            await wait_for(pilot, lambda: screen.run_grid.selected() == (failed_run, "load"))
            await pilot.press("g")
            assert _view(screen) == "run-grid"
            assert _focused(app) is screen.run_grid


def _focused(app: Dashboard) -> object:
    return app.focused


def _view(screen: DagScreen) -> str | None:
    return screen.query_one("#dag-views", ContentSwitcher).current


def _has_edge(lines: list[str], source: str, target: str) -> bool:
    """`source ──▶ target` on the task's line, or `├─▶ target` / `└─▶ target` below it."""
    edges: set[tuple[str | None, str]] = set()
    current: str | None = None
    for line in lines:
        words = line.split()
        if not words or words[0].startswith("──") or "layer" in words:
            continue
        if words[0][0] in "├└":
            edges.add((current, words[-1]))
            continue
        current = words[1]  # after the state glyph
        if "▶" in line:
            edges.add((current, words[-1]))
    return (source, target) in edges


async def test_small_terminal_keys_in_footer_and_palette(home: Home, failed_run: str) -> None:
    """At 80x24 the grid, the details and the cursor fit; every key is in the palette."""
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open_dag(pilot, app, home, failed_run)
            assert screen.run_grid.selected() == (failed_run, "transform")
            assert screen.run_grid.size.height >= len(TASKS) + 1
            assert screen.query_one("#run-details").size.width >= 30
            titles = await palette_titles(app)
            for name in ("Move", "Open", "Back", "Log", "Graph", "Trigger", "Pause/unpause"):
                assert any(t.startswith(name) for t in titles), (name, titles)
            for name in ("Clear", "Retry", "Mark"):
                assert any(t.startswith(name) for t in titles), (name, titles)
            await pilot.press("enter")
            opened = await wait_for(pilot, lambda: app.screen is not screen and app.screen)
            assert isinstance(opened, TaskInstanceScreen)
            assert (opened.dag_id, opened.run_id, opened.task_id) == (
                "etl",
                failed_run,
                "transform",
            )
            await wait_for(pilot, lambda: _focused(app) is opened.attempts_table)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            await pilot.press("l")  # the same task instance, with its log focused
            logged = await wait_for(pilot, lambda: app.screen is not screen and app.screen)
            assert isinstance(logged, TaskInstanceScreen)
            assert (logged.task_id, logged.focus_log) == ("transform", True)
            await wait_for(pilot, lambda: _focused(app) is logged.log_view, what="the log")


async def test_a_dataset_triggered_run_names_the_updates_that_triggered_it(home: Home) -> None:
    """t on the producer: its task updates the dataset, which triggers a run of the consumer;
    the consumer's run details name the update (dataset, DAG and task)."""
    home.write_dag("data.py", DATASETS)
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, DagsScreen) and app.screen.dag_table.row_count == 2,
                what="the DAG list",
            )
            await pilot.press("t", "enter")  # the cursor starts on make_orders
            await settle(pilot)
            store = home.store()
            try:
                run = await wait_for(
                    pilot, lambda: reads.run(store.conn, "report"), what="the report run"
                )
            finally:
                store.close()
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DagScreen))
            screen = app.screen
            assert isinstance(screen, DagScreen)
            await wait_for(pilot, lambda: screen.run_grid.selected() is not None, what="the grid")
            details = str(screen.query_one("#run-details", Static).render())
            assert run["run_id"] in details
            assert "updated  file:///data/orders.csv by make_orders.write" in details
            title = str(screen.query_one("#dag-title", Static).render())
            assert "schedule on datasets file:///data/orders.csv" in title
