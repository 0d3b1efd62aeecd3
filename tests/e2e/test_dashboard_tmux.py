"""End to end, as a user over SSH: the real `flowtui` in tmux at 100x30, driven with
send-keys and read with capture-pane. A flaky task fails, is found and read from the
keyboard, cleared with `c`, and reruns to success; a dashboard attaches to a running
scheduler; and an SSH drop (`tmux kill-session`) kills only the dashboard: the scheduler it
started finishes the run, and the next `flowtui` attaches to it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flowtui.commands.model import SchedulerStatus
from flowtui.scheduling.background import BackgroundScheduler, NoScheduler
from flowtui.scheduling.lock import holder_pid
from tests.conftest import FLOWTUI, Home, wait_until

pytestmark = pytest.mark.tmux

FLAKY = """
    from datetime import datetime, timedelta
    from flowtui import DAG, PythonOperator

    def flaky(ti):
        print(f"flaky says: try {ti.try_number}")
        if ti.try_number < 2:
            raise RuntimeError("the first try always fails")
        print("flaky says: done")

    with DAG("flaky_e2e", start_date=datetime(2024, 1, 1)) as dag:
        PythonOperator(task_id="flaky", python_callable=flaky, retries=1,
                       retry_delay=timedelta(hours=1))
"""


SLOW = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("slow_e2e", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator(task_id="work", bash_command="sleep 60")
"""


CHAIN = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("chain_e2e", start_date=datetime(2024, 1, 1)) as dag:
        first = BashOperator(task_id="first", bash_command="sleep 5")
        then = BashOperator(task_id="then", bash_command="echo then ran")
        first >> then
"""


class Tmux:
    """One tmux session running a command; keys in, screen text out."""

    def __init__(self, name: str) -> None:
        self.name = name

    def kill(self) -> None:
        """What an SSH drop does to the session: its terminal goes away (SIGHUP)."""
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=True)

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.15)

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The screen, once `text` is on it."""
        screen: str = wait_until(
            lambda: shown if text in (shown := self.screen()) else "",
            timeout,
            interval=0.1,
            what=f"{text!r} on the screen",
            seen=self.screen,
        )
        return screen

    def settled(self, quiet: float = 0.6, timeout: float = 10.0) -> str:
        """The screen, once it has not changed for `quiet` seconds (a scrollbar that appears
        after the first frame narrows the text beside it)."""
        last, since = self.screen(), time.monotonic()
        deadline = since + timeout
        while time.monotonic() < deadline:
            time.sleep(0.1)
            shown = self.screen()
            if shown != last:
                last, since = shown, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return shown
        raise AssertionError(f"the screen kept changing for {timeout} s:\n{last}")


TmuxFactory = Callable[..., Tmux]


@pytest.fixture
def tmux_factory(home: Home) -> Iterator[TmuxFactory]:
    """Starts `flowtui` on the home in a new tmux session (100x30 unless asked), each time it
    is called; the scheduler a dashboard leaves in the background is stopped after the test."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing: .ci/run installs it")
        pytest.skip("tmux is not installed")
    names: list[str] = []

    def start(columns: int = 100, rows: int = 30, no_color: bool = False) -> Tmux:
        name = f"flowtui-{uuid.uuid4().hex[:8]}"
        env = " ".join(
            f"{k}={shlex.quote(v)}"
            for k, v in home.env.items()
            if k.startswith(("FLOWTUI_", "PATH", "HOME", "LANG", "LC_"))
        )
        env += " NO_COLOR=1" if no_color else ""
        command = f"env TERM=xterm-256color {env} {shlex.quote(FLOWTUI)}; sleep 60"
        size = ["-x", str(columns), "-y", str(rows)]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, *size, command],
            check=True,
        )
        names.append(name)
        return Tmux(name)

    yield start
    for name in names:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, capture_output=True)
    with contextlib.suppress(NoScheduler):
        BackgroundScheduler(home.settings).stop()


@pytest.fixture
def tmux(tmux_factory: TmuxFactory) -> Tmux:
    return tmux_factory()


def test_find_read_and_clear_a_flaky_task_from_the_keyboard(home: Home, tmux: Tmux) -> None:
    home.write_dag("flaky.py", FLAKY)
    tmux.wait_for("flaky_e2e")
    tmux.keys("t")
    tmux.wait_for("Trigger a run of flaky_e2e")
    tmux.keys("Enter")
    tmux.wait_for("↻ 1 ")  # the header: one task instance up for retry now
    tmux.keys("Enter")  # the DAG screen, cursor on the latest run's failed task
    tmux.wait_for("timeline")
    tmux.keys("l")  # its log
    tmux.wait_for("the first try always fails")
    tmux.keys("c")
    tmux.wait_for("will be reset and run again")
    tmux.keys("y")
    screen = tmux.wait_for("flaky says: done", timeout=30)
    assert "flaky says: try 2" in screen
    tmux.wait_for("success")
    shown = home.runs_show("flaky_e2e")
    assert shown["state"] == "success"
    flaky = shown["tasks"]["flaky"]
    assert (flaky["state"], flaky["try_number"]) == ("success", 2)
    commands = [e for e in home.events(dag_id="flaky_e2e") if e["kind"] == "command"]
    assert [str(e["actor"]).split(":")[0] for e in commands] == ["dashboard", "dashboard"]


FAILS_ONCE = """
    from datetime import datetime
    from flowtui import DAG, PythonOperator

    def fails_once(ti):
        if ti.try_number < 2:
            raise RuntimeError("the first try always fails")

    with DAG("fails_once_e2e", start_date=datetime(2024, 1, 1)) as dag:
        PythonOperator(task_id="fragile", python_callable=fails_once)
