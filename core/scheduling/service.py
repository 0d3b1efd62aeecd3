"""The scheduler service: one loop thread that owns every state change. Executor events,
commands and timers arrive as messages in one inbox; each batch of messages is applied in one
store transaction, then ready tasks are handed to the executor. No polling sits between two
tasks: an attempt's exit event evaluates its downstream tasks at once."""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import signal
import socket
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowtui.clock import Clock, from_epoch, to_text, utcnow
from flowtui.commands.model import Command, SetPaused
from flowtui.config import Settings
from flowtui.execution.local.executor import ExecutorEvent, LocalExecutor
from flowtui.execution.logs import append_line, attempt_log_path
from flowtui.execution.process_groups import pid_alive, signal_group
from flowtui.loading import loader
from flowtui.loading.watcher import DagFolderWatcher
from flowtui.scheduling import dataset_triggers as datasets
from flowtui.scheduling import recovery
from flowtui.scheduling.apply import apply, parse_date
from flowtui.scheduling.run_book import ActiveRun, Outcome, RunBook
from flowtui.states import RunState, TaskState
from flowtui.store import Store, reads, writes

if TYPE_CHECKING:
    from flowtui.scheduling.run_creation import RunCreator

logger = logging.getLogger(__name__)

Listener = Callable[[list[dict[str, Any]]], None]


