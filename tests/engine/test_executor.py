"""The local executor on a real fork server: what becomes of an attempt handed to it once the
server has died."""

from __future__ import annotations

import os
import queue
import signal

from flowtui.execution.base import (
    AttemptExited,
    AttemptRequest,
    ExecutorDied,
    ExecutorEvent,
)
from flowtui.execution.local.executor import LocalExecutor
from flowtui.loading.parse import ParseExit, ParseRequest
from flowtui.states import TaskState
from tests.conftest import Home, attempt_info


def test_an_attempt_submitted_after_the_fork_server_died_is_reported_exited(home: Home) -> None:
    events: queue.Queue[ExecutorEvent] = queue.Queue()
    executor = LocalExecutor(home.settings)
    executor.listen(events.put)
    executor.start()
    try:
        assert executor._server_pid is not None
        os.kill(executor._server_pid, signal.SIGKILL)
        assert isinstance(events.get(timeout=20), ExecutorDied)
        info = attempt_info(home.settings.db_path, "d", "t")
        executor.submit(AttemptRequest(info, str(home.dags / "d.py"), str(home.path / "t.log")))
        exited = events.get(timeout=5)
        assert isinstance(exited, AttemptExited)
        assert (exited.key, exited.exit_code, exited.outcome) == (info.key, -signal.SIGKILL, None)
        assert events.empty()
        assert executor.stop_attempt(info.key, force=True) is False
    finally:
        executor.stop()


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