"""

QUIET = """
    from datetime import datetime
    from flowtui import DAG, EmptyOperator

    with DAG("a_quiet_e2e", start_date=datetime(2024, 1, 1)) as dag:
        EmptyOperator(task_id="noop")
"""


def test_the_latest_failure_reruns_in_two_keys_at_80x24_without_colour(
    home: Home, tmux_factory: TmuxFactory
) -> None:
    """Issue 13: from the first frame, `f` (recent failures, the latest on top) then `r`."""
    home.write_dag("fails_once.py", FAILS_ONCE)
    home.write_dag("quiet.py", QUIET)
    scheduler = home.start("scheduler")
    try:
        run_id = _trigger_until_failed(home, "fails_once_e2e", "fragile")
        screen = tmux_factory(80, 24, no_color=True)
        first = screen.wait_for("fails_once_e2e")
        rows = [line for line in first.splitlines() if "_e2e" in line]
        assert "fails_once_e2e" in rows[0]  # failures first, though a_quiet sorts first by id
        assert "now:  ✘ 1 failed" in first
        screen.keys("f")  # key 1
        screen.wait_for("RuntimeError: the first try")
        screen.keys("r")  # key 2
        wait_until(
            lambda: (
                _state_and_try(home.runs_show("fails_once_e2e", run_id)["tasks"]["fragile"])
                == ("success", 2)
            ),
            30,
            what="fragile to rerun and succeed",
        )
        commands = [e for e in home.events(dag_id="fails_once_e2e") if e["kind"] == "command"]
        assert [json.loads(str(e["detail"]))["command"] for e in commands] == ["trigger", "clear"]
        assert str(commands[1]["actor"]).startswith("dashboard:")
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=20)


def test_a_dashboard_attaches_to_a_running_scheduler(home: Home, tmux_factory: TmuxFactory) -> None:
    home.write_dag("slow.py", SLOW)
    scheduler = home.start("scheduler")
    assert scheduler.stdout is not None
    assert scheduler.stdout.readline().startswith("flowtui scheduler:")
    try:
        assert home.run("dags", "trigger", "slow_e2e").returncode == 0
        screen = tmux_factory()
        screen.wait_for(f"scheduler: pid {scheduler.pid}")
        screen.wait_for("slow_e2e")
        screen.keys("Enter")  # the DAG screen; the cursor is on the running task
        screen.wait_for("timeline")
        screen.keys("c")
        screen.wait_for("will be reset and run again")
        screen.keys("y")
        wait_until(
            lambda: home.runs_show("slow_e2e")["tasks"]["work"]["try_number"] == 2,
            what="the scheduler process to rerun the cleared task",
        )
        cleared = [e for e in home.events(dag_id="slow_e2e") if e["kind"] == "command"]
        assert [json.loads(str(e["detail"]))["command"] for e in cleared] == ["trigger", "clear"]
        assert str(cleared[1]["actor"]).startswith("dashboard:")
        screen.keys("q")  # the task runs again: keep it running?
        screen.wait_for("Keep running (enter)")
        screen.keys("Enter")
        screen.wait_for(f"the scheduler (pid {scheduler.pid}) goes on in the background")
        assert scheduler.poll() is None
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=20)


def test_an_ssh_drop_leaves_the_run_going_and_the_next_flowtui_attaches(
    home: Home, tmux_factory: TmuxFactory
) -> None:
    home.write_dag("chain.py", CHAIN)
    first = tmux_factory()
    first.wait_for("scheduler: pid")  # the dashboard started a scheduler in the background
    first.wait_for("chain_e2e")
    pid = holder_pid(home.settings.lock_path)
    first.keys("t")
    first.wait_for("Trigger a run of chain_e2e")
    first.keys("Enter")
    wait_until(
        lambda: home.latest_task_state("chain_e2e", "first") == "running",
        what="the first task to run",
    )
    first.kill()
    wait_until(
        lambda: home.runs_show("chain_e2e")["state"] == "success",
        timeout=30,
        what="the run to finish without its dashboard",
        seen=lambda: json.dumps(home.runs_show("chain_e2e")),
    )
    tasks = home.runs_show("chain_e2e")["tasks"]
    assert {t: _state_and_try(ti) for t, ti in tasks.items()} == {
        "first": ("success", 1),
        "then": ("success", 1),
    }
    status = BackgroundScheduler(home.settings).probe()
    assert isinstance(status, SchedulerStatus)
    assert status.pid == pid  # the same scheduler, now headless
    second = tmux_factory()
    second.wait_for(f"scheduler: pid {pid}")
    second.wait_for("✔ success")  # the run, in the DAG list
    second.keys("Enter")  # its grid: both tasks succeeded
    screen = second.wait_for("timeline")
    grid = [line for line in screen.splitlines() if line.lstrip().startswith(("first", "then"))]
    assert len(grid) == 2, screen
    assert all("✔" in line for line in grid), screen


WIDE_LAST_LINE = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("wide_e2e", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator(
            task_id="wide",
            bash_command=(
                "for i in $(seq 1 40); do echo \\"line $i\\"; done; "
                "printf 'the error at last: %0280d\\\\n' 7; exit 1"
            ),
        )
"""


