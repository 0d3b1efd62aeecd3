"""The scheduler service: one loop thread that owns every state change. Executor events,
commands, timers and changed DAG files arrive as messages in one inbox; each batch of messages
is applied in one store transaction, then ready tasks are handed to the executor. No polling
sits between two tasks: an attempt's exit event evaluates its downstream tasks at once."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from flowtui.clock import Clock, to_text, utcnow
from flowtui.commands.model import Command, SetPaused
from flowtui.config import Settings
from flowtui.errors import StoreUnavailable
from flowtui.execution.base import (
    AttemptExited,
    AttemptKey,
    AttemptRequest,
    AttemptStarted,
    Executor,
    ExecutorDied,
    ExecutorEvent,
)
from flowtui.execution.callbacks import CallbackRunner
from flowtui.loading.loader import DagLoader, FileParser, FileResult
from flowtui.loading.parse import Preload
from flowtui.loading.record import record
from flowtui.scheduling import attempts, callbacks, deadlines
from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.scheduling.apply import apply
from flowtui.scheduling.changes import Listener
from flowtui.scheduling.dispatch import Dispatcher, attempt_request, start_queued_runs
from flowtui.scheduling.effect_runner import EffectRunner
from flowtui.scheduling.effects import (
    LogLine,
)
from flowtui.scheduling.messages import (
    CallbackEnded,
    CommandSent,
    DeadlineDue,
    EscalateDue,
    FilesChanged,
    Message,
    RescheduleDue,
    RetryDue,
    ScheduleDue,
    Stop,
    TimeoutDue,
)
from flowtui.scheduling.outcomes import outcome_of
from flowtui.scheduling.run_book import RunBook
from flowtui.scheduling.timers import Timers
from flowtui.states import RunState, TaskState
from flowtui.store import Store, is_disk_full, writes

if TYPE_CHECKING:
    from flowtui.scheduling.home import HomeDuties

logger = logging.getLogger(__name__)

Recorder = Callable[[sqlite3.Connection, list[FileResult], str], object]
"""Stores the results of parsing the DAG folder (`loading.record.record` by default)."""


class LocalJobs(FileParser, CallbackRunner, Protocol):
    """What runs on the scheduler's machine whichever executor runs the attempts: parsing DAG
    files and running callbacks (the local fork server)."""


_FULL_DISK_RETRY = 5.0
"""Seconds between tries to write to a store whose disk is full."""


class Scheduler:
    """Drives the DAG runs of one home.

    With `watches_home` (the home's own scheduler) it also recovers what a killed predecessor
    left, loads every active run, creates scheduled and dataset-triggered runs and reloads
    changed DAG files. Without it (a foreground command: `dags test`, `dags backfill`) it
    drives only the runs its own commands create, paused DAGs included.
    """

    def __init__(
        self,
        settings: Settings,
        executor: Executor,
        parser: LocalJobs,
        *,
        watches_home: bool = True,
        clock: Clock = utcnow,
        actor: str = "scheduler",
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.watches_home = watches_home
        self.book = RunBook(clock, actor)
        self.executor = executor
        self.loader = DagLoader(settings, parser)
        self.dispatcher = Dispatcher(settings.parallelism)
        self.store: Store | None = None
        self.home: HomeDuties | None = None
        """With `watches_home`, once started."""
        self._inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.timers: Timers[Message] = Timers(self._inbox.put, clock)
        self._listeners: list[Listener] = []
        self._preload: dict[str, Preload] = {}
        self._stopping = False
        self.failure: str | None = None
        """Why the scheduler stopped by itself (its process should exit non-zero)."""
        self._leave_attempts = False
        """Stop without stopping the attempts (a failure: the next scheduler adopts them)."""
        self._hostname = socket.gethostname()
        self.book.webhook_events = frozenset(e for hook in settings.webhooks for e in hook.on)
        self.effects = EffectRunner(
            settings, executor, parser, self._set_timer, clock, self._inbox.put
        )
        """Carries out each batch's effects once it has committed (never blocking the loop)."""
        executor.listen(self._inbox.put)

    # --- life cycle ---

    def open(self, recorder: Recorder | None = None) -> None:
        """Start the executor (first: a fork server forks while this process has one thread),
        open the store, parse the DAG folder and store what it defines with
        `recorder(conn, results, now)`: by default the whole folder, as the home's scheduler
        does; a foreground command stores only the DAG it runs."""
        self.settings.ensure_home()
        if not self.executor.is_started:
            self.executor.start()
        self.store = Store(self.settings.db_path)
        results = self.loader.parse_folder()
        with self.store.transaction() as conn:
            (recorder or record)(conn, results, to_text(self.clock()))
        self._preload = {r.path: r.preload for r in results}

    def start(self) -> None:
        """Take over the home's active runs (with `watches_home`: recover what a killed
        predecessor left and load them; else the book already holds this command's runs) and
        hand their ready tasks to the executor."""
        if self.store is None:
            self.open()
        if self.watches_home:
            # Imported here: timetables, croniter and APScheduler are for the long-running
            # scheduler; `dags test` starts faster without them.
            from flowtui.scheduling.home import HomeDuties

            self.home = HomeDuties(
                self.settings, self.book, self.loader, self.timers, self.clock, self._inbox.put
            )
        with self._open_store().transaction() as conn:
            resumed = self.home.take_over(conn, self._hostname) if self.home is not None else []
            for run in self.book.runs.values():
                if run.state is RunState.RUNNING:
                    self.book.evaluate(conn, run, run.task_ids())
                    started = deadlines.started_at(conn, run)
                    missed = deadlines.missed_slas(conn, run.dag_id, run.run_id)
                    deadlines.arm(self.timers.at, run, started, missed)
            requests = [self._resume(conn, run, ti) for run, ti in resumed]
            requests += self._settle(conn)
        self._after_commit(requests, [])
        if self.home is not None:
            with self._open_store().transaction() as conn:
                self.home.start(conn)
                requests = self._settle(conn)
            self._after_commit(requests, [])

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(changes)` on the loop thread after each committed batch."""
        self._listeners.append(listener)

    def call(self, command: Command, actor: str, timeout: float = 30.0) -> dict[str, Any]:
        """Apply a command on the loop thread and return its result (thread-safe)."""
        reply: Future[dict[str, Any]] = Future()
        self._inbox.put(CommandSent(command, actor, reply))
        return reply.result(timeout)

    def apply_now(self, commands: Iterable[Command], actor: str) -> list[dict[str, Any]]:
        """Apply commands on the calling thread, in one transaction; only before `serve`
        (a foreground command creating the runs it will drive)."""
        with self._open_store().transaction() as conn:
            return [apply(self.book, conn, command, actor) for command in commands]

    def request_stop(self) -> None:
        self._inbox.put(Stop())

    def serve(self, until: Callable[[], bool] | None = None) -> None:
        """Process messages until `request_stop` (or `until()` turns true), then stop."""
        try:
            while not self._stopping and not (until and until()):
                batch = [self._inbox.get()]
                while True:
                    try:
                        batch.append(self._inbox.get_nowait())
                    except queue.Empty:
                        break
                self._process(batch)
        finally:
            self._shutdown()

    def running_attempts(self) -> int:
        """Attempts handed to the executor and not ended yet (thread-safe enough to show)."""
        return len(self.dispatcher.live)

    def is_done(self, run: RunKey) -> bool:
        return run not in self.book.runs

    def _open_store(self) -> Store:
        if self.store is None:
            raise RuntimeError("the scheduler's store is not open; call open() first")
        return self.store

    # --- the loop ---

    def _process(self, batch: list[Message]) -> None:
        """Apply one batch; if the store cannot take it, wait until it can (see
        `_store_failed`), or stop."""
        live = set(self.dispatcher.live)
        try:
            self._apply_batch(batch)
        except sqlite3.Error as exc:
            self._store_failed(batch, live, exc)

    def _store_failed(
        self, batch: list[Message], live: set[AttemptKey], exc: sqlite3.Error
    ) -> None:
        """The batch's transaction failed and was rolled back. A full disk: commands in the
        batch fail with the reason; the rest of the batch (attempt exits, timers) is kept in
        memory and applied again, on the state reloaded from the store, once a write succeeds
        (every few seconds). Any other store error, or a full disk for a foreground command:
        the scheduler stops, leaving running attempts to the next one (they are durable), and
        its process exits non-zero with the reason."""
        kept: list[Message] = []
        for message in batch:
            self._hold(message, kept, exc)
        if not is_disk_full(exc) or self.home is None:
            self._fail(f"the store could not be written: {exc} ({self.settings.db_path})")
            return
        logger.error(
            "the store could not be written: %s (%s); retrying every %g s, %d event(s) held",
            exc,
            self.settings.db_path,
            _FULL_DISK_RETRY,
            len(kept),
        )
        while self._wait_for_space(kept, exc):
            self._reload(live)
            try:
                self._apply_batch(kept)
            except sqlite3.Error as again:
                if not is_disk_full(again):
                    self._fail(f"the store could not be written: {again}")
                    return
                continue
            logger.warning("the store takes writes again; %d held event(s) applied", len(kept))
            return

    def _wait_for_space(self, kept: list[Message], exc: sqlite3.Error) -> bool:
        """Hold what arrives for a while; False when a stop came meanwhile (the attempts are
        then left running: their exits cannot be recorded now)."""
        deadline = time.monotonic() + _FULL_DISK_RETRY
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            try:
                self._hold(self._inbox.get(timeout=left), kept, exc)
            except queue.Empty:
                break
        self._leave_attempts = self._stopping
        return not self._stopping

    def _hold(self, message: Message, kept: list[Message], exc: sqlite3.Error) -> None:
        """While the store takes no writes: refuse a command with the reason, note a stop,
        keep anything else for later."""
        if isinstance(message, CommandSent):
            if not message.reply.done():
                message.reply.set_exception(StoreUnavailable(self.settings.db_path, exc))
        elif isinstance(message, Stop):
            self._stopping = True
        else:
            kept.append(message)

    def _reload(self, live: set[AttemptKey]) -> None:
        """Forget what a failed batch changed in memory: the runs come back from the store,
        the live attempts are those handed to the executor before the batch."""
        self.book.reset()
        self.dispatcher.reset(live)
        with self._open_store().transaction() as conn:
            self.book.load_active(conn)
            for run in self.book.runs.values():
                if run.state is RunState.RUNNING:
                    self.book.evaluate(conn, run, run.task_ids())

    def _fail(self, reason: str) -> None:
        """Stop by ourselves, attempts left running for the next scheduler to adopt."""
        logger.error("%s; the scheduler stops", reason)
        self.failure = reason
        self._stopping = True
        self._leave_attempts = True

    def _apply_batch(self, batch: list[Message]) -> None:
        replies: list[tuple[Future[dict[str, Any]], dict[str, Any] | BaseException]] = []
        with self._open_store().transaction() as conn:
            for message in batch:
                if isinstance(message, CommandSent):
                    replies.append((message.reply, self._command(conn, message)))
                    continue
                try:
                    self._handle(conn, message)
                except Exception:
                    logger.exception("message %s could not be handled", type(message).__name__)
            requests = self._settle(conn)
        self._after_commit(requests, replies)

    def _command(
        self, conn: sqlite3.Connection, message: CommandSent
    ) -> dict[str, Any] | BaseException:
        """Apply a command; its error goes back to whoever sent it, not to the log."""
        try:
            result = apply(self.book, conn, message.command, message.actor)
        except Exception as exc:
            return exc
        command = message.command
        if isinstance(command, SetPaused) and not command.is_paused and self.home:
            self.home.plan(conn, command.dag_id)
        return result

    def _handle(self, conn: sqlite3.Connection, message: Message) -> None:
        match message:
            case AttemptStarted() | AttemptExited() | ExecutorDied():
                self._executor_event(conn, message)
            case ScheduleDue(dag_id):
                if self.home is not None:
                    self.home.plan(conn, dag_id)
            case RetryDue(failed):
                attempts.retry_due(self.book, conn, failed)
            case DeadlineDue():
                deadlines.due(self.book, conn, message)
            case RescheduleDue(sensor):
                self.effects.sensor_wakes.forget(sensor)
                attempts.reschedule_due(self.book, conn, sensor)
            case TimeoutDue(key, seconds):
                self._timeout(conn, key, seconds)
            case EscalateDue(key):
                self._escalate(key)
            case FilesChanged(paths):
                if self.home is not None:
                    self._preload.update(self.home.reload(conn, paths))
            case Stop():
                self._stopping = True
            case CallbackEnded():
                self._record_callback(conn, message)

    def _record_callback(self, conn: sqlite3.Connection, ended: CallbackEnded) -> None:
        info = ended.request.info
        writes.record_event(
            conn,
            "callback",
            ts=to_text(self.clock()),
            actor="scheduler",
            dag_id=info.dag_id,
            run_id=info.run_id,
            task_id=None if ended.request.dag_level else info.task_id,
            try_number=None if ended.request.dag_level else info.try_number,
            detail=ended.event_detail(),
        )

    def _after_commit(
        self,
        requests: list[AttemptRequest],
        replies: list[tuple[Future[dict[str, Any]], dict[str, Any] | BaseException]],
    ) -> None:
        for request in requests:
            self.executor.submit(request)
        self._apply_effects()
        for reply, value in replies:
            if isinstance(value, BaseException):
                reply.set_exception(value)
            else:
                reply.set_result(value)
        changes, self.book.changes = self.book.changes, []
        if changes:
            self.effects.changed(self.book, changes)
            for listener in self._listeners:
                try:
                    listener(changes)
                except Exception:
                    logger.exception("a scheduler listener failed")

    # --- executor events ---

    def _executor_event(self, conn: sqlite3.Connection, event: ExecutorEvent) -> None:
        if isinstance(event, ExecutorDied):
            self._fail(f"the executor gave up: {event.reason}")
            return
        if isinstance(event, AttemptExited) and not self.dispatcher.ended(event.key):
            return
        found = self.book.current(event.key)
        if found is None:
            return
        run, ti = found
        if isinstance(event, AttemptStarted):
            attempts.started(self.book, conn, run, ti, event.pid, event.at)
            if ti.state is TaskState.RESTARTING and not ti.kill_cause:  # cleared, then adopted
                attempts.stop(self.book, conn, run, ti, "cleared while running")
            task = run.spec.tasks.get(ti.task_id)  # None: a hot reload took it out of the DAG
            if task is not None and task.execution_timeout:
                limit = task.execution_timeout
                self.timers.at(event.at + timedelta(seconds=limit), TimeoutDue(event.key, limit))
            return
        outcome = outcome_of(event, run.spec.tasks.get(ti.task_id), ti.kill_cause)
        if ti.log_path and outcome.cause and (event.outcome is None or ti.kill_cause):
            text = f"attempt {ti.try_number} ended: {outcome.cause}"
            self.book.effects.append(LogLine(ti.log_path, text))
        attempts.finished(self.book, conn, run, ti, outcome, event.at)

    # --- timeouts and stopping attempts ---

    def _timeout(self, conn: sqlite3.Connection, key: AttemptKey, seconds: float) -> None:
        found = self.book.current(key) if key in self.dispatcher.live else None
        if found is None or found[1].kill_cause:
            return
        run, ti = found
        attempts.stop(self.book, conn, run, ti, f"execution_timeout of {seconds:g} s exceeded")

    def _escalate(self, key: AttemptKey) -> None:
        if key not in self.dispatcher.live or not self.executor.stop_attempt(key, force=True):
            return
        found = self.book.current(key)  # None: its run ended meanwhile (dagrun_timeout)
        if found is not None:
            ti = found[1]
            ti.kill_cause = (
                f"{ti.kill_cause}; still running "
                f"{self.settings.task_kill_grace_seconds:g} s after SIGTERM, "
                f"so killed with SIGKILL"
            )

    def _set_timer(self, when: datetime, message: Message) -> None:
        self.timers.at(when, message)

    def _apply_effects(self) -> None:
        effects, self.book.effects = self.book.effects, []
        self.effects.run(effects, self._preload)

    # --- runs and slots ---

    def _settle(self, conn: sqlite3.Connection) -> list[AttemptRequest]:
        """After a batch: end finished runs, start queued runs where max_active_runs allows,
        hand ready tasks to the executor; again while runs keep starting (an ended run can
        make room for the next scheduled one, which may end at once)."""
        requests: list[AttemptRequest] = []
        looked: list[set[str]] = []  # looked up once, if at all: nothing here pauses

        def paused() -> set[str]:
            if not looked:
                looked.append(self._paused(conn))
            return looked[0]

        for _ in range(10_000):
            uris, self.book.dataset_updates = self.book.dataset_updates, set()
            if uris and self.home is not None:
                self.home.datasets_updated(conn, uris)
            self._finish_touched(conn)
            started = start_queued_runs(self.book, conn, paused)
            requests += self.dispatcher.take(
                self.book, paused, functools.partial(self._queue, conn), conn
            )
            if not started and not self.book.touched:
                break
        return requests

    def _finish_touched(self, conn: sqlite3.Connection) -> None:
        touched, self.book.touched = self.book.touched, set()
        freed = set()  # DAGs where a slot of max_active_runs came free
        for run_key in touched:
            run = self.book.runs.get(run_key)
            if run is not None and self.book.finish_if_done(conn, run):
                freed.add(run.dag_id)
                reason = "success" if run.state is RunState.SUCCESS else "task_failure"
                callbacks.plan_dag(self.book, run, reason)
        if self.home is not None:
            for dag_id in freed:
                self.home.plan(conn, dag_id)

    def _paused(self, conn: sqlite3.Connection) -> set[str]:
        if not self.watches_home:
            return set()  # `dags test` and backfill run a paused DAG too, as Airflow's do
        return {r[0] for r in conn.execute("SELECT dag_id FROM dags WHERE is_paused = 1")}

    def _resume(self, conn: sqlite3.Connection, run: ActiveRun, ti: TI) -> AttemptRequest:
        """The same try of an attempt an earlier scheduler left unfinished: its ticket makes
        the executor adopt it, report how it ended, or start it if it never started."""
        self.dispatcher.resume(run.attempt_key(ti))
        return attempt_request(conn, self.settings, run, ti, ti.log_path or "", self._preload)

    def _queue(self, conn: sqlite3.Connection, run: ActiveRun, ti: TI) -> AttemptRequest:
        if ti.sensing_since is not None and ti.log_path:  # a sensor's next poke: the same try
            attempts.requeued(self.book, conn, run, ti, self._hostname)
            request = attempt_request(conn, self.settings, run, ti, ti.log_path, self._preload)
            return request._replace(info=request.info._replace(sensing_since=ti.sensing_since))
        log = self.settings.attempt_log_file(
            run.dag_id, run.run_id, ti.task_id, ti.try_number + 1, ti.map_index
        )
        attempts.queued(self.book, conn, run, ti, log, self._hostname)
        return attempt_request(conn, self.settings, run, ti, log, self._preload)

    # --- stopping ---

    def _shutdown(self) -> None:
        """Stop live attempts (they are recorded as failed or up_for_retry with the cause),
        fail the runs this process drives for a foreground command, then stop the timers and
        the executor."""
        self._stopping = True
        if self.home is not None:
            self.home.stop()
        if self._leave_attempts:
            self.effects.stop()
            self.timers.shutdown()
            self.executor.stop(leave_attempts=True)
            return
        if self.dispatcher.live and self.store is not None:
            with self.store.transaction() as conn:
                for key in list(self.dispatcher.live):
                    found = self.book.current(key)
                    if found is not None:
                        attempts.stop(self.book, conn, *found, "the scheduler stopped")
            self._apply_effects()
            self._drain_exits()
        if self.store is not None:
            with self.store.transaction() as conn:
                self.book.abandon_driven_by(conn, os.getpid(), "interrupted before it finished")
            self._drain_callbacks()
        self.effects.stop()  # after the stopped attempts' exits, which may alert
        self.timers.shutdown()
        self.executor.stop()
        if self.store is not None:
            self.store.close()

    def _drain_callbacks(self) -> None:
        """Let the callbacks in flight end (a foreground command waits for them: its user
        tests them; the home's scheduler gives them a few seconds) and record how they did."""
        self.effects.wait_for_callbacks(foreground=self.home is None)
        ended: list[CallbackEnded] = []
        with contextlib.suppress(queue.Empty):
            while True:
                message = self._inbox.get_nowait()
                if isinstance(message, CallbackEnded):
                    ended.append(message)
        if ended:
            with self._open_store().transaction() as conn:
                for message in ended:
                    self._record_callback(conn, message)

    def _drain_exits(self) -> None:
        """Wait for the stopped attempts' exit events and record them."""
        grace = self.settings.task_kill_grace_seconds + 2.0
        deadline = self.clock() + timedelta(seconds=grace)
        store = self._open_store()
        while self.dispatcher.live and self.clock() < deadline:
            try:
                message = self._inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(message, AttemptStarted | AttemptExited | EscalateDue):
                with store.transaction() as conn:
                    self._handle(conn, message)
                    self._finish_touched(conn)
                self._apply_effects()
