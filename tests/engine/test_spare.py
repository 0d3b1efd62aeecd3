"""The fork server's spare (`execution.local.spare`), on a real fork server: the next attempt's
process is forked ahead and takes the next job; it never runs a DAG file's old version; it is
retired when no job comes, and it does not outlive a fork server that was killed."""

from __future__ import annotations

import os
import queue
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from flowtui.execution import ticket
from flowtui.execution.base import AttemptExited, AttemptRequest, AttemptStarted, ExecutorEvent
from flowtui.execution.local.executor import LocalExecutor
from flowtui.execution.local.spare import SPARE_IDLE
from flowtui.execution.process_groups import is_same_process
from flowtui.states import TaskState
from tests.conftest import Home, attempt_info, has_exited, wait_until

DAG = """
    import time
    from flowtui import DAG, PythonOperator

    VERSION = {version}

    def version():
        return VERSION

    def nap():
        time.sleep(3)

    with DAG("d", schedule=None):
        PythonOperator(task_id="version", python_callable=version)
        PythonOperator(task_id="nap", python_callable=nap)
"""


@pytest.fixture
def executor(home: Home) -> Iterator[tuple[LocalExecutor, queue.Queue[ExecutorEvent]]]:
    home.write_dag("d.py", DAG.format(version=1))
    events: queue.Queue[ExecutorEvent] = queue.Queue()
    executor = LocalExecutor(home.settings)
    executor.listen(events.put)
    executor.start()
    yield executor, events
    executor.stop()


def _request(home: Home, task_id: str, try_number: int) -> AttemptRequest:
    info = attempt_info(home.settings.db_path, "d", task_id, try_number=try_number, max_tries=9)
    log = home.settings.attempt_log_path("d", info.run_id, task_id, try_number)
    return AttemptRequest(
        info, str(home.dags / "d.py"), str(log), preload="server", queued_at=f"q{try_number}"
    )


def _exited(events: queue.Queue[ExecutorEvent]) -> AttemptExited:
    while True:
        event = events.get(timeout=20)
        if isinstance(event, AttemptExited):
            return event


def _started(events: queue.Queue[ExecutorEvent]) -> AttemptStarted:
    while True:
        event = events.get(timeout=20)
        if isinstance(event, AttemptStarted):
            return event


def _spare_after_first_attempt(
    home: Home, local: LocalExecutor, events: queue.Queue[ExecutorEvent]
) -> psutil.Process:
    """Run try 1 of "version" (alone: a processor idles) and return the spare forked after it."""
    local.submit(_request(home, "version", 1))
    first = _exited(events)
    assert first.outcome is not None
    assert first.outcome.xcom == {"return_value": 1}
    spares: list[psutil.Process] = wait_until(
        lambda: _children(local), what="a spare after the first attempt"
    )
    assert len(spares) == 1
    return spares[0]


def _children(executor: LocalExecutor) -> list[psutil.Process]:
    assert executor._server_pid is not None
    return psutil.Process(executor._server_pid).children()


def test_the_next_attempt_runs_in_the_spare_forked_ahead(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    spare = _spare_after_first_attempt(home, local, events)
    local.submit(_request(home, "version", 2))
    ended = _exited(events)
    assert ended.outcome is not None
    assert ended.outcome.state is TaskState.SUCCESS
    assert ended.outcome.xcom == {"return_value": 1}
    state = ticket.inspect(ticket.ticket_path(_request(home, "version", 2).log_path), "q2")
    assert state is not None
    assert state.pid == spare.pid, "the second attempt did not run in the spare"


def test_a_spare_never_runs_a_dag_file_s_old_version(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    _spare_after_first_attempt(home, local, events)  # it holds version 1
    path = home.write_dag("d.py", DAG.format(version=2))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # a new mtime for sure
    local.submit(_request(home, "version", 2))
    ended = _exited(events)
    assert ended.outcome is not None
    assert ended.outcome.xcom == {"return_value": 2}


def test_a_spare_that_gets_no_job_is_retired(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    spare = _spare_after_first_attempt(home, local, events)
    time.sleep(SPARE_IDLE)
    wait_until(lambda: has_exited(spare.pid), timeout=5, what="the idle spare retired")
    assert _children(local) == []
    local.submit(_request(home, "version", 2))  # forked as it comes, as before any spare
    ended = _exited(events)
    assert ended.outcome is not None
    assert ended.outcome.state is TaskState.SUCCESS


def test_an_attempt_in_a_spare_is_stopped_and_recognised_by_its_start(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    _spare_after_first_attempt(home, local, events)
    request = _request(home, "nap", 2)
    local.submit(request)
    started = _started(events)
    path = ticket.ticket_path(request.log_path)

    def start_record() -> ticket.TicketState | None:
        # The claim locks the ticket, then writes the start record: wait for the record.
        state = ticket.inspect(path, "q2")
        return state if state is not None and state.pid is not None else None

    state = wait_until(start_record, what="the claim's start record")
    assert state.pid == started.pid
    assert is_same_process(started.pid, state.started_at) is True
    assert is_same_process(started.pid, started.at.timestamp()) is True
    assert local.stop_attempt(request.key, force=False)
    ended = _exited(events)
    assert ended.exit_code == -signal.SIGTERM


def test_a_spare_does_not_outlive_a_killed_fork_server(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    spare = _spare_after_first_attempt(home, local, events)
    assert local._server_pid is not None
    os.kill(local._server_pid, signal.SIGKILL)
    wait_until(lambda: has_exited(spare.pid), timeout=5, what="the spare gone with its server")


PIDS_CGROUPS = Path("/sys/fs/cgroup/pids")


@pytest.fixture
def pids_cgroup() -> Iterator[Path]:
    """A cgroup (v1 pids controller) of our own, removed afterwards; skipped where there is
    none to make (not root, or a machine without that controller)."""
    group = PIDS_CGROUPS / f"flowtui-test-{os.getpid()}"
    try:
        group.mkdir()
    except OSError as exc:
        pytest.skip(f"no pids cgroup can be made here ({exc.strerror})")
    yield group
    for pid in (group / "cgroup.procs").read_text().split():  # back to where the test runs
        (PIDS_CGROUPS / "cgroup.procs").write_text(pid)
    group.rmdir()


def test_a_spare_that_cannot_be_forked_is_only_missed(
    home: Home,
    executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]],
    pids_cgroup: Path,
) -> None:
    """No process left for a spare (fork fails with EAGAIN): the server goes on without one,
    rather than dying on it and being replaced."""
    local, events = executor
    server = local._server_pid
    assert server is not None
    (pids_cgroup / "cgroup.procs").write_text(str(server))
    (pids_cgroup / "pids.max").write_text("2")  # the server and one attempt: no spare
    for try_number in (1, 2, 3):
        local.submit(_request(home, "version", try_number))
        ended = _exited(events)
        assert ended.outcome is not None
        assert ended.outcome.state is TaskState.SUCCESS
    assert local._server_pid == server, "the fork server died and was replaced"
    assert int((pids_cgroup / "pids.events").read_text().split()[1]) > 0, "no fork was refused"
