"""The local executor on a real fork server: a fork server that dies is replaced and the attempts
it started are adopted; a try is never run twice; an adopted attempt's PID is checked before it
is signalled; a child that cannot start says why."""

from __future__ import annotations

import functools
import os
import queue
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from flowtui.execution.base import (
    AttemptExited,
    AttemptRequest,
    AttemptStarted,
    ExecutorDied,
    ExecutorEvent,
)
from flowtui.execution.local.executor import LocalExecutor
from flowtui.execution.ticket import TicketState
from flowtui.loading.parse import ParseExit, ParseRequest
from flowtui.states import TaskState
from tests.conftest import Home, attempt_info, wait_until
from tests.engine.conftest import Events

SLEEPER = """
    import time
    from datetime import datetime
    from flowtui import DAG, PythonOperator, BashOperator

    def nap(dag_run):
        time.sleep(float(dag_run.conf.get("seconds", 1.5)))
        return "rested"

    with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
        PythonOperator(task_id="t", python_callable=nap)
        BashOperator(task_id="b", bash_command="sleep 1.5; exit 3")
"""


@pytest.fixture
def running(home: Home) -> Iterator[tuple[LocalExecutor, Events]]:
    home.write_dag("d.py", SLEEPER)
    events = Events()
    executor = LocalExecutor(home.settings)
    executor.listen(events.queue.put)
    executor.start()
    yield executor, events
    executor.stop()


def _request(home: Home, task_id: str = "t", **changes: Any) -> AttemptRequest:
    info = attempt_info(home.settings.db_path, "d", task_id, **changes)
    log = home.settings.attempt_log_path("d", info.run_id, task_id, info.try_number)
    return AttemptRequest(
        info, str(home.dags / "d.py"), str(log), runs_bash=task_id == "b", queued_at="q1"
    )


def test_a_new_fork_server_replaces_one_that_died(
    home: Home, running: tuple[LocalExecutor, Events]
) -> None:
    executor, events = running
    first = executor._server_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: executor._server_pid != first, what="a new fork server")
    request = _request(home, conf={"seconds": 0})
    executor.submit(request)
    events.next(AttemptStarted)
    exited = events.next(AttemptExited)
    assert exited.outcome is not None
    assert (exited.outcome.state, exited.outcome.xcom) == (
        TaskState.SUCCESS,
        {"return_value": "rested"},
    )


@pytest.mark.parametrize("task_id", ["t", "b"])
def test_attempts_outlive_their_fork_server_and_their_outcome_is_reported(
    home: Home, running: tuple[LocalExecutor, Events], task_id: str
) -> None:
    """The OOM killer picks the fork server: the attempts it started run on, adopted through
    their tickets, and their true outcome (a return value; bash's exit code) is reported."""
    executor, events = running
    request = _request(home, task_id)
    executor.submit(request)
    started = events.next(AttemptStarted)
    assert executor._server_pid is not None
    os.kill(executor._server_pid, signal.SIGKILL)
    adopted = events.next(AttemptStarted)
    assert adopted.pid == started.pid
    exited = events.next(AttemptExited)
    assert exited.key == request.key
    assert exited.outcome is not None
    if task_id == "t":
        assert exited.outcome.state is TaskState.SUCCESS
        assert dict(exited.outcome.xcom) == {"return_value": "rested"}
    else:
        assert (exited.outcome.state, exited.outcome.exit_code) == (TaskState.FAILED, 3)
    assert events.queue.empty()


def test_a_try_claimed_before_is_not_run_again(
    home: Home, running: tuple[LocalExecutor, Events]
) -> None:
    """The same try handed over twice (a restarted scheduler resuming it) runs once: the
    second is declined and reports the first one's outcome."""
    executor, events = running
    request = _request(home, conf={"seconds": 0})
    executor.submit(request)
    started = events.next(AttemptStarted)
    first = events.next(AttemptExited)
    executor.submit(request)
    events.next(AttemptStarted)  # the second child's, before it declined
    assert events.next(AttemptStarted).pid == started.pid  # the first one's, as recorded
    again = events.next(AttemptExited)
    assert again.outcome == first.outcome._replace(exit_code=0)
    log = Path(request.log_path).read_text()
    assert log.count("attempt 1 of 1") == 1


