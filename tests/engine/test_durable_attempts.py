"""Attempts outlive the processes that watch them, for real: a scheduler killed with SIGKILL
(alone, or with its fork server) while a task runs; the task finishing while no scheduler is
alive; the fork server killed alone; the window between the fork and the `running` write; a
dead attempt's PID reused by an unrelated process. Each ends with the task's true outcome, each
try run once, and nobody else's process touched."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from flowtui.store import reads
from tests.conftest import FLOWTUI, Home, has_exited, wait_until
from tests.namespaces import in_namespace, rerun_in_namespace

WORK_DAG = """
    import time
    from datetime import datetime, timedelta
    from pathlib import Path
    from flowtui import DAG, BashOperator, PythonOperator

    def work():
        with open({runs!r}, "a") as runs:
            runs.write("ran\\n")
        Path({pid_file!r}).write_text(str(__import__("os").getpid()))
        time.sleep({seconds})
        return {{"rows": 42}}

    with DAG("durable", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        first = PythonOperator(task_id="work", python_callable=work, retries={retries},
                               retry_delay=timedelta(seconds=0.2))
        after = BashOperator(task_id="after", bash_command="echo after")
        first >> after
"""


class Scheduler:
    """A real `flowtui scheduler` in a session of its own (so its group can be killed)."""

    def __init__(self, home: Home) -> None:
        self.process = subprocess.Popen(
            [FLOWTUI, "scheduler"],
            env=home.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("flowtui scheduler:"), line

    def fork_server(self) -> psutil.Process:
        (server,) = psutil.Process(self.process.pid).children()
        return server

    def kill(self, *, whole_group: bool) -> None:
        if whole_group:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def schedulers(home: Home) -> Iterator[list[Scheduler]]:
    started: list[Scheduler] = []
    yield started
    for scheduler in started:
        scheduler.stop()


def _setup(home: Home, tmp_path: Path, seconds: float, retries: int = 0) -> tuple[Path, Path]:
    runs, pid_file = tmp_path / "runs", tmp_path / "pid"
    home.write_dag(
        "durable.py",
        WORK_DAG.format(runs=str(runs), pid_file=str(pid_file), seconds=seconds, retries=retries),
    )
    return runs, pid_file


def _trigger(home: Home) -> str:
    done = home.run("dags", "trigger", "durable")
    assert done.returncode == 0, done.stderr
    return home.latest_run_id("durable")


def _task_pid(pid_file: Path) -> int:
    pid: int = wait_until(
        lambda: int(pid_file.read_text()) if pid_file.exists() and pid_file.read_text() else 0,
        what="the task to start",
    )
    return pid


def _attempts(home: Home, run_id: str, task_id: str) -> list[tuple[int, str]]:
    store = home.store()
    try:
        rows = store.conn.execute(
            "SELECT try_number, state FROM attempts WHERE dag_id = 'durable' AND run_id = ? "
            "AND task_id = ? ORDER BY try_number",
            (run_id, task_id),
        ).fetchall()
    finally:
        store.close()
    return [(r[0], r[1]) for r in rows]


def _xcom(home: Home, run_id: str) -> object:
    store = home.store()
    try:
        row = store.conn.execute(
            "SELECT value FROM xcom WHERE dag_id = 'durable' AND run_id = ? AND task_id = 'work'",
            (run_id,),
        ).fetchone()
    finally:
        store.close()
    return None if row is None else row[0]


def _wait_for_success(home: Home, run_id: str) -> None:
    wait_until(
        lambda: home.runs_show("durable", run_id)["state"] == "success",
        timeout=30,
        what="the run to succeed",
        seen=lambda: str(home.runs_show("durable", run_id)),
    )


@pytest.mark.parametrize("whole_group", [False, True], ids=["scheduler", "scheduler-group"])
def test_a_task_that_ends_while_no_scheduler_lives_keeps_its_outcome(
    home: Home, tmp_path: Path, schedulers: list[Scheduler], whole_group: bool
) -> None:
    """SIGKILL of the scheduler during a 3 s task: the task runs on and succeeds with nobody
    watching; the restarted scheduler records that success with its XCom and runs the
    downstream task. The try ran once."""
    runs, pid_file = _setup(home, tmp_path, seconds=3, retries=2)
    schedulers.append(Scheduler(home))
    run_id = _trigger(home)
    task_pid = _task_pid(pid_file)
    schedulers[0].kill(whole_group=whole_group)
    assert not has_exited(task_pid)
    wait_until(lambda: has_exited(task_pid), timeout=15, what="the task to finish unwatched")
    assert home.task_state("durable", run_id, "work") == "running"

    schedulers.append(Scheduler(home))
    _wait_for_success(home, run_id)
    assert _attempts(home, run_id, "work") == [(1, "success")]
    assert _xcom(home, run_id) == '{"rows": 42}'
    assert home.task_state("durable", run_id, "after") == "success"
    assert runs.read_text() == "ran\n"


def test_a_task_still_running_is_adopted_by_the_next_scheduler(
    home: Home, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    """The restarted scheduler finds the attempt still running: it watches it (same PID, still
    `running`, not killed, not queued again) and records its success when it ends."""
    runs, pid_file = _setup(home, tmp_path, seconds=3)
    schedulers.append(Scheduler(home))
    run_id = _trigger(home)
    task_pid = _task_pid(pid_file)
    schedulers[0].kill(whole_group=True)
    schedulers.append(Scheduler(home))
    store = home.store()
    try:
        row = reads.task_instance(store.conn, "durable", run_id, "work")
    finally:
        store.close()
    assert row is not None
    assert (row["state"], row["pid"], row["try_number"]) == ("running", row["pid"], 1)
    assert not has_exited(task_pid)
    _wait_for_success(home, run_id)
    assert _attempts(home, run_id, "work") == [(1, "success")]
    assert _xcom(home, run_id) == '{"rows": 42}'
    assert runs.read_text() == "ran\n"


def test_the_fork_server_killed_alone_loses_nothing(
    home: Home, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    """The OOM killer picks the fork server: the running task goes on and succeeds, the
    scheduler says so in its log and starts a new fork server, which runs the downstream."""
    runs, pid_file = _setup(home, tmp_path, seconds=2)
    scheduler = Scheduler(home)
    schedulers.append(scheduler)
    run_id = _trigger(home)
    task_pid = _task_pid(pid_file)
    server = scheduler.fork_server()
    server.kill()
    _wait_for_success(home, run_id)
    assert not has_exited(scheduler.process.pid)
    assert _attempts(home, run_id, "work") == [(1, "success")]
    assert runs.read_text() == "ran\n"
    assert has_exited(task_pid)
    log = (home.path / "logs" / "scheduler.log").read_text()
    assert f"the fork server (pid {server.pid}) died; started a new one" in log


def test_an_attempt_caught_between_fork_and_running_runs_once(
    home: Home, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    """The scheduler is frozen (SIGSTOP) the moment the attempt's process appears, before it
    can record `running`, and killed with its fork server; the next scheduler neither loses
    the attempt nor runs it a second time."""
    runs, _ = _setup(home, tmp_path, seconds=1)
    scheduler = Scheduler(home)
    schedulers.append(scheduler)
    server = scheduler.fork_server()
    known = {c.pid for c in server.children()}
    done = home.start("dags", "trigger", "durable")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        new = {c.pid for c in server.children()} - known
        if not new:
            continue
        os.kill(scheduler.process.pid, signal.SIGSTOP)
        # A new child may be a DAG-file parse rather than the attempt: only the attempt claims
        # a ticket (which it does on its own, the scheduler frozen); else thaw and look again.
        if _wait_for(lambda: list(home.path.glob("logs/durable/*/work/attempt=1.ticket")), 2.0):
            break
        known |= new
        os.kill(scheduler.process.pid, signal.SIGCONT)
    else:
        pytest.fail("the attempt's process never appeared")
    # Killed frozen: the scheduler may not even have answered the trigger, whose command then
    # ends on the closed connection.
    os.killpg(scheduler.process.pid, signal.SIGKILL)
    scheduler.process.wait()
    done.wait(timeout=30)
    run_id = home.latest_run_id("durable")
    schedulers.append(Scheduler(home))
    _wait_for_success(home, run_id)
    assert runs.read_text() == "ran\n"
    assert _attempts(home, run_id, "work") == [(1, "success")]


def test_a_reused_pid_is_never_signalled(
    home: Home, tmp_path: Path, schedulers: list[Scheduler], request: pytest.FixtureRequest
) -> None:
    """An attempt dies with its scheduler and fork server (the OOM killer takes all three);
    an unrelated process, leading its own group, gets the attempt's PID. The next scheduler
    records the attempt as failed and retries it, and the unrelated process lives on.

    Choosing a PID needs a PID namespace of our own: the test runs itself again inside one."""
    if not in_namespace():
        rerun_in_namespace(request.node.nodeid, "--pid", "--fork", "--mount-proc")
        return
    runs, pid_file = _setup(home, tmp_path, seconds=30, retries=1)
    scheduler = Scheduler(home)
    schedulers.append(scheduler)
    run_id = _trigger(home)
    task_pid = _task_pid(pid_file)
    scheduler.kill(whole_group=True)
    os.killpg(task_pid, signal.SIGKILL)
    wait_until(lambda: has_exited(task_pid), what="the attempt to die")
    bystander = _process_with_pid(task_pid)
    try:
        pid_file.unlink()
        schedulers.append(Scheduler(home))
        retry_pid = _task_pid(pid_file)
        assert retry_pid != task_pid
        assert bystander.poll() is None
        assert _attempts(home, run_id, "work")[0] == (1, "failed")
        assert runs.read_text() == "ran\nran\n"
    finally:
        bystander.kill()
        bystander.wait()


def _wait_for(predicate: Callable[[], object], seconds: float) -> bool:
    """Whether `predicate` turns true within `seconds` (unlike `wait_until`, not a failure)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def _process_with_pid(pid: int) -> subprocess.Popen[bytes]:
    """Start `sleep` in a session of its own with exactly PID `pid` (reused), by setting the
    namespace's last-PID counter just below it."""
    last_pid = Path("/proc/sys/kernel/ns_last_pid")
    for _ in range(50):
        last_pid.write_text(str(pid - 1))
        process = subprocess.Popen(["sleep", "60"], start_new_session=True)
        if process.pid == pid:
            return process
        process.kill()
        process.wait()
    pytest.skip(f"could not get PID {pid} back (other processes took it)")


CLEARED_DAG = """
    import time
    from datetime import datetime
    from pathlib import Path
    from flowtui import DAG, PythonOperator

    def work(ti):
        Path({pid_file!r}).write_text(str(__import__("os").getpid()))
        if ti.try_number == 1:
            time.sleep(60)

    with DAG("durable", start_date=datetime(2024, 1, 1), schedule=None):
        PythonOperator(task_id="work", python_callable=work)
"""


def test_a_task_cleared_while_no_scheduler_watches_is_stopped_and_run_again(
    home: Home, tmp_path: Path, schedulers: list[Scheduler]
) -> None:
    """A task is cleared (offline) while its attempt runs with no scheduler alive: the clear
    stops the attempt (its PID checked against its start), and the next scheduler records
    that try as failed and runs the task again."""
    pid_file = tmp_path / "pid"
    home.write_dag("durable.py", CLEARED_DAG.format(pid_file=str(pid_file)))
    schedulers.append(Scheduler(home))
    run_id = _trigger(home)
    first = _task_pid(pid_file)
    schedulers[0].kill(whole_group=True)
    cleared = home.run("tasks", "clear", "durable", "--run", run_id, "--task", "^work$")
    assert cleared.returncode == 0, cleared.stderr
    assert home.task_state("durable", run_id, "work") == "restarting"
    wait_until(lambda: has_exited(first), what="the cleared attempt to be stopped")
    pid_file.unlink()
    schedulers.append(Scheduler(home))
    _wait_for_success(home, run_id)
    assert _attempts(home, run_id, "work") == [(1, "failed"), (2, "success")]
