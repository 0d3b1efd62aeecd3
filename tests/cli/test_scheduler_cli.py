"""`flowtui scheduler --detach|stop|status` with the real command: a detached scheduler runs in a
session of its own with no terminal, says what it does, stops its tasks when stopped, and each
failure is one line with a non-zero exit. And `flowtui` without a terminal refuses at once."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowtui.commands.model import SchedulerStatus
from flowtui.errors import SchedulerAlreadyRunning
from flowtui.scheduling.background import BackgroundScheduler, NoScheduler
from flowtui.scheduling.lock import holder_pid
from flowtui.store import reads
from tests.conftest import Home, has_exited, wait_until

SLEEPER = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("sleeper", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator(task_id="nap", bash_command="sleep 30", retries=1)
"""


@pytest.fixture
def detached(home: Home) -> Iterator[int]:
    """`flowtui scheduler --detach` on the home: its PID; stopped after the test."""
    home.write_dag("sleeper.py", SLEEPER)
    done = home.run("scheduler", "--detach", check=True)
    found = re.search(r"pid (\d+)", done.stdout)
    assert found, done.stdout
    yield int(found.group(1))
    with contextlib.suppress(NoScheduler):
        BackgroundScheduler(home.settings).stop()


def test_detach_starts_a_headless_scheduler_in_its_own_session(home: Home, detached: int) -> None:
    assert holder_pid(home.settings.lock_path) == detached  # it answered before --detach returned
    assert os.getsid(detached) == detached  # a session of its own: no terminal's hang-up
    log = home.path / "logs" / "scheduler.log"
    assert Path(f"/proc/{detached}/fd/0").resolve() == Path(os.devnull)
    assert Path(f"/proc/{detached}/fd/1").resolve() == log
    assert Path(f"/proc/{detached}/fd/2").resolve() == log
    again = home.run("scheduler", "--detach")
    assert again.returncode == 1
    assert again.stderr.startswith(f"flowtui: error: a scheduler already runs on {home.path}")


def test_a_spawned_scheduler_is_the_one_start_waits_for(home: Home) -> None:
    """`flowtui` spawns the scheduler before it loads the dashboard, which then waits for that
    one to answer instead of starting a second."""
    scheduler = BackgroundScheduler(home.settings)
    child = scheduler.spawn()
    try:
        assert scheduler.started_here
        scheduler.ensure_running()  # returns once it answers
        status = scheduler.probe()
        assert isinstance(status, SchedulerStatus)
        assert status.pid == child.pid
        with pytest.raises(SchedulerAlreadyRunning):
            BackgroundScheduler(home.settings).spawn()
    finally:
        assert scheduler.stop() == child.pid


def test_status_says_which_pid_serves_the_home_and_what_runs(home: Home, detached: int) -> None:
    home.run("dags", "trigger", "sleeper", check=True)

    def status() -> dict[str, object]:
        shown: dict[str, object] = json.loads(
            home.run("scheduler", "status", "--output", "json", check=True).stdout
        )
        return shown

    shown = wait_until(lambda: (s := status())["running_attempts"] == 1 and s, what="the nap")
    assert shown["state"] == "running"
    assert shown["pid"] == detached
    assert shown["home"] == str(home.path)
    assert shown["dags_folder"] == str(home.dags)
    table = home.run("scheduler", "status", check=True).stdout
    assert f"pid      {detached}\n" in table
    assert "running  1 task attempt(s)\n" in table
    assert re.search(r"since    \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(0 h 0 min ago\)", table)


def test_stop_stops_the_tasks_and_waits_for_the_scheduler(home: Home, detached: int) -> None:
    home.run("dags", "trigger", "sleeper", check=True)
    nap = wait_until(lambda: _nap_pid(home), what="the nap to run")
    done = home.run("scheduler", "stop")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"flowtui scheduler: pid {detached} on {home.path} stopped\n"
    assert has_exited(detached)  # before stop returned
    assert has_exited(nap)
    assert home.runs_show("sleeper")["tasks"]["nap"]["state"] == "up_for_retry"


def test_with_no_scheduler_stop_and_status_say_so_and_fail(home: Home) -> None:
    for args in (["stop"], ["status"]):
        done = home.run("scheduler", *args)
        assert done.returncode == 1
        assert done.stdout == ""
        assert done.stderr == (
            f"flowtui: error: no scheduler runs on {home.path}; start one with "
            f"`flowtui scheduler --detach` (S in the dashboard)\n"
        )
    done = home.run("scheduler", "status", "--output", "json")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"state": "not running", "home": str(home.path)}


def test_a_scheduler_that_cannot_start_is_one_line_with_its_log(home: Home) -> None:
    home.path.mkdir(parents=True)
    (home.path / "flowtui.db").write_text("not a database, not even close\n" * 100)
    done = home.run("scheduler", "--detach")
    assert done.returncode == 1
    assert done.stderr.startswith("flowtui: error: the scheduler did not start: ")
    assert str(home.path / "flowtui.db") in done.stderr
    assert done.stderr.endswith(f"(all of it in {home.path / 'logs' / 'scheduler.log'})\n")
    assert done.stderr.count("\n") == 1
    assert holder_pid(home.settings.lock_path) is None


def test_the_dashboard_without_a_terminal_refuses_in_one_line(home: Home) -> None:
    done = home.run()  # stdin is /dev/null
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("flowtui: error: the dashboard needs a terminal")
    assert "run `flowtui scheduler`" in done.stderr
    assert done.stderr.count("\n") == 1
    assert "\x1b" not in done.stderr
    assert holder_pid(home.settings.lock_path) is None  # and started no scheduler


def _nap_pid(home: Home) -> int | None:
    store = home.store()
    try:
        run = reads.run(store.conn, "sleeper")
        row = (
            None
            if run is None
            else reads.task_instance(store.conn, "sleeper", run["run_id"], "nap")
        )
    finally:
        store.close()
    return None if row is None or row["state"] != "running" else row["pid"]