def test_a_try_that_runs_is_adopted_not_started_again(
    home: Home, running: tuple[LocalExecutor, Events]
) -> None:
    executor, events = running
    request = _request(home)
    executor.submit(request)
    first = events.next(AttemptStarted)
    executor.submit(request)
    events.next(AttemptStarted)  # the second child's, before it declined
    adopted = events.next(AttemptStarted)
    assert adopted.pid == first.pid
    exited = events.next(AttemptExited)
    assert exited.outcome is not None
    assert exited.outcome.state is TaskState.SUCCESS
    assert Path(request.log_path).read_text().count("attempt 1 of 1") == 1


def test_an_adopted_attempt_whose_pid_was_reused_is_never_signalled(
    home: Home, running: tuple[LocalExecutor, Events]
) -> None:
    """After PID reuse, the ticket's start time no longer matches: the process is left alone."""
    executor, _events = running
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        key = _request(home).key
        started = psutil.Process(bystander.pid).create_time() - 10  # the attempt's, earlier
        executor._adopted[key] = TicketState(True, bystander.pid, started)
        executor._pids[key] = bystander.pid
        assert executor.stop_attempt(key, force=True) is False
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_child_that_cannot_start_says_which_job_could_not(home: Home) -> None:
    events: queue.Queue[ExecutorEvent] = queue.Queue()
    parsed: queue.Queue[ParseExit] = queue.Queue()
    executor = LocalExecutor(home.settings)
    executor.listen(events.put)
    executor.start()
    unwritable = "/dev/null/flowtui/child.log"  # the child cannot open its log
    try:
        info = attempt_info(home.settings.db_path, "d", "t")
        executor.submit(AttemptRequest(info, str(home.dags / "d.py"), unwritable))
        executor.parse_file(ParseRequest(str(home.dags / "d.py"), unwritable, 10), parsed.put)
        exited = [events.get(timeout=20), events.get(timeout=20)]
        parse = parsed.get(timeout=20)
    finally:
        executor.stop()
    assert isinstance(exited[1], AttemptExited)
    assert exited[1].exit_code == 70
    assert exited[1].outcome is not None
    assert exited[1].outcome.state == TaskState.FAILED
    assert str(exited[1].outcome.cause).startswith(
        "the attempt could not start: NotADirectoryError: "
    )
    assert parse.exit_code == 70
    assert parse.report is not None
    assert parse.report.specs == ()
    assert parse.report.problem is not None
    assert parse.report.problem.line is None
    assert parse.report.problem.message.startswith(
        "the DAG file's import could not start: NotADirectoryError: "
    )


def test_a_parse_cut_short_by_the_fork_servers_death_is_parsed_again(
    home: Home, running: tuple[LocalExecutor, Events]
) -> None:
    """A DAG file being parsed when the fork server dies is not an import error: the parse
    goes to the new server."""
    executor, _events = running
    slow = home.write_dag(
        "slow_import.py",
        """
        import time
        from datetime import datetime
        from flowtui import DAG, EmptyOperator

        time.sleep(1.0)
        with DAG("slow_import", start_date=datetime(2024, 1, 1), schedule=None):
            EmptyOperator(task_id="t")
        """,
    )
    parsed: queue.Queue[ParseExit] = queue.Queue()
    executor.parse_file(ParseRequest(str(slow), str(home.path / "parse.log"), 30), parsed.put)
    time.sleep(0.3)  # the child imports the file
    assert executor._server_pid is not None
    os.kill(executor._server_pid, signal.SIGKILL)
    done = parsed.get(timeout=30)
    assert done.report is not None
    assert done.report.problem is None
    assert [spec.dag_id for spec in done.report.specs] == ["slow_import"]


def test_a_fork_server_that_keeps_dying_is_given_up(
    home: Home, running: tuple[LocalExecutor, Events]
) -> None:
    """Six deaths within a minute: no seventh server; the executor reports its own end, which
    stops the scheduler (its process exits 1)."""
    executor, events = running
    for _ in range(6):
        server = executor._server_pid
        assert server is not None
        os.kill(server, signal.SIGKILL)
        wait_until(functools.partial(_replaced_or_given_up, executor, server), what="a new one")
    died = events.next(ExecutorDied)
    assert "died 6 times within 60 s; not starting another" in died.reason
    assert executor.is_started is False


def _replaced_or_given_up(executor: LocalExecutor, server: int) -> bool:
    return executor._server_pid != server or executor._job_w is None
