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
