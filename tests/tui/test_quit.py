"""What quitting does to the home's scheduler, a real process of its own: with attempts running,
`q` and `ctrl+q` ask (keep running, the default; stop all; cancel); with none, a scheduler this
dashboard started stops and anyone else's is left alone. And the header: it notices within 2 s
that the scheduler went away, commands then fail saying so, and `S` starts a new one."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from textual.message import Message

from flowtui.commands.model import SchedulerState, SchedulerStatus
from flowtui.scheduling.background import BackgroundScheduler, NoScheduler
from flowtui.scheduling.lock import holder_pid
from flowtui.store import reads
from flowtui.tui.app import Dashboard
from flowtui.tui.messages import CommandFailed
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.quit import QuitDialog
from tests.conftest import Home, wait_until
from tests.tui.conftest import SIZE, wait_for

SLEEPER = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("sleeper", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator(task_id="nap", bash_command="sleep 30")
"""


@pytest.fixture
def started(home: Home) -> Iterator[BackgroundScheduler]:
    """A scheduler started in the background from this process, as `flowtui` starts one;
    stopped after the test if it still runs."""
    home.write_dag("sleeper.py", SLEEPER)
    scheduler = BackgroundScheduler(home.settings)
    scheduler.start()
    yield scheduler
    with contextlib.suppress(NoScheduler):
        BackgroundScheduler(home.settings).stop()


def _dashboard(home: Home, scheduler: BackgroundScheduler) -> Dashboard:
    return Dashboard(home.settings, scheduler.client("dashboard:test"), scheduler)


def _napping(home: Home, scheduler: BackgroundScheduler) -> None:
    """Trigger the sleeper and wait until its attempt runs."""
    home.run("dags", "trigger", "sleeper", check=True)
    wait_until(
        lambda: _running(scheduler) == 1, what="the nap to run", seen=lambda: str(scheduler.probe())
    )


def _running(scheduler: BackgroundScheduler) -> int:
    seen = scheduler.probe()
    return seen.running_attempts if isinstance(seen, SchedulerStatus) else -1


async def _exited(app: Dashboard, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while app.is_running and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not app.is_running, "the dashboard did not exit"


async def test_q_with_a_task_running_offers_to_keep_it_running(
    home: Home, started: BackgroundScheduler
) -> None:
    _napping(home, started)
    app = _dashboard(home, started)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
        await pilot.press("q")
        title = await wait_for(
            pilot,
            lambda: isinstance(app.screen, QuitDialog) and app.screen.query_one(".dialog--title"),
        )
        assert "1 task attempt(s) are running" in str(title.render())
        await pilot.press("escape")  # cancel: nothing happens
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
        assert app.is_running
        await pilot.press("ctrl+q")  # asks the same
        await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog))
        await pilot.press("enter")  # the default: keep running
        await _exited(app)
    assert _running(started) == 1  # the scheduler this dashboard started goes on, and its task
    assert started.started_here


async def test_stop_all_stops_the_scheduler_and_records_why_its_task_ended(
    home: Home, started: BackgroundScheduler
) -> None:
    _napping(home, started)
    app = _dashboard(home, started)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog))
        await pilot.press("s")
        await _exited(app)
    assert holder_pid(home.settings.lock_path) is None
    store = home.store()
    try:
        run = reads.run(store.conn, "sleeper")
        assert run is not None
        (attempt,) = reads.attempts(store.conn, "sleeper", run["run_id"], "nap")
    finally:
        store.close()
    assert attempt["state"] == "failed"
    assert "the scheduler stopped" in str(attempt["cause"])


async def test_with_nothing_running_q_stops_the_scheduler_it_started_and_ctrl_d_does_not(
    home: Home, started: BackgroundScheduler
) -> None:
    app = _dashboard(home, started)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
        await pilot.press("ctrl+d")  # detach: the user asks to keep it
        await _exited(app)
    assert _running(started) == 0
    app = _dashboard(home, started)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
        await pilot.press("q")
        await _exited(app)
    assert holder_pid(home.settings.lock_path) is None


SLOW = """
    import time
    from datetime import datetime
    from flowtui import DAG, BashOperator

    time.sleep(1.5)  # the scheduler answers once it parsed the folder
    with DAG("slow", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        BashOperator(task_id="t", bash_command="true")
"""


async def test_q_while_the_scheduler_it_started_still_starts_waits_for_it_and_stops_it(
    home: Home,
) -> None:
    """`q` right after the first frame, before the scheduler this dashboard started answers:
    the dashboard waits for it (saying so), then stops it, as it would a moment later."""
    home.write_dag("slow.py", SLOW)
    control = BackgroundScheduler(home.settings)
    app = Dashboard(home.settings, control.client("dashboard:test"), control, starts_scheduler=True)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
            assert not isinstance(control.probe(), SchedulerStatus)  # not answering yet
            await pilot.press("q")
            await _exited(app)
        assert (home.path / "logs" / "scheduler.log").exists()  # one was started
        time.sleep(1.0)  # one left running would be seen now, its process started long ago
        assert _schedulers_of(home) == []
        assert holder_pid(home.settings.lock_path) is None
    finally:
        for pid in _schedulers_of(home):  # one left running, even before it took the lock
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).terminate()


async def test_q_leaves_a_scheduler_it_did_not_start_alone(
    home: Home, scheduler: subprocess.Popen[str]
) -> None:
    control = BackgroundScheduler(home.settings)
    app = _dashboard(home, control)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
        await pilot.press("q")
        await _exited(app)
    time.sleep(0.5)
    assert scheduler.poll() is None


async def test_the_header_notices_a_scheduler_that_went_away_and_s_starts_one(
    home: Home, scheduler: subprocess.Popen[str]
) -> None:
    home.write_dag("sleeper.py", SLEEPER)
    control = BackgroundScheduler(home.settings)
    seen: list[Message] = []
    app = _dashboard(home, control)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen) and app.screen)
        header = screen.header_bar
        await wait_for(pilot, lambda: _shows_pid(header.scheduler, scheduler.pid))
        await wait_for(pilot, lambda: screen.dag_table.row_count == 1, what="the sleeper")
        scheduler.terminate()
        scheduler.wait(timeout=30)
        await wait_for(
            pilot,
            lambda: header.scheduler is SchedulerState.NOT_RUNNING,
            timeout=10.0,  # probed every 0.5 s; a loaded CI machine took over 2 s once
            what="the header to say the scheduler is not running",
        )
        assert "S starts one" in str(header.render())
        await pilot.press("p")  # a command meanwhile fails, saying why
        failed = await wait_for(
            pilot, lambda: [m for m in seen if isinstance(m, CommandFailed)], what="the failure"
        )
        assert failed[0].error.startswith(f"no scheduler runs on {home.path}")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(header.scheduler, SchedulerStatus), timeout=30)
        assert control.started_here
        await pilot.press("q")  # nothing runs: the scheduler it started stops with it
        await _exited(app)
    assert holder_pid(home.settings.lock_path) is None


def _schedulers_of(home: Home) -> list[int]:
    """The pids of `flowtui scheduler` processes serving `home`."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        line = process.info["cmdline"] or []
        if "scheduler" in line and str(home.path) in line:
            found.append(process.pid)
    return found


def _shows_pid(seen: Any, pid: int) -> bool:
    return isinstance(seen, SchedulerStatus) and seen.pid == pid