def test_the_log_pane_shows_a_wide_last_line_at_80x24_without_colour(
    home: Home, tmux_factory: TmuxFactory
) -> None:
    """Issue 13, point 3: a 300-column line last in the log is on screen (the horizontal
    scrollbar took that row), and no toast covers it."""
    home.write_dag("wide.py", WIDE_LAST_LINE)
    scheduler = home.start("scheduler")
    try:
        _trigger_until_failed(home, "wide_e2e", "wide")
        screen = tmux_factory(80, 24, no_color=True)
        screen.wait_for("wide_e2e")
        screen.keys("f")
        screen.wait_for("bash exited with code 1")
        screen.keys("Enter")  # the task instance screen, its log at the end
        screen.wait_for("line 40")
        shown = screen.settled()
        rows = shown.rstrip("\n").splitlines()
        log_rows = [row for row in rows if row.startswith(("line ", "the error at last"))]
        # The last line fills the pane's width: 80 columns, or 78 beside the vertical
        # scrollbar (which takes the two columns, never the row).
        assert log_rows[-2] == "line 40", shown
        assert re.fullmatch(r"the error at last: 0{59,61}", log_rows[-1].rstrip("▃▂▁▄▅▆▇█ ")), shown
        assert rows[-1].startswith(("⏎ Open", " ⏎ Open")), shown  # the footer, right under it
    finally:
        _stop_or_explain(scheduler)


def _trigger_until_failed(home: Home, dag_id: str, task_id: str) -> str:
    """Trigger `dag_id` through the home's running scheduler (once it has loaded the DAG) and
    wait for `task_id` to fail in that run; the run's id."""
    wait_until(
        lambda: home.run("dags", "trigger", dag_id).returncode == 0,
        30,
        interval=0.3,
        what=f"the scheduler to load {dag_id}",
    )
    run_id = home.latest_run_id(dag_id)
    wait_until(
        lambda: home.task_state(dag_id, run_id, task_id) == "failed",
        30,
        what=f"{task_id} to fail",
    )
    return run_id


def _stop_or_explain(scheduler: subprocess.Popen[str]) -> None:
    """SIGTERM the scheduler and wait for it; one that is still there a minute later (seen once
    in CI, at 20 s, under load) is killed and the test fails with what it printed."""
    scheduler.terminate()
    try:
        scheduler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        scheduler.kill()
        output, _ = scheduler.communicate(timeout=10)
        raise AssertionError(f"flowtui scheduler ignored SIGTERM for 60 s:\n{output}") from None


def _state_and_try(task: dict[str, Any]) -> tuple[str, int]:
    """A task of `runs show --output json`, as (state, try_number)."""
    return task["state"], task["try_number"]
