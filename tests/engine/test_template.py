"""Templates (`execution.local.template`): a DAG file whose import starts threads is imported
once per version in a child of the fork server, which forks its attempts; never in the fork
server, and not again in every attempt. On real fork servers: through the executor, and driven
over its pipes where a test needs the server's own view (a short idle time, the scheduler's
end)."""

from __future__ import annotations

import contextlib
import os
import queue
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from flowtui.execution import ticket
from flowtui.execution.base import AttemptExited, AttemptRequest, AttemptStarted, ExecutorEvent
from flowtui.execution.local.executor import LocalExecutor
from flowtui.execution.local.protocol import (
    ExitServer,
    JobEvent,
    JobExited,
    JobStarted,
    LineBuffer,
    RunJob,
    decode_event,
    encode,
    write_all,
)
from flowtui.loading.loader import DagLoader
from flowtui.loading.parse import Preload
from flowtui.states import TaskState
from tests.conftest import Home, attempt_info, has_exited, wait_until

DAG = """
    import os
    import threading
    import time
    from pathlib import Path
    from flowtui import DAG, PythonOperator

    VERSION = {version}
    Path(__file__).with_suffix(".imports").open("a").write(f"{{os.getpid()}}\\n")
    time.sleep({import_seconds})
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()

    def where():
        return {{"version": VERSION, "parent": os.getppid()}}

    def nap():
        time.sleep(1.5)
        return "woke"

    with DAG("threads", schedule=None):
        PythonOperator(task_id="where", python_callable=where)
        PythonOperator(task_id="nap", python_callable=nap)
        PythonOperator(task_id="sleep", python_callable=lambda: time.sleep(60))

    with DAG("quick", schedule=None):
        PythonOperator(task_id="a", python_callable=where) >> PythonOperator(
            task_id="b", python_callable=where
        ) >> PythonOperator(task_id="c", python_callable=where)
"""


def _write(home: Home, version: int = 1, import_seconds: float = 0) -> Path:
    path = home.write_dag("threads.py", DAG.format(version=version, import_seconds=import_seconds))
    stamp = time.time_ns() + version * 10**9  # a new mtime for each version, however fast
    os.utime(path, ns=(stamp, stamp))
    return path


def _imports(home: Home) -> list[int]:
    """The PIDs of the processes that imported the DAG file, in order."""
    path = home.dags / "threads.imports"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _request(home: Home, task_id: str, try_number: int, preload: Preload) -> AttemptRequest:
    info = attempt_info(home.settings.db_path, "threads", task_id, try_number=try_number)
    log = home.settings.attempt_log_path("threads", info.run_id, task_id, try_number)
    file = str(home.dags / "threads.py")
    return AttemptRequest(info, file, str(log), preload=preload, queued_at=f"q{try_number}")


@pytest.fixture
def executor(home: Home) -> Iterator[tuple[LocalExecutor, queue.Queue[ExecutorEvent]]]:
    events: queue.Queue[ExecutorEvent] = queue.Queue()
    executor = LocalExecutor(home.settings)
    executor.listen(events.put)
    executor.start()
    yield executor, events
    executor.stop()


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


def _xcom(exited: AttemptExited) -> Any:
    assert exited.outcome is not None
    assert exited.outcome.state is TaskState.SUCCESS, exited.outcome
    return exited.outcome.xcom["return_value"]


def test_a_file_that_starts_threads_is_imported_once_for_all_its_attempts(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    path = _write(home)
    [parsed] = DagLoader(home.settings, local).parse_files([path])
    assert parsed.error is None
    assert parsed.preload == "template"
    parents = set()
    for try_number in (1, 2, 3):
        local.submit(_request(home, "where", try_number, parsed.preload))
        parents.add(_xcom(_exited(events))["parent"])
    server = psutil.Process(local._server_pid)
    [template] = parents
    assert psutil.Process(template).ppid() == server.pid, "attempts were not forked by a template"
    assert len(_imports(home)) == 2, "imported once to parse, once by the template, never again"
    assert _imports(home)[1] == template
    assert server.num_threads() == 1, "the file's thread ran in the fork server"


def test_a_changed_file_gets_a_new_template_and_the_old_one_ends_after_its_attempt(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    _write(home, version=1)
    local.submit(_request(home, "nap", 1, "template"))  # keeps the old template busy
    napping = _started(events)
    old_template = psutil.Process(napping.pid).ppid()
    _write(home, version=2)
    local.submit(_request(home, "where", 1, "template"))
    where = _xcom(_exited(events))
    assert where["version"] == 2
    assert where["parent"] != old_template
    assert not has_exited(old_template), "the old template left before its attempt ended"
    assert _xcom(_exited(events)) == "woke"
    wait_until(lambda: has_exited(old_template), what="the old template's exit")
    assert len(_imports(home)) == 2  # a template per version


def test_an_attempt_outlives_its_template_and_is_adopted_with_its_outcome(
    home: Home, executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]]
) -> None:
    local, events = executor
    _write(home)
    request = _request(home, "nap", 1, "template")
    local.submit(request)
    started = _started(events)
    os.kill(psutil.Process(started.pid).ppid(), signal.SIGKILL)  # the template
    exited = _exited(events)
    assert exited.key == request.key
    assert _xcom(exited) == "woke"
    state = ticket.inspect(ticket.ticket_path(request.log_path), request.queued_at)
    assert state is not None
    assert state.pid == started.pid, "the try ran twice"


