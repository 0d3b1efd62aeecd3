"""The local executor: owns the fork server process, numbers the jobs it hands over (attempts
and DAG-file parses), and turns the server's events into `ExecutorEvent`s and parse callbacks
on a reader thread. Limits (parallelism, pools) are the scheduler's; this module only starts,
signals and reports processes."""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

from flowtui.clock import from_epoch, utcnow
from flowtui.config import Settings
from flowtui.execution.base import (
    AttemptExited,
    AttemptKey,
    AttemptOutcome,
    AttemptRequest,
    AttemptStarted,
    ExecutorDied,
    ExecutorEvent,
)
from flowtui.execution.local.protocol import (
    ExitServer,
    Job,
    JobExited,
    JobStarted,
    LineBuffer,
    ParseJob,
    RunJob,
    decode_event,
    encode,
    write_all,
)
from flowtui.execution.process_groups import signal_group
from flowtui.loading.loader import DagLoader, FileResult
from flowtui.loading.parse import ParseExit, ParseReport, ParseRequest

logger = logging.getLogger(__name__)

_SERVER = "flowtui.execution.local.server"
"""The fork server's module; its `serve` never returns."""

ParseDone = Callable[[ParseExit], None]


class LocalExecutor:
    """Runs each attempt in its own child process and process group, forked by a fork server;
    also parses DAG files for the loader (it is the loader's `FileParser`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._on_event: Callable[[ExecutorEvent], None] = lambda _event: None
        self._job_w: int | None = None
        self._write_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._server_pid: int | None = None
        self._server_proc: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._jobs = itertools.count(1)
        self._attempts: dict[int, AttemptKey] = {}
        """Job number -> the attempt it runs, until it exits."""
        self._pids: dict[AttemptKey, int] = {}
        self._stop_when_started: dict[AttemptKey, int] = {}
        """Attempts asked to stop before their process was reported: the signal to send."""
        self._parses: dict[int, ParseDone] = {}
        self._lock = threading.Lock()

    def listen(self, on_event: Callable[[ExecutorEvent], None]) -> None:
        self._on_event = on_event

    @property
    def is_started(self) -> bool:
        return self._job_w is not None

    def start(self) -> None:
        """Start the fork server: forked from this process while it still has one thread
        (about 1 ms), else spawned as a fresh interpreter (DESIGN.md: never fork once threaded)."""
        self.settings.ensure_home()
        job_r, job_w = os.pipe()
        event_r, event_w = os.pipe()
        log = str(self.settings.logs_dir / "executor.log")
        folder = str(self.settings.dags_folder)
        if threading.active_count() == 1:
            pid = os.fork()
            if pid == 0:
                os.close(job_w)
                os.close(event_r)
                # The server module, by name, as `-m` below runs it: this side of the pipes
                # knows only the protocol.
                importlib.import_module(_SERVER).serve(job_r, event_w, folder, log)
            self._server_pid = pid
        else:
            self._server_proc = subprocess.Popen(
                [sys.executable, "-m", _SERVER, str(job_r), str(event_w), folder, log],
                pass_fds=(job_r, event_w),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._server_pid = self._server_proc.pid
        os.close(job_r)
        os.close(event_w)
        os.set_inheritable(job_w, False)
        os.set_inheritable(event_r, False)
        self._job_w = job_w
        self._stopping = False
        self._reader = threading.Thread(
            target=self._read_events, args=(event_r,), name="flowtui-executor-events", daemon=True
        )
        self._reader.start()

    def submit(self, request: AttemptRequest) -> None:
        job = next(self._jobs)
        with self._lock:
            self._attempts[job] = request.key
        try:
            self._send(RunJob.of(job, request))
        except OSError:  # the fork server is gone: the attempt ends as its others did
            with self._lock:
                key = self._attempts.pop(job, None)
            if key is not None:  # else `_server_died` reported it already
                self._lost(key)

    def stop_attempt(self, key: AttemptKey, *, force: bool) -> bool:
        signum = signal.SIGKILL if force else signal.SIGTERM
        with self._lock:
            pid = self._pids.get(key)
            if pid is None:
                if key not in self._attempts.values():
                    return False
                self._stop_when_started[key] = signum  # forked, not reported yet
                return True
        return signal_group(pid, signum)

    def parse_file(self, request: ParseRequest, done: ParseDone) -> None:
        job = next(self._jobs)
        with self._lock:
            self._parses[job] = done
        try:
            self._send(ParseJob(job, request))
        except OSError:
            with self._lock:
                mine = self._parses.pop(job, None) is not None
            if mine:  # else `_server_died` took it and calls `done`: it must not be called twice
                raise

    def stop(self) -> None:
        """Stop the fork server; it kills any attempt still running (callers stop them first)."""
        self._stopping = True
        with contextlib.suppress(OSError):  # not started, or the server is gone already
            self._send(ExitServer())
        self._release_server(wait=True)
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=5)

    def _send(self, job: Job) -> None:
        data = encode(job)
        with self._write_lock:
            if self._job_w is None:
                raise OSError("the fork server is not running")
            write_all(self._job_w, data)

    def _read_events(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            lines = LineBuffer()
            while chunk := pipe.read(1 << 16):
                for line in lines.feed(chunk):
                    self._event(decode_event(line))
        if not self._stopping:
            logger.error("the fork server (pid %s) died", self._server_pid)
            self._server_died()

    def _event(self, event: JobStarted | JobExited) -> None:
        if isinstance(event, JobExited) and event.job in self._parses:
            with self._lock:
                done = self._parses.pop(event.job)
            report = ParseReport.from_json(event.result) if event.result is not None else None
            _finish_parse(done, ParseExit(report, event.exit_code, event.timed_out))
            return
        key = self._attempts.get(event.job)
        if key is None:
            return  # a parse's start
        if isinstance(event, JobStarted):
            with self._lock:
                self._pids[key] = event.pid
                pending = self._stop_when_started.pop(key, None)
            if pending is not None:
                signal_group(event.pid, pending)
            self._deliver(AttemptStarted(key, event.pid, from_epoch(event.at)))
            return
        with self._lock:
            del self._attempts[event.job]
            self._pids.pop(key, None)
            self._stop_when_started.pop(key, None)
        result, code = event.result, event.exit_code
        outcome = AttemptOutcome.from_json(result, code) if result is not None else None
        self._deliver(AttemptExited(key, from_epoch(event.at), code, outcome))

    def _server_died(self) -> None:
        """Every job the server had is lost: report each, then the death itself."""
        with self._lock:
            parses, self._parses = self._parses, {}
            attempts, self._attempts = self._attempts, {}
            self._pids.clear()
            self._stop_when_started.clear()
        for done in parses.values():
            _finish_parse(done, ParseExit(None, None))
        for key in attempts.values():
            self._lost(key)
        self._release_server(wait=False)
        self._deliver(ExecutorDied(f"the fork server (pid {self._server_pid}) died"))

    def _lost(self, key: AttemptKey) -> None:
        """The attempt went with the fork server: it ended as if killed, reporting nothing."""
        self._deliver(AttemptExited(key, utcnow(), -signal.SIGKILL, None))

    def _release_server(self, *, wait: bool) -> None:
        """Close the job pipe and reap the server: waiting for it to exit (`stop`), or only if
        it is gone already (it died), so that `start` can begin afresh. `stop` and the reader
        thread, seeing the server die, may both get here: the lock gives the pipe to one."""
        with self._write_lock:
            job_w, self._job_w = self._job_w, None
        if job_w is not None:
            with contextlib.suppress(OSError):
                os.close(job_w)
        if self._server_proc is not None:
            if wait:
                self._server_proc.wait()
            else:
                self._server_proc.poll()
        elif self._server_pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._server_pid, 0 if wait else os.WNOHANG)

    def _deliver(self, event: ExecutorEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            logger.exception("executor event %s could not be handled", type(event).__name__)


def _finish_parse(done: ParseDone, exit: ParseExit) -> None:
    try:
        done(exit)
    except Exception:
        logger.exception("a parse callback failed")


def parse_dag_folder(settings: Settings) -> list[FileResult]:
    """Parse the DAG folder with a fork server of its own, for a command that runs no
    scheduler (`dags list`, `tasks test`)."""
    executor = LocalExecutor(settings)
    executor.start()
    try:
        return DagLoader(settings, executor).parse_folder()
    finally:
        executor.stop()
