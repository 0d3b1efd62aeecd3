"""The task-instance screen over runs made by the real engine: attempts with their causes, the
state history from `events`, each attempt's log (and a running one's, live), and the c / r / m
keys checked in the store and in `events`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button

from flowtui.commands.model import Trigger
from flowtui.store import reads
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from tests.conftest import Home
from tests.tui.conftest import SIZE, in_thread, palette_titles, settle, wait_for

FLAKY = """
    from datetime import datetime, timedelta
    from flowtui import DAG, BashOperator

    FAIL_ONCE = (
        'echo trying; if [ -f "$FLOWTUI_HOME/tried" ]; then echo fine now; '
        'else touch "$FLOWTUI_HOME/tried"; echo boom >&2; exit 3; fi'
    )

    with DAG("flaky", start_date=datetime(2024, 1, 1)) as dag:
        wobbly = BashOperator(
            task_id="wobbly", bash_command=FAIL_ONCE, retries=1,
            retry_delay=timedelta(seconds=0.2),
        )
        chatty = BashOperator(
            task_id="chatty", bash_command="for i in $(seq 1 5000); do echo chatty $i; done"
        )
        broken = BashOperator(task_id="broken", bash_command="echo about to fail; exit 4")
        report = BashOperator(task_id="report", bash_command="echo report")
        [wobbly, broken] >> report
"""

LIVE = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    # Three lines, then the rest once the test has seen them (it creates GO), 0.05 s apart.
    with DAG("live", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator(
            task_id="count",
            bash_command=(
                "for i in 1 2 3; do echo line $i; done; "
                "while [ ! -e GO ]; do sleep 0.05; done; "
                "for i in $(seq 4 50); do echo line $i; sleep 0.05; done"
            ),
            cwd=FOLDER,
        )
"""


@pytest.fixture
def flaky_run(home: Home) -> str:
    """The run id of one `flowtui dags test flaky`: wobbly retried once, broken failed."""
    home.write_dag("flaky.py", FLAKY)
    home.run("dags", "test", "flaky")  # exits 1: the run failed
    run = home.runs_show("flaky")
    wobbly = run["tasks"]["wobbly"]
    assert (wobbly["state"], wobbly["try_number"]) == ("success", 2)
    assert run["tasks"]["broken"]["state"] == "failed"
    return str(run["run_id"])


def _screen(app: Dashboard) -> TaskInstanceScreen:
    assert isinstance(app.screen, TaskInstanceScreen)
    return app.screen


def _log(app: Dashboard) -> str:
    return "\n".join(_screen(app).log_view.lines)


def _state(screen: TaskInstanceScreen) -> str | None:
    """The task instance's state as the screen last read it."""
    ti = screen.data["ti"] if screen.data else None
    return None if ti is None else str(ti["state"])


def _rows(table: Any) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def _open(
    pilot: Pilot[Any], run_id: str, task_id: str, dag_id: str = "flaky", **kw: Any
) -> TaskInstanceScreen:
    app = pilot.app
    assert isinstance(app, Dashboard)
    await app.push_screen(TaskInstanceScreen(dag_id, run_id, task_id, **kw))
    screen = _screen(app)
    await wait_for(pilot, lambda: screen.data is not None and screen.data["ti"] is not None)
    return screen


def _commands(home: Home) -> list[dict[str, Any]]:
    """Commands recorded after the fixture's `dags test` created its run."""
    return [e for e in home.events() if e["kind"] == "command" and e["actor"] != "dags-test"]


