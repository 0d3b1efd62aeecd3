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
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

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
from flowtui.execution.callbacks import CallbackExit, CallbackReport, CallbackRequest
from flowtui.execution.local.protocol import (
    CallbackJob,
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
from flowtui.execution.process_groups import is_same_process, signal_group
from flowtui.execution.ticket import TicketState, inspect, ticket_path, wait_released
from flowtui.loading.loader import DagLoader, FileResult
from flowtui.loading.parse import ParseExit, ParseReport, ParseRequest
from flowtui.states import TaskState

if TYPE_CHECKING:
    from subprocess import Popen

logger = logging.getLogger(__name__)

_SERVER = "flowtui.execution.local.server"
"""The fork server's module; its `serve` never returns."""

_MAX_DEATHS = 5
_DEATH_WINDOW = 60.0
"""More fork-server deaths than this within the window (seconds): stop restarting it."""

ParseDone = Callable[[ParseExit], None]
CallbackDone = Callable[[CallbackExit], None]
_Exit = TypeVar("_Exit", ParseExit, CallbackExit)


class LocalExecutor:
    """Runs each attempt in its own child process and process group, forked by a fork server;
    also parses DAG files for the loader (it is the loader's `FileParser`).

    An attempt outlives the fork server: when the server dies, the attempts it started are
    adopted through their tickets (`execution.ticket`: watched until their process ends, their
    recorded outcome reported), a new server is started, and jobs it had not started are
    handed to the new one (no try runs twice: the ticket declines a try claimed before)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._on_event: Callable[[ExecutorEvent], None] = lambda _event: None
        self._job_w: int | None = None
        self._write_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._server_pid: int | None = None
        self._server_proc: Popen[bytes] | None = None
        self._stopping = False
        self._jobs = itertools.count(1)
        self._attempts: dict[int, AttemptRequest] = {}
        """Job number -> the attempt it runs, until it exits."""
        self._pids: dict[AttemptKey, int] = {}
        self._stop_when_started: dict[AttemptKey, int] = {}
        """Attempts asked to stop before their process was reported: the signal to send."""
        self._adopted: dict[AttemptKey, TicketState] = {}
        """Attempts whose process another (dead) fork server started: watched via tickets."""
        self._parses: dict[int, tuple[ParseRequest, ParseDone]] = {}
        self._callbacks: dict[int, CallbackDone] = {}
        self._deaths: list[float] = []
        """When fork servers died (monotonic), for the restart limit."""
        self._lock = threading.Lock()

    def listen(self, on_event: Callable[[ExecutorEvent], None]) -> None:
        self._on_event = on_event

    @property
    def is_started(self) -> bool:
        return self._job_w is not None

    def start(self) -> None:
        """Start the fork server: forked from this process while it still has one thread
        (about 1 ms), else spawned as a fresh interpreter (DESIGN.md: never fork once threaded)."""
        with self._write_lock:
            self._launch()

    def _launch(self) -> None:
        self.settings.ensure_home()
        job_r, job_w = os.pipe()
        event_r, event_w = os.pipe()
        log = str(self.settings.logs_dir / "executor.log")
        folder = str(self.settings.dags_folder)
        self._server_proc = None
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
            import subprocess  # here: a server spawned rather than forked is the rare case

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
            self._attempts[job] = request
        try:
            self._send(RunJob.of(job, request))
        except OSError:  # the executor is stopped, or its server could not be restarted
            with self._lock:
                lost = self._attempts.pop(job, None)
            if lost is not None:  # else `_server_died` took it
                self._lost(request.key)

    def stop_attempt(self, key: AttemptKey, *, force: bool) -> bool:
        signum = signal.SIGKILL if force else signal.SIGTERM
        with self._lock:
            pid = self._pids.get(key)
            adopted = self._adopted.get(key)
            if pid is None:
                if adopted is None and not any(r.key == key for r in self._attempts.values()):
                    return False
                self._stop_when_started[key] = signum  # forked, not reported yet
                return True
        if adopted is not None and is_same_process(pid, adopted.started_at) is False:
            logger.warning("not signalling pid %s: it is no longer attempt %s", pid, key)
            return False  # the PID was reused: never signal someone else's process
        return signal_group(pid, signum)

    def parse_file(self, request: ParseRequest, done: ParseDone) -> None:
        job = next(self._jobs)
        with self._lock:
            self._parses[job] = (request, done)
        try:
            self._send(ParseJob(job, request))
        except OSError:
            with self._lock:
                mine = self._parses.pop(job, None) is not None
            if mine:  # else `_server_died` took it and calls `done`: it must not be called twice
                raise

    def run_callback(self, request: CallbackRequest, done: CallbackDone) -> None:
        """Run a callback job (`execution.callbacks`) in a child of the fork server; `done` is
        called once it ended, on another thread, or at once if the server is gone."""
        job = next(self._jobs)
        with self._lock:
            self._callbacks[job] = done
        try:
            self._send(CallbackJob(job, request))
        except OSError:
            with self._lock:
                mine = self._callbacks.pop(job, None) is not None
            if mine:
                _report(done, CallbackExit(None, None))

    def stop(self, *, leave_attempts: bool = False) -> None:
        """Stop the fork server; it kills any attempt still running (callers stop them first),
        or, with `leave_attempts`, lets them run on for the next scheduler to adopt."""
        self._stopping = True
        with contextlib.suppress(OSError):  # not started, or the server is gone already
            if not leave_attempts:
                self._send(ExitServer())
        with self._write_lock:  # a server left with attempts exits after the last one
            self._release_server(wait=not leave_attempts)
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
            self._server_died()

    def _event(self, event: JobStarted | JobExited) -> None:
        if isinstance(event, JobExited) and event.job in self._parses:
            self._parse_exited(event)
            return
        if isinstance(event, JobExited) and event.job in self._callbacks:
            self._callback_exited(event)
            return
        request = self._attempts.get(event.job)
        if request is None:
            return  # a parse's or a callback's start
        key = request.key
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
        result, code = event.result, event.exit_code
        if result is not None and "declined" in result:
            self._declined(request, TicketState.from_json(result["declined"]), result["conflict"])
            return
        with self._lock:
            self._stop_when_started.pop(key, None)
        outcome = AttemptOutcome.from_json(result, code) if result is not None else None
        self._deliver(AttemptExited(key, from_epoch(event.at), code, outcome))

    def _parse_exited(self, event: JobExited) -> None:
        with self._lock:
            done = self._parses.pop(event.job)[1]
        report = ParseReport.from_json(event.result) if event.result is not None else None
        _report(done, ParseExit(report, event.exit_code, event.timed_out))

    def _callback_exited(self, event: JobExited) -> None:
        with self._lock:
            done = self._callbacks.pop(event.job)
        report = CallbackReport.from_json(event.result) if event.result is not None else None
        _report(done, CallbackExit(report, event.exit_code, event.timed_out))

    # --- attempts another fork server started ---

    def _declined(self, request: AttemptRequest, state: TicketState, conflict: str | None) -> None:
        """The try's ticket was claimed before this job's child could claim it."""
        if conflict:
            outcome = AttemptOutcome(TaskState.FAILED, conflict)
            self._deliver(AttemptExited(request.key, utcnow(), 0, outcome))
        elif state.held:
            self._adopt(request, state)
        else:
            self._report_ended(request, state)

    def _adopt(self, request: AttemptRequest, state: TicketState) -> None:
        """Watch an attempt that runs in no fork server of ours until its process ends."""
        key = request.key
        logger.info("adopting attempt %s (pid %s), still running", key, state.pid)
        with self._lock:
            self._adopted[key] = state
            if state.pid is not None:
                self._pids[key] = state.pid
                pending = self._stop_when_started.pop(key, None)
            else:
                pending = None
        if state.pid is not None:
            self._deliver(AttemptStarted(key, state.pid, from_epoch(state.started_at or 0)))
            if pending is not None:
                self.stop_attempt(key, force=pending == signal.SIGKILL)
        threading.Thread(
            target=self._watch, args=(request, state), name="flowtui-adopted", daemon=True
        ).start()

    def _watch(self, request: AttemptRequest, seen: TicketState) -> None:
        path = ticket_path(request.log_path)
        with contextlib.suppress(OSError):  # the ticket went away (its log folder deleted)
            wait_released(path)
        state = inspect(path, request.queued_at)
        with self._lock:
            self._adopted.pop(request.key, None)
            self._pids.pop(request.key, None)
        if state is None:  # its claimer died before it started anything: start it now
            self.submit(request._replace(preload=""))
            return
        if state.outcome is None and state.exit_code is None:
            state = _await_exit_record(path, request.queued_at, state)
        self._report_ended(request, state, started=seen.pid is not None)

    def _report_ended(
        self, request: AttemptRequest, state: TicketState, *, started: bool = False
    ) -> None:
        """An attempt that ended unwatched: report what its ticket recorded."""
        key = request.key
        with self._lock:
            self._stop_when_started.pop(key, None)
        if not started and state.pid is not None:
            self._deliver(AttemptStarted(key, state.pid, from_epoch(state.started_at or 0)))
        code = state.exit_code
        if state.outcome is not None:  # it recorded its outcome, then exited as it says
            recorded = state.outcome.get("exit_code") or 0
            outcome = AttemptOutcome.from_json(state.outcome, recorded if code is None else code)
            self._deliver(AttemptExited(key, utcnow(), outcome.exit_code or 0, outcome))
        elif code is not None:
            self._deliver(AttemptExited(key, utcnow(), code, None))
        else:
            cause = (
                "the attempt's process ended while no scheduler watched it, without recording "
                "an outcome (killed?)"
            )
            outcome = AttemptOutcome(TaskState.FAILED, cause)
            self._deliver(AttemptExited(key, utcnow(), -signal.SIGKILL, outcome))

    # --- the fork server's death ---

    def _server_died(self) -> None:
        """The fork server died (the OOM killer, a kill): start a new one; adopt the attempts
        the dead one started, report those that ended meanwhile, hand the rest (and the
        parses) to the new one. After too many deaths in a minute, give up: every job is
        reported lost, then `ExecutorDied`."""
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < _DEATH_WINDOW] + [now]
        with self._lock:
            parses, self._parses = self._parses, {}
            attempts, self._attempts = self._attempts, {}
            callbacks, self._callbacks = self._callbacks, {}
        # A callback's process runs on in its own session, but what it reports is lost with
        # the server: it is not run again (its callables may have done their work).
        for callback_done in callbacks.values():
            _report(callback_done, CallbackExit(None, None))
        dead = self._server_pid
        with self._write_lock:
            self._release_server(wait=False)
            if self._stopping:
                return
            restart = len(self._deaths) <= _MAX_DEATHS
            if restart:
                self._launch()
        if not restart:
            self._give_up(dead, parses, attempts)
            return
        logger.error(
            "the fork server (pid %s) died; started a new one (pid %s); %d attempt(s) it had go on",
            dead,
            self._server_pid,
            len(attempts),
        )
        for request in attempts.values():
            state = inspect(ticket_path(request.log_path), request.queued_at)
            with self._lock:
                self._pids.pop(request.key, None)
            if state is None:
                self.submit(request._replace(preload=""))  # never started anything
            elif state.held:
                self._adopt(request, state)
            else:
                self._report_ended(request, state, started=True)
        for parse, done in parses.values():
            self.parse_file(parse, done)

    def _give_up(
        self,
        dead: int | None,
        parses: dict[int, tuple[ParseRequest, ParseDone]],
        attempts: dict[int, AttemptRequest],
    ) -> None:
        reason = (
            f"the fork server (pid {dead}) died {len(self._deaths)} times within "
            f"{_DEATH_WINDOW:g} s; not starting another"
        )
        logger.error(reason)
        for _request, done in parses.values():
            _report(done, ParseExit(None, None))
        # The attempts are not lost: they run on in their own sessions, and the scheduler that
        # comes next adopts them (or starts those that never started) through their tickets.
        logger.error("%d attempt(s) left for the next scheduler to adopt", len(attempts))
        self._deliver(ExecutorDied(reason))

    def _lost(self, key: AttemptKey) -> None:
        """The attempt could not be handed over: it ended as if killed, reporting nothing."""
        self._deliver(AttemptExited(key, utcnow(), -signal.SIGKILL, None))

    def _release_server(self, *, wait: bool) -> None:
        """Close the job pipe and reap the server: waiting for it to exit (`stop`), or only if
        it is gone already (it died), so that a new one can start. Hold `_write_lock`."""
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


def _await_exit_record(path: str, queued_at: str, state: TicketState) -> TicketState:
    """A process that recorded no outcome: give a fork server that reaps it a moment to
    write how it ended."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        time.sleep(0.05)
        later = inspect(path, queued_at)
        if later is not None and (later.exit_code is not None or later.outcome is not None):
            return later
    return state


def _report(done: Callable[[_Exit], None], exit: _Exit) -> None:
    """Tell a parse's or a callback job's caller how it ended; its failure is logged."""
    try:
        done(exit)
    except Exception:
        logger.exception("handling the end of %s failed", type(exit).__name__)


def parse_dag_folder(settings: Settings) -> list[FileResult]:
    """Parse the DAG folder with a fork server of its own, for a command that runs no
    scheduler (`dags list`, `tasks test`)."""
    executor = LocalExecutor(settings)
    executor.start()
    try:
        return DagLoader(settings, executor).parse_folder()
    finally:
        executor.stop()