# --- the fork server driven over its pipes ---


class Server:
    """A fork server spawned with a short template idle time, driven over its pipes as the
    executor does."""

    def __init__(self, home: Home, idle: float) -> None:
        home.settings.ensure_home()
        job_r, self.job_w = os.pipe()
        self.event_r, event_w = os.pipe()
        code = (
            "import sys\n"
            "from flowtui.execution.local import template\n"
            f"template.TEMPLATE_IDLE = {idle!r}\n"
            "from flowtui.execution.local.server import serve\n"
            "serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])\n"
        )
        log = str(home.settings.logs_dir / "executor.log")
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(job_r), str(event_w), str(home.dags), log],
            pass_fds=(job_r, event_w),
            start_new_session=True,
        )
        os.close(job_r)
        os.close(event_w)
        self.lines = LineBuffer()
        self.pending: list[JobEvent] = []

    def run(self, job: int, request: AttemptRequest) -> None:
        write_all(self.job_w, encode(RunJob.of(job, request)))

    def next_event(self, timeout: float = 20) -> JobEvent:
        deadline = time.monotonic() + timeout
        while not self.pending:
            left = deadline - time.monotonic()
            assert left > 0, "no event from the fork server"
            if select.select([self.event_r], [], [], left)[0]:
                chunk = os.read(self.event_r, 1 << 16)
                assert chunk, "the fork server closed its event pipe"
                self.pending.extend(decode_event(line) for line in self.lines.feed(chunk))
        return self.pending.pop(0)

    def close(self) -> None:
        for fd in (self.job_w, self.event_r):
            if fd >= 0:
                os.close(fd)
        self.job_w = self.event_r = -1


@pytest.fixture
def server(home: Home) -> Iterator[Server]:
    server = Server(home, idle=0.5)
    yield server
    if server.job_w >= 0:
        with contextlib.suppress(OSError):  # it exited already
            write_all(server.job_w, encode(ExitServer()))
    server.close()
    server.process.wait(timeout=10)


def _templates(server: Server) -> list[psutil.Process]:
    return psutil.Process(server.process.pid).children()


def test_a_template_without_attempts_ends_after_its_idle_time(home: Home, server: Server) -> None:
    _write(home)
    server.run(1, _request(home, "where", 1, "template"))
    started = server.next_event()
    assert isinstance(started, JobStarted)
    assert isinstance(server.next_event(), JobExited)
    (template,) = (p.pid for p in _templates(server))  # the one that forked the attempt
    wait_until(lambda: has_exited(template), timeout=10, what="the idle template's exit")
    server.run(2, _request(home, "where", 2, "template"))  # a new one comes with the next
    assert isinstance(server.next_event(), JobStarted)
    exited = server.next_event()
    assert isinstance(exited, JobExited)
    assert exited.result is not None
    assert exited.result["state"] == "success"
    assert len(_imports(home)) == 2


def test_an_attempt_whose_template_died_before_starting_it_starts_once(
    home: Home, server: Server
) -> None:
    _write(home, import_seconds=1.0)  # the template is still importing when it is killed
    server.run(1, _request(home, "where", 1, "template"))
    [template] = wait_until(lambda: _templates(server), what="the template")
    wait_until(lambda: _imports(home), what="the template's import")
    template.kill()
    started = server.next_event()
    assert isinstance(started, JobStarted)
    assert psutil.Process(started.pid).ppid() == server.process.pid  # started by the server
    exited = server.next_event()
    assert isinstance(exited, JobExited)
    assert exited.result is not None
    assert exited.result["state"] == "success"
    assert exited.result["xcom"]["return_value"]["parent"] == server.process.pid


def test_when_the_scheduler_is_gone_a_template_s_attempt_runs_on_and_records_its_exit(
    home: Home, server: Server
) -> None:
    _write(home)
    request = _request(home, "nap", 1, "template")
    server.run(1, request)
    started = server.next_event()
    assert isinstance(started, JobStarted)
    template = psutil.Process(started.pid).ppid()
    server.close()  # the scheduler died: both pipes closed
    wait_until(lambda: has_exited(started.pid), what="the attempt's end")
    wait_until(lambda: server.process.poll() is not None, what="the fork server's exit")
    wait_until(lambda: has_exited(template), what="the template's exit")
    state = ticket.inspect(ticket.ticket_path(request.log_path), request.queued_at)
    assert state is not None
    assert state.outcome is not None
    assert state.outcome["state"] == "success"
    assert state.exit_code == 0, "the template did not record how its attempt ended"


def test_stopping_the_fork_server_stops_a_template_s_attempts(home: Home, server: Server) -> None:
    _write(home)
    server.run(1, _request(home, "sleep", 1, "template"))
    started = server.next_event()
    assert isinstance(started, JobStarted)
    template = psutil.Process(started.pid).ppid()
    write_all(server.job_w, encode(ExitServer()))
    assert server.process.wait(timeout=10) == 0
    wait_until(lambda: has_exited(started.pid), timeout=5, what="the attempt's end")
    wait_until(lambda: has_exited(template), timeout=5, what="the template's exit")


def test_dags_test_imports_a_thread_starting_file_twice_whatever_the_task_count(
    home: Home,
) -> None:
    _write(home)
    done = home.run("dags", "test", "quick")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_imports(home)) == 2, "one parse and one template, not one per attempt"