async def test_attempts_history_and_the_log_of_each_try(home: Home, flaky_run: str) -> None:
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(pilot, flaky_run, "wobbly")
            await wait_for(pilot, lambda: screen.attempts_table.row_count == 2)
            first, second = _rows(screen.attempts_table)
            assert first[0] == "1"
            assert "failed" in first[1]
            assert first[4:] == ["3", "bash exited with code 3"]
            assert second[0] == "2"
            assert "success" in second[1]
            assert "try 2 of 2" in str(screen.query_one("#ti-summary").render())

            changes = [row[1] for row in _rows(screen.history_table)]
            assert "▶ running → ↻ up_for_retry" in changes
            assert changes[-1] == "▶ running → ✔ success"
            assert any("bash exited with code 3" in row[3] for row in _rows(screen.history_table))

            await wait_for(pilot, lambda: "fine now" in _log(app))  # the latest try
            await pilot.press("left_square_bracket")
            await wait_for(pilot, lambda: "boom" in _log(app), what="try 1's log")
            assert "fine now" not in _log(app)
            assert screen.log_pane.try_number == 1
            await pilot.press("right_square_bracket")
            await wait_for(pilot, lambda: "fine now" in _log(app), what="try 2's log")


async def test_a_long_log_opens_at_its_end_and_l_focuses_it(home: Home, flaky_run: str) -> None:
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(pilot, flaky_run, "chatty", focus_log=True)
            view = screen.log_view
            await wait_for(pilot, lambda: "chatty 5000" in view.visible_lines)
            assert app.focused is view
            await pilot.press("tab")
            assert app.focused is not view
            await pilot.press("l", "g")
            assert app.focused is view
            await wait_for(pilot, lambda: "chatty 1" in view.visible_lines)
            await pilot.press("slash", *"chatty 4321", "enter")
            await wait_for(pilot, lambda: "chatty 4321" in view.visible_lines)
            titles = await palette_titles(app)
            for verb in ("Back", "Clear", "Retry", "Mark", "Search", "Next match", "Follow"):
                assert any(t.startswith(verb) for t in titles), (verb, titles)
            await pilot.press("slash", "escape")  # closes the search box, stays on the screen
            assert not screen.log_pane.search_box.display
            assert app.screen is screen
            await pilot.press("escape")
            assert app.screen is not screen


async def test_c_clears_with_the_dialogs_toggles(home: Home, flaky_run: str) -> None:
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await _open(pilot, flaky_run, "broken")
            await pilot.press("c")
            assert "report" in str(app.screen.query_one("#clear-list").render())
            await pilot.press("y")
            await settle(pilot)
    (command,) = _commands(home)
    assert command["actor"] == "dashboard:test"
    detail = json.loads(str(command["detail"]))
    assert detail["command"] == "clear"
    assert detail["args"]["task_regex"] == "^(broken|report)$"
    cleared = {
        e["task_id"]
        for e in home.events(run_id=flaky_run)
        if e["kind"] == "task_state" and "cleared" in str(e["actor"])
    }
    assert cleared == {"broken", "report"}
    assert home.task_state("flaky", flaky_run, "wobbly") == "success"  # upstream stays


async def test_r_retries_a_failed_task_and_the_new_try_shows(home: Home, flaky_run: str) -> None:
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(pilot, flaky_run, "broken")
            await pilot.press("r")
            await settle(pilot)
            await wait_for(pilot, lambda: screen.attempts_table.row_count == 2, what="try 2")
            await wait_for(pilot, lambda: screen.log_pane.try_number == 2)
            await wait_for(pilot, lambda: "about to fail" in _log(app))
    (command,) = _commands(home)
    assert command["actor"] == "dashboard:test"
    assert json.loads(str(command["detail"]))["args"]["task_regex"] == "^(broken|report)$"
    assert home.task_state("flaky", flaky_run, "broken") == "failed"  # it fails again


async def test_m_s_marks_success_through_an_attached_scheduler(
    flaky_run: str, home: Home, attached: Dashboard
) -> None:
    app = attached
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, flaky_run, "broken")
        await pilot.press("m", "s")
        await settle(pilot)
        await wait_for(pilot, lambda: _state(screen) == "success")
        assert "success" in str(screen.query_one("#ti-summary").render())
    assert home.task_state("flaky", flaky_run, "broken") == "success"
    (command,) = _commands(home)
    assert command["actor"] == "dashboard:test"
    assert json.loads(str(command["detail"]))["command"] == "mark"