class Scheduler:
    """Runs DAG runs on one home. `only_runs` limits it to the runs a foreground command
    (`dags test`, `dags backfill`) drives; those ignore pause and watch no files."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        actor: str = "scheduler",
        only_runs: set[tuple[str, str]] | None = None,
        executor: LocalExecutor | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.only_runs = only_runs
        self.book = RunBook(clock, actor)
        self.store: Store | None = None
        self.executor = executor or LocalExecutor(settings, self._on_executor_event)
        self.executor.on_event = self._on_executor_event
        self.loader = loader.DagLoader(settings, self.executor)
        from flowtui.scheduling.timers import Timers

        self.timers = Timers(self._inbox_put, clock)
        self._inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._listeners: list[Listener] = []
        self._heap: list[tuple[int, int, tuple[str, str], str]] = []
        self._seq = itertools.count()
        self._attempts: dict[str, tuple[tuple[str, str], str]] = {}
        self._keys = itertools.count(1)
        self._active_by_dag: Counter[str] = Counter()
        self._preload: dict[str, bool] = {}
        self._stopping = False
        self._hostname = socket.gethostname()
        self.watcher: DagFolderWatcher | None = None
        self.creator: RunCreator | None = None

    # --- life cycle ---

    def start_executor(self) -> None:
        """Start the fork server; call this before the process starts any thread (the
        dashboard does, so that parsing can then happen on the scheduler's thread)."""
        self.settings.ensure_home()
        if self.executor.server_pid is None:
            self.executor.start()

    def open(self) -> None:
        """Start the executor (first: it forks while this process has one thread), open the
        store and load the DAG files into it."""
        self.start_executor()
        self.store = Store(self.settings.db_path)
        results = self.loader.parse_folder()
        with self.store.transaction() as conn:
            loader.record(conn, results, to_text(self.clock()))
        self._preload = {r.path: r.preload for r in results}

    def start(self) -> None:
        """Recover what a killed predecessor left running, load the active runs (or just
        `only_runs`) and hand their ready tasks to the executor."""
        if self.store is None:
            self.open()
        assert self.store is not None
        with self.store.transaction() as conn:
            if self.only_runs is None:
                recovery.recover(conn, self.book, self._hostname)
                self.book.load_active(conn)
            else:
                for key in sorted(self.only_runs):
                    row = reads.run(conn, *key)
                    if row is not None:
                        self.book.load_run(conn, row)
            for run in self.book.runs.values():
                if run.state is RunState.RUNNING:
                    self.book.evaluate(conn, run, list(run.tis))
                    self._retry_timers(run)
            requests = self._settle(conn)
        self._after_commit(requests, [])
        if self.only_runs is None:
            self._start_creating_runs()
            self.watcher = DagFolderWatcher(
                self.settings.dags_folder, lambda paths: self._inbox_put(("files_changed", paths))
            )
            self.watcher.start()

    def _start_creating_runs(self) -> None:
        # Imported here: schedules, croniter and APScheduler are for the long-running
        # scheduler; `dags test` starts faster without them.
        from flowtui.scheduling.run_creation import RunCreator

        assert self.store is not None
        self.creator = RunCreator(self.book, self.timers, self.clock)
        with self.store.transaction() as conn:
            for dag in reads.dags(conn):
                self._create_due(conn, dag["dag_id"])
            requests = self._settle(conn)
        self._after_commit(requests, [])

    def _create_due(self, conn: Any, dag_id: str) -> None:
        """Create the DAG's scheduled runs that are due (never fails the batch)."""
        if self.creator is None:
            return
        row = conn.execute(
            "SELECT is_paused, is_active FROM dags WHERE dag_id = ?", (dag_id,)
        ).fetchone()
        spec = reads.dag_spec(conn, dag_id)
        if row is None or spec is None or not row[1]:
            self.creator.forget(dag_id)
            return
        try:
            self.creator.create_due(conn, spec, is_paused=bool(row[0]))
            if not row[0]:
                datasets.trigger_if_ready(conn, self.book, spec, self.clock())
        except Exception:
            logger.exception("creating the scheduled runs of %s failed", dag_id)

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(changes)` on the loop thread after each committed batch."""
        self._listeners.append(listener)

    def call(self, command: Command, actor: str, timeout: float = 30.0) -> Any:
        """Apply a command on the loop thread and return its result (thread-safe)."""
        future: Future[Any] = Future()
        self._inbox_put(("command", command, actor, future))
        return future.result(timeout)

    def request_stop(self) -> None:
        self._inbox_put(("stop",))

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
        return len(self._attempts)

    def is_done(self, dag_id: str, run_id: str) -> bool:
        return (dag_id, run_id) not in self.book.runs

    # --- the loop ---

    def _inbox_put(self, message: tuple[Any, ...]) -> None:
        self._inbox.put(message)

    def _on_executor_event(self, event: ExecutorEvent) -> None:
        if event.get("key", "").startswith(loader.PARSE_PREFIX):
            self.loader.deliver(event)
        else:
            if event["ev"] == "server_died":
                self.loader.deliver(event)
            self._inbox_put(("executor", event))

    def _process(self, batch: list[tuple[Any, ...]]) -> None:
        assert self.store is not None
        replies: list[tuple[Future[Any], Any, BaseException | None]] = []
        with self.store.transaction() as conn:
            for message in batch:
                is_command = message[0] == "command"
                try:
                    reply = self._handle(conn, message)
                except Exception as exc:
                    if not is_command:  # a command's error goes back to whoever sent it
                        logger.exception("message %s could not be handled", message[0])
                        continue
                    replies.append((message[-1], None, exc))
                else:
                    if is_command:
                        replies.append((message[-1], reply, None))
            requests = self._settle(conn)
        self._after_commit(requests, replies)

    def _handle(self, conn: Any, message: tuple[Any, ...]) -> Any:
        kind = message[0]
        if kind == "executor":
            self._executor_event(conn, message[1])
        elif kind == "command":
            _, command, actor, _future = message
            result = apply(self.book, conn, command, actor)
            if isinstance(command, SetPaused) and not command.is_paused:
                self._create_due(conn, command.dag_id)
            return result
        elif kind == "schedule_due":
            self._create_due(conn, message[1])
        elif kind == "retry_due":
            run = self.book.runs.get(message[1])
            if run is not None:
                self.book.retry_due(conn, run, message[2])
        elif kind == "timeout":
            self._timeout(conn, message[1], message[2])
        elif kind == "escalate":
            self._escalate(message[1], message[2])
        elif kind == "files_changed":
            self._reload(conn, message[1])
        elif kind == "stop":
            self._stopping = True
        return None

    def _reload(self, conn: Any, paths: set[str]) -> None:
        """Hot reload: parse the changed DAG files; runs go on with the new definitions."""
        folder = self.settings.dags_folder
        present = sorted(Path(p) for p in paths if loader.is_dag_file(Path(p), folder))
        gone = sorted(p for p in paths if Path(p) not in present)
        results = self.loader.parse_files(present)
        specs = loader.record(conn, results, to_text(self.clock()), complete=False, deleted=gone)
        self._preload.update({r.path: r.preload for r in results})
        for run in list(self.book.runs.values()):
            if run.dag_id in specs:
                self.book.update_spec(conn, run, specs[run.dag_id])
        for dag_id in self._dag_ids_of(conn, paths) | set(specs):
            self._create_due(conn, dag_id)
        writes.record_event(
            conn,
            "dags_reloaded",
            ts=to_text(self.clock()),
            actor="scheduler",
            detail=json.dumps({"files": sorted(paths), "dags": sorted(specs)}),
        )
        logger.info("reloaded %s: DAGs %s", sorted(paths), sorted(specs))

    def _after_commit(
        self,
        requests: list[tuple[str, dict[str, Any]]],
        replies: list[tuple[Future[Any], Any, BaseException | None]],
    ) -> None:
        for key, request in requests:
            self.executor.run_attempt(key, request)
        self._apply_effects()
        for future, value, error in replies:
            future.set_exception(error) if error else future.set_result(value)
        changes, self.book.changes = self.book.changes, []
        if changes:
            for listener in self._listeners:
                try:
                    listener(changes)
                except Exception:
                    logger.exception("a scheduler listener failed")

    # --- executor events ---

    def _executor_event(self, conn: Any, event: ExecutorEvent) -> None:
        if event["ev"] == "server_died":
            self._server_died(conn)
            return
        found = self._attempts.get(event["key"])
        run = self.book.runs.get(found[0]) if found else None
        if found is None or run is None:
            return
        ti = run.tis[found[1]]
        if event["ev"] == "started":
            self.book.attempt_started(conn, run, ti, event["pid"], from_epoch(event["t"]))
            timeout = run.spec.tasks[ti.task_id].execution_timeout
            if timeout:
                when = from_epoch(event["t"]) + timedelta(seconds=timeout)
                self.timers.at(when, ("timeout", event["key"], ti.try_number))
            return
        del self._attempts[event["key"]]
        self._active_by_dag[run.dag_id] -= 1
        outcome = self._outcome(run, ti.task_id, event, ti.kill_cause)
        ended = from_epoch((event.get("result") or {}).get("end") or event["t"])
        if outcome.cause and not (event.get("result") and not ti.kill_cause):
            self.book.effects.append(
                ("log", ti.log_path, f"attempt {ti.try_number} ended: {outcome.cause}")
            )
        self.book.attempt_finished(conn, run, ti, outcome, ended)

    def _outcome(
        self, run: ActiveRun, task_id: str, event: ExecutorEvent, kill_cause: str | None
    ) -> Outcome:
        code = event["exit_code"]
        result = event.get("result")
        if kill_cause:
            return Outcome(
                TaskState.FAILED, f"{kill_cause} ({_describe_exit(code)})", exit_code=code
            )
        if result is not None:
            return Outcome(
                TaskState(result["state"]),
                result.get("error"),
                bool(result.get("no_retry")),
                result.get("xcom") or {},
                tuple(result.get("skip_task_ids") or ()),
                code,
            )
        task = run.spec.tasks.get(task_id)
        if task is not None and task.runs_bash:
            if code == 0:
                return Outcome(TaskState.SUCCESS, exit_code=code)
            if code in task.skip_exit_codes:
                return Outcome(
                    TaskState.SKIPPED, f"bash exited with {code}: skipped", exit_code=code
                )
            return Outcome(TaskState.FAILED, f"bash {_describe_exit(code)}", exit_code=code)
        return Outcome(
            TaskState.FAILED,
            f"the task process {_describe_exit(code)} without reporting a result",
            exit_code=code,
        )

    def _server_died(self, conn: Any) -> None:
        """The fork server is gone: its attempts are lost; start a new one."""
        for key, (run_key, task_id) in list(self._attempts.items()):
            self._executor_event(
                conn,
                {
                    "ev": "exited",
                    "key": key,
                    "t": self.clock().timestamp(),
                    "exit_code": -signal.SIGKILL,
                    "result": None,
                },
            )
            del run_key, task_id
        if not self._stopping:
            self.executor.start()

    # --- timeouts ---

    def _timeout(self, conn: Any, key: str, try_number: int) -> None:
        found = self._attempts.get(key)
        run = self.book.runs.get(found[0]) if found else None
        if found is None or run is None:
            return
        ti = run.tis[found[1]]
        if ti.try_number != try_number or ti.kill_cause:
            return
        limit = run.spec.tasks[ti.task_id].execution_timeout
        self.book.kill_attempt(conn, run, ti, f"execution_timeout of {limit:g} s exceeded")

    def _escalate(self, pid: int, key: str) -> None:
        if key in self._attempts and signal_group(pid, signal.SIGKILL):
            found = self._attempts[key]
            ti = self.book.runs[found[0]].tis[found[1]]
            ti.kill_cause = (
                f"{ti.kill_cause}; still running "
                f"{self.settings.task_kill_grace_seconds:g} s after SIGTERM, "
                f"so killed with SIGKILL"
            )

    def _apply_effects(self) -> None:
        effects, self.book.effects = self.book.effects, []
        for effect in effects:
            kind = effect[0]
            if kind == "kill":
                _, pid, cause, log_path = effect
                key = next(
                    (
                        k
                        for k, (rk, t) in self._attempts.items()
                        if self.book.runs.get(rk) and self.book.runs[rk].tis[t].pid == pid
                    ),
                    None,
                )
                if log_path:
                    append_line(log_path, f"stopping the attempt: {cause}; sending SIGTERM")
                if signal_group(pid, signal.SIGTERM) and key is not None:
                    grace = timedelta(seconds=self.settings.task_kill_grace_seconds)
                    self.timers.at(self.clock() + grace, ("escalate", pid, key))
            elif kind == "retry_at":
                self.timers.at(effect[3], ("retry_due", effect[1], effect[2]))
            elif kind == "log" and effect[1]:
                append_line(effect[1], effect[2])

    def _retry_timers(self, run: ActiveRun) -> None:
        """After a restart: timers for tasks waiting to retry (from the stored next_try_at)."""
        assert self.store is not None
        for row in reads.task_instances(self.store.conn, run.dag_id, run.run_id):
            if row["state"] == TaskState.UP_FOR_RETRY and row["next_try_at"]:
                when = parse_date(row["next_try_at"])
                self.timers.at(when, ("retry_due", run.key, row["task_id"]))

    # --- runs and slots ---

    def _settle(self, conn: Any) -> list[tuple[str, dict[str, Any]]]:
        """After a batch: end finished runs, start queued runs where max_active_runs allows,
        hand ready tasks to the executor; again while runs keep starting (an ended run can
        make room for the next scheduled one, which may end at once)."""
        requests: list[tuple[str, dict[str, Any]]] = []
        for _ in range(10_000):
            self._trigger_dataset_consumers(conn)
            self._finish_touched(conn)
            started = self._start_queued_runs(conn)
            requests += self._dispatch(conn)
            if not started and not self.book.touched:
                break
        return requests

    def _trigger_dataset_consumers(self, conn: Any) -> None:
        """Runs of DAGs scheduled on datasets that tasks just updated (not for the runs of a
        foreground command: the scheduler of the home triggers those)."""
        uris, self.book.dataset_updates = self.book.dataset_updates, set()
        if uris and self.only_runs is None:
            for spec in datasets.consumers(conn, uris):
                datasets.trigger_if_ready(conn, self.book, spec, self.clock())

    def _start_queued_runs(self, conn: Any) -> int:
        started = 0
        running = Counter(r.dag_id for r in self.book.runs.values() if r.state is RunState.RUNNING)
        paused = self._paused(conn)
        for run in sorted(self.book.runs.values(), key=lambda r: r.logical_date):
            if run.state is not RunState.QUEUED or run.dag_id in paused:
                continue
            if self.only_runs is None and pid_alive(run.runner_pid):
                continue  # its `dags test`/`backfill` process drives it; once gone, we do
            if running[run.dag_id] < run.spec.max_active_runs:
                running[run.dag_id] += 1
                self.book.start_run(conn, run)
                started += 1
        return started

    def _paused(self, conn: Any) -> set[str]:
        if self.only_runs is not None:
            return set()  # `dags test` and backfill run a paused DAG too, as Airflow's do
        return {r[0] for r in conn.execute("SELECT dag_id FROM dags WHERE is_paused = 1")}

    def _dispatch(self, conn: Any) -> list[tuple[str, dict[str, Any]]]:
        """Queue scheduled task instances while slots are free: highest priority_weight first,
        within `parallelism` and each DAG's `max_active_tasks`."""
        while self.book.ready:
            run_key, task_id = self.book.ready.popleft()
            run = self.book.runs.get(run_key)
            if run is not None and task_id in run.spec.tasks:
                weight = run.spec.tasks[task_id].priority_weight
                heapq.heappush(self._heap, (-weight, next(self._seq), run_key, task_id))
        requests: list[tuple[str, dict[str, Any]]] = []
        deferred = []
        paused = self._paused(conn) if self._heap else set()
        while self._heap and len(self._attempts) < self.settings.parallelism:
            item = heapq.heappop(self._heap)
            run = self.book.runs.get(item[2])
            if run is None or run.tis[item[3]].state is not TaskState.SCHEDULED:
                continue
            if run.dag_id in paused or self._active_by_dag[run.dag_id] >= run.spec.max_active_tasks:
                deferred.append(item)
                continue
            requests.append(self._queue(conn, run, item[3]))
        for item in deferred:
            heapq.heappush(self._heap, item)
        return requests

    def _queue(self, conn: Any, run: ActiveRun, task_id: str) -> tuple[str, dict[str, Any]]:
        ti = run.tis[task_id]
        log = attempt_log_path(
            self.settings.logs_dir, run.dag_id, run.run_id, task_id, ti.try_number + 1
        )
        self.book.attempt_queued(conn, run, ti, str(log), self._hostname)
        key = str(next(self._keys))
        self._attempts[key] = (run.key, task_id)
        self._active_by_dag[run.dag_id] += 1
        info = {
            "dag_id": run.dag_id,
            "task_id": task_id,
            "run_id": run.run_id,
            "try_number": ti.try_number,
            "max_tries": ti.max_tries,
            "logical_date": run.logical_date,
            "data_interval_start": run.data_interval_start,
            "data_interval_end": run.data_interval_end,
            "run_type": run.run_type,
            "conf": run.conf,
            "db_path": str(self.settings.db_path),
            "prev_success": self._prev_success(conn, run),
        }
        return key, {
            "file": run.spec.fileloc,
            "info": info,
            "log": str(log),
            "runs_bash": run.spec.tasks[task_id].runs_bash,
            "preload": self._preload.get(run.spec.fileloc, False),
        }

    @staticmethod
    def _prev_success(conn: Any, run: ActiveRun) -> tuple[str | None, str | None]:
        """Context's prev_data_interval_*_success, looked up here once per run so that the
        attempt's process never has to open the store for it."""
        if run.prev_success is None:
            row = conn.execute(
                "SELECT data_interval_start, data_interval_end FROM dag_runs WHERE dag_id = ? "
                "AND state = 'success' AND logical_date < ? ORDER BY logical_date DESC LIMIT 1",
                (run.dag_id, run.logical_date),
            ).fetchone()
            run.prev_success = (row[0], row[1]) if row else (None, None)
        return run.prev_success

    def _finish_touched(self, conn: Any) -> None:
        touched, self.book.touched = self.book.touched, set()
        for run_key in touched:
            run = self.book.runs.get(run_key)
            if run is not None and self.book.finish_if_done(conn, run):
                self._create_due(conn, run.dag_id)  # a slot of max_active_runs came free

    @staticmethod
    def _dag_ids_of(conn: Any, paths: set[str]) -> set[str]:
        marks = ", ".join("?" for _ in paths)
        rows = conn.execute(f"SELECT dag_id FROM dags WHERE fileloc IN ({marks})", tuple(paths))
        return {r[0] for r in rows}

    # --- stopping ---

    def _shutdown(self) -> None:
        """Stop live attempts (they are recorded as failed or up_for_retry with the cause),
        then the timers and the fork server."""
        self._stopping = True
        if self.watcher is not None:
            self.watcher.stop()
        if self._attempts and self.store is not None:
            with self.store.transaction() as conn:
                for run_key, task_id in self._attempts.values():
                    run = self.book.runs[run_key]
                    self.book.kill_attempt(conn, run, run.tis[task_id], "the scheduler stopped")
            self._apply_effects()
            self._drain_exits()
        if self.only_runs is not None and self.book.runs and self.store is not None:
            with self.store.transaction() as conn:
                for run in list(self.book.runs.values()):
                    self.book.abandon(conn, run, "interrupted before it finished")
        self.timers.shutdown()
        self.executor.stop()
        if self.store is not None:
            self.store.close()

    def _drain_exits(self) -> None:
        """Wait for the stopped attempts' exit events and record them."""
        grace = self.settings.task_kill_grace_seconds + 2.0
        deadline = self.clock() + timedelta(seconds=grace)
        assert self.store is not None
        while self._attempts and self.clock() < deadline:
            try:
                message = self._inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if message[0] in ("executor", "escalate"):
                with self.store.transaction() as conn:
                    self._handle(conn, message)
                    self._finish_touched(conn)
                self._apply_effects()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "ended"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"