async def test_m_k_marks_skipped(flaky_run: str, home: Home, attached: Dashboard) -> None:
    app = attached
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, flaky_run, "broken")
        await pilot.press("m")
        assert "skipped (k)" in _buttons(app)
        await pilot.press("k")
        await settle(pilot)
        await wait_for(pilot, lambda: _state(screen) == "skipped")
    assert home.task_state("flaky", flaky_run, "broken") == "skipped"


def _buttons(app: Dashboard) -> list[str]:
    return [str(button.label) for button in app.screen.query(Button)]


async def _trigger(pilot: Pilot[Any], home: Home, dag_id: str) -> dict[str, Any]:
    """Trigger `dag_id` from the dashboard; its run, once the store has it."""
    app = pilot.app
    assert isinstance(app, Dashboard)
    app.send(Trigger(dag_id), f"triggered {dag_id}")
    await settle(pilot)
    store = home.store()
    try:
        run: dict[str, Any] = await wait_for(pilot, lambda: reads.run(store.conn, dag_id))
    finally:
        store.close()
    return run


async def test_a_running_tasks_log_grows_on_screen(home: Home) -> None:
    home.write_dag("live.py", LIVE.replace("FOLDER", repr(str(home.dags))))
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            run = await _trigger(pilot, home, "live")
            screen = await _open(pilot, run["run_id"], "count", dag_id="live")
            view = screen.log_view
            await wait_for(pilot, lambda: "line 3" in view.visible_lines, what="the first lines")
            assert "line 4" not in view.lines
            (home.dags / "GO").touch()  # the task goes on while the screen shows it
            await wait_for(pilot, lambda: "line 45" in view.visible_lines, what="a late line")
            await wait_for(pilot, lambda: _state(screen) == "success")
            await wait_for(pilot, lambda: "line 50" in view.visible_lines)


SENSING = """
    from datetime import datetime
    from flowtui import DAG, PythonSensor

    with DAG("sensing", start_date=datetime(2024, 1, 1)) as dag:
        PythonSensor(task_id="wait", python_callable=lambda: False, mode="reschedule",
                     poke_interval=600)
"""


async def test_a_sensor_between_pokes_shows_as_waiting_with_its_next_poke(home: Home) -> None:
    home.write_dag("sensing.py", SENSING)
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            run = await _trigger(pilot, home, "sensing")
            screen = await _open(pilot, run["run_id"], "wait", dag_id="sensing")
            await wait_for(pilot, lambda: _state(screen) == "up_for_reschedule")
            summary = str(screen.query_one("#ti-summary").render())
            assert "⏲ up_for_reschedule" in summary
            assert "waiting: next poke in 9m" in summary or "waiting: next poke in 10m" in summary


POKING = """
    from datetime import datetime
    from flowtui import DAG, PythonSensor

    with DAG("poking", start_date=datetime(2024, 1, 1)) as dag:
        PythonSensor(task_id="wait", python_callable=lambda: False, poke_interval=600)
"""


async def test_a_poke_mode_sensor_shows_as_sensing_in_the_grid_and_its_screen(
    home: Home,
) -> None:
    from flowtui.tui.screens.dag_runs import DagScreen

    home.write_dag("poking.py", POKING)
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            run = await _trigger(pilot, home, "poking")
            await app.push_screen(DagScreen("poking"))
            dag_screen = app.screen
            assert isinstance(dag_screen, DagScreen)

            def cell() -> str:
                value = dag_screen.run_grid.get_cell("wait", run["run_id"])
                return str(getattr(value, "plain", value))

            await wait_for(pilot, lambda: dag_screen.run_grid.row_count and cell() == " ⏲")
            screen = await _open(pilot, run["run_id"], "wait", dag_id="poking")
            await wait_for(pilot, lambda: _state(screen) == "running")
            summary = str(screen.query_one("#ti-summary").render())
            assert "⏲ sensing (poke mode: holds its slot)" in summary
