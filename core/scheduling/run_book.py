"""The run state machine: the active runs in memory and the transitions of runs and of their
task instances' dependencies (trigger rules, depends_on_past, deadlock). Every task-instance
state change goes through `RunBook.set_state`, which writes it through `store.writes` inside
the caller's transaction. What needs a process or a timer is left in `effects` for the
scheduler service; attempts' own transitions are in `attempts.py`."""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flowtui.clock import Clock, parse_datetime, to_text
from flowtui.execution.base import AttemptKey
from flowtui.scheduling import expansion, readiness
from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.scheduling.changes import Change, RunStateChanged, TaskStateChanged
from flowtui.scheduling.effects import Effect, RescheduleAt, RetryAt
from flowtui.scheduling.trigger_rules import Decision
from flowtui.spec import DagSpec
from flowtui.states import FINISHED, RUN_FINISHED, RunState, TaskState
from flowtui.store import reads, writes

_NOT_STARTED = frozenset(
    {TaskState.NONE, TaskState.SCHEDULED, TaskState.UP_FOR_RETRY, TaskState.UP_FOR_RESCHEDULE}
)
"""States in which a task that left the DAG becomes `removed` (an attempt already running
finishes)."""

_PAST_DONE = frozenset({TaskState.SUCCESS, TaskState.SKIPPED})
"""What a task's instance in the previous run must be for depends_on_past to let it run."""

_ENDS_AT_ONCE = {
    Decision.RUN: TaskState.SUCCESS,  # EmptyOperator: nothing to run, as in Airflow
    Decision.SKIP: TaskState.SKIPPED,
    Decision.UPSTREAM_FAILED: TaskState.UPSTREAM_FAILED,
}

_SENSING = frozenset(
    {TaskState.UP_FOR_RESCHEDULE, TaskState.SCHEDULED, TaskState.QUEUED, TaskState.RUNNING}
)
"""The states a sensor in reschedule mode passes through between two pokes of one try."""


class RunBook:
    """Active runs and the rules that move their task instances; one per scheduler."""

    def __init__(self, clock: Clock, actor: str = "scheduler") -> None:
        self.clock = clock
        self.actor = actor
        """Who the store's events name for the changes made now (a command's sender while
        it is applied)."""
        self.runs: dict[RunKey, ActiveRun] = {}
        self.ready: deque[tuple[RunKey, str, int]] = deque()
        """Task instances (task_id, map_index) that became `scheduled`, for the scheduler to
        queue."""
        self.effects: list[Effect] = []
        """What the scheduler must do once the current transaction commits."""
        self.changes: list[Change] = []
        """State changes since the scheduler last drained them, for listeners."""
        self.touched: set[RunKey] = set()
        """Runs whose task instances changed since the scheduler last looked."""
        self.dataset_updates: set[str] = set()
        """URIs of datasets updated since the scheduler last looked."""
        self.webhook_events: frozenset[str] = frozenset()
        """The events some `[[notify.webhook]]` asks for: they alert even without email."""
        self.released: dict[RunKey, list[str]] = {}
        """Tasks to evaluate because a setup above them, not their direct upstream, finished
        (after a clear, the tasks between may not run again to evaluate them)."""

    def now(self) -> str:
        return to_text(self.clock())

    def reset(self) -> None:
        """Forget everything in memory (a batch whose transaction failed changed it): the
        caller loads the runs again from the store."""
        self.runs.clear()
        self.ready.clear()
        self.effects.clear()
        self.changes.clear()
        self.touched.clear()
        self.dataset_updates.clear()
        self.released.clear()

    # --- loading ---

    def load_active(self, conn: sqlite3.Connection) -> None:
        """Load queued and running runs, but not those that a live `dags test` or
        `dags backfill` process drives, nor those in memory already (recovery's)."""
        for row in reads.active_runs(conn):
            loaded = RunKey(row["dag_id"], row["run_id"]) in self.runs
            if not loaded and not is_driven_elsewhere(row["runner_pid"]):
                self.load_run(conn, row)

    def load_run(
        self, conn: sqlite3.Connection, row: dict[str, Any], spec: DagSpec | None = None
    ) -> ActiveRun | None:
        """Bring a run (any state) into memory; None if its DAG is unknown to the store.
        `spec`: the DAG's spec as the store has it, when the caller has read it already."""
        spec = spec or reads.dag_spec(conn, row["dag_id"])
        if spec is None:
            return None
        rows = reads.task_instances(conn, row["dag_id"], row["run_id"])
        tis: dict[str, TI] = {}
        mapped: dict[str, list[TI]] = {}
        for r in rows:
            ti = TI(
                r["task_id"],
                TaskState(r["state"]),
                r["try_number"],
                r["max_tries"],
                r["pid"],
                r["start_date"],
                r["log_path"],
                r["queued_at"],
                map_index=r["map_index"],
            )
            if ti.map_index < 0:
                tis[ti.task_id] = ti
            else:
                mapped.setdefault(ti.task_id, []).append(ti)
        run = _active_run(row, spec, tis, mapped)
        sensing = [ti for ti in run.all_tis() if ti.state is TaskState.UP_FOR_RESCHEDULE]
        for ti in sensing:
            ti.sensing_since = _first_poke(conn, row, ti)
        self._sync_tasks(conn, run)
        self.runs[run.key] = run
        for ti in run.all_tis():
            if ti.state is TaskState.SCHEDULED:
                self.ready.append((run.key, ti.task_id, ti.map_index))
        if not is_driven_elsewhere(run.runner_pid):  # a restarted scheduler needs the timers
            for r in rows:
                failed = run.ti(r["task_id"], r["map_index"])
                if failed and failed.state is TaskState.UP_FOR_RETRY and r["next_try_at"]:
                    when = parse_datetime(r["next_try_at"])
                    self.effects.append(RetryAt(run.attempt_key(failed), when))
            for ti in sensing:  # poked at once: what would wake it was watched by the dead
                self.effects.append(RescheduleAt(run.attempt_key(ti), self.clock()))
        return run

    def update_spec(self, conn: sqlite3.Connection, run: ActiveRun, spec: DagSpec) -> None:
        """The DAG file changed: the run goes on with the new definition."""
        run.spec = spec
        self._sync_tasks(conn, run)
        if run.state is RunState.RUNNING:
            self.touched.add(run.key)
            self.evaluate(conn, run, run.task_ids())

    def _sync_tasks(self, conn: sqlite3.Connection, run: ActiveRun) -> None:
        """Match the run's task instances to the DAG as it is now: new tasks get one, tasks
        that left the DAG become `removed` unless they already ran."""
        missing = [t for t in run.spec.tasks if t not in run.tis and t not in run.mapped]
        if missing:
            writes.insert_task_instances(conn, run.spec, run.run_id, missing)
            for task_id in missing:
                ti = TI(task_id, TaskState.NONE, 0, run.spec.tasks[task_id].retries)
                run.tis[task_id] = ti
                run.counts[TaskState.NONE] += 1
        for ti in list(run.all_tis()):
            if ti.task_id not in run.spec.tasks and ti.state in _NOT_STARTED:
                self.set_state(
                    conn, run, ti, TaskState.REMOVED, detail="task is no longer in the DAG"
                )

    # --- runs ---

    def create_run(
        self,
        conn: sqlite3.Connection,
        spec: DagSpec,
        run_id: str,
        run_type: str,
        logical_date: datetime,
        *,
        data_interval: tuple[datetime, datetime] | None = None,
        conf: dict[str, Any] | None = None,
        runner_pid: int | None = None,
    ) -> ActiveRun:
        start, end = data_interval or (logical_date, logical_date)
        row = {
            "dag_id": spec.dag_id,
            "run_id": run_id,
            "run_type": run_type,
            "state": RunState.QUEUED.value,
            "logical_date": to_text(logical_date),
            "data_interval_start": to_text(start),
            "data_interval_end": to_text(end),
            "conf": conf or {},
            "runner_pid": runner_pid,
        }
        writes.insert_run(conn, spec, row, ts=self.now(), actor=self.actor)
        self.changes.append(RunStateChanged(spec.dag_id, run_id, None, RunState.QUEUED))
        tis = {t: TI(t, TaskState.NONE, 0, task.retries) for t, task in spec.tasks.items()}
        run = _active_run(row, spec, tis)
        self.runs[run.key] = run
        return run

    def start_run(self, conn: sqlite3.Connection, run: ActiveRun) -> None:
        """queued -> running; tasks whose dependencies are met become scheduled."""
        now = self.now()
        self._set_run_state(conn, run, RunState.RUNNING, start_date=now, end_date=None)
        self.touched.add(run.key)  # a run with no tasks is done at once
        self.evaluate(conn, run, run.task_ids())

    def finish_if_done(self, conn: sqlite3.Connection, run: ActiveRun) -> bool:
        """End the run when no task instance can move any more; True if it ended."""
        if run.state is not RunState.RUNNING or run.waiting_on_past:
            return False  # waiting on the past is not stuck: a clear or mark releases it
        unfinished = run.unfinished
        if unfinished and unfinished == run.counts[TaskState.NONE]:
            # Nothing runs, nothing will: these tasks wait on a rule that can no longer be met.
            for ti in list(run.all_tis()):
                if ti.state is TaskState.NONE:
                    detail = "deadlock: its trigger rule can no longer be met"
                    self.set_state(conn, run, ti, TaskState.UPSTREAM_FAILED, detail=detail)
            unfinished = 0
        if unfinished:
            return False
        self._set_run_state(conn, run, run.judge(), end_date=self.now())
        del self.runs[run.key]
        return True

    def refresh_finished(self, conn: sqlite3.Connection, run: ActiveRun) -> None:
        """Re-judge a finished run after a user marked one of its tasks."""
        if run.state in RUN_FINISHED and not run.unfinished and run.judge() is not run.state:
            self._set_run_state(conn, run, run.judge())

    def reopen(self, conn: sqlite3.Connection, run: ActiveRun) -> None:
        """A finished run whose tasks were cleared is queued again."""
        if run.state in RUN_FINISHED:
            self._set_run_state(conn, run, RunState.QUEUED, end_date=None)

    def drive_from(self, conn: sqlite3.Connection, run: ActiveRun, pid: int) -> None:
        """Process `pid` (a `dags test` or `dags backfill`) drives the run from now on."""
        run.runner_pid = pid
        self._set_run_state(conn, run, run.state, runner_pid=pid)

    def abandon(self, conn: sqlite3.Connection, run: ActiveRun, detail: str) -> None:
        """End a run that nobody will drive on (a foreground command was interrupted)."""
        self.end_run(conn, run, RunState.FAILED, detail)

    def end_run(
        self, conn: sqlite3.Connection, run: ActiveRun, state: RunState, detail: str
    ) -> None:
        """End a run in `state`, whatever its leaves say (abandoned, or marked by a user)."""
        self._set_run_state(conn, run, state, detail=detail, end_date=self.now())
        self.runs.pop(run.key, None)

    def abandon_driven_by(self, conn: sqlite3.Connection, pid: int, detail: str) -> None:
        """Fail the unfinished runs process `pid` drove (see `abandon`)."""
        for run in [r for r in self.runs.values() if r.runner_pid == pid]:
            self.abandon(conn, run, detail)

    def current(self, attempt: AttemptKey) -> tuple[ActiveRun, TI] | None:
        """The run and task instance of `attempt`, while it is their current try."""
        run = self.runs.get(RunKey(attempt.dag_id, attempt.run_id))
        ti = run.ti(attempt.task_id, attempt.map_index) if run else None
        if run is None or ti is None or ti.try_number != attempt.try_number:
            return None
        return run, ti

    def _set_run_state(
        self,
        conn: sqlite3.Connection,
        run: ActiveRun,
        new: RunState,
        *,
        detail: str | None = None,
        **fields: Any,
    ) -> None:
        ts = self.now()
        writes.set_run_state(
            conn,
            run.dag_id,
            run.run_id,
            run.state,
            new,
            ts=ts,
            actor=self.actor,
            detail=detail,
            **fields,
        )
        if new is not run.state:
            self.changes.append(RunStateChanged(run.dag_id, run.run_id, run.state, new))
            run.state = new

    # --- dependencies ---

    def evaluate(self, conn: sqlite3.Connection, run: ActiveRun, task_ids: Iterable[str]) -> None:
        """Apply trigger rules to the given tasks' instances in state `none`, and onwards to the
        tasks below any that end at once (skipped, upstream_failed, EmptyOperator success). A
        mapped task expands when its rule lets it run (`expansion`)."""
        work = deque(task_ids)
        while work or run.key in self.released:
            if not work:
                work.extend(self.released.pop(run.key))
            task_id = work.popleft()
            task = run.spec.tasks.get(task_id)
            waiting = readiness.waiting(run, task_id)
            if not waiting or task is None:
                continue
            decision = readiness.decide(run, task)
            if decision is Decision.WAIT:
                continue
            if decision is Decision.RUN and task.depends_on_past:
                if not _past_done(conn, run, task_id):
                    run.waiting_on_past.add(task_id)
                    continue  # evaluated again when the previous run's instance succeeds
                run.waiting_on_past.discard(task_id)
            if decision is Decision.RUN and task.is_mapped:
                waiting = expansion.expand(self, conn, run, task)
                if not waiting:  # it ended instead: nothing to map over, or skipped
                    work.extend(task.downstream)
                    continue
            if decision is Decision.RUN and task.operator != "EmptyOperator":
                for ti in waiting:
                    self.set_state(conn, run, ti, TaskState.SCHEDULED)
                    self.ready.append((run.key, task_id, ti.map_index))
                continue
            now = self.now()
            new = _ENDS_AT_ONCE[decision]
            for ti in waiting:
                self.set_state(conn, run, ti, new, start_date=now, end_date=now, duration=0.0)
            work.extend(task.downstream)

    # --- the one way a task instance changes state ---

    def set_state(
        self,
        conn: sqlite3.Connection,
        run: ActiveRun,
        ti: TI,
        new: TaskState,
        *,
        detail: str | None = None,
        actor_detail: str | None = None,
        **fields: Any,
    ) -> None:
        """Move `ti` to `new`, writing `fields` to its row and an event naming the actor."""
        old = ti.state
        ti.state = new
        if new not in _SENSING:  # a sensor's try ended (or was cleared or marked)
            ti.sensing_since = None
        if new is not TaskState.NONE:  # e.g. marked while depends_on_past held it
            run.waiting_on_past.discard(ti.task_id)
        self.touched.add(run.key)
        run.counts[old] -= 1
        run.counts[new] += 1
        actor = f"{self.actor} ({actor_detail})" if actor_detail else self.actor
        writes.set_task_state(
            conn,
            run.ti_key(ti),
            old,
            new,
            ts=self.now(),
            actor=actor,
            attempt=ti.try_number,
            detail=detail,
            **fields,
        )
        self.changes.append(
            TaskStateChanged(
                run.dag_id, run.run_id, ti.task_id, ti.try_number, old, new, detail, ti.map_index
            )
        )
        task = run.spec.tasks.get(ti.task_id)
        if new in _PAST_DONE and task is not None and task.depends_on_past:
            self._release_next_run(conn, run, ti.task_id)
        if new in FINISHED and task is not None and task.is_setup:
            below = [t.task_id for t in run.spec.tasks.values() if ti.task_id in t.indirect_setups]
            if below:
                self.released.setdefault(run.key, []).extend(below)

    def _release_next_run(self, conn: sqlite3.Connection, run: ActiveRun, task_id: str) -> None:
        """depends_on_past: the next run's instance of this task may be waiting for this one."""
        later = [
            r
            for r in self.runs.values()
            if r.dag_id == run.dag_id
            and r.logical_date > run.logical_date
            and r.state is RunState.RUNNING
        ]
        if later:
            self.evaluate(conn, min(later, key=lambda r: r.logical_date), [task_id])


def _active_run(
    row: dict[str, Any],
    spec: DagSpec,
    tis: dict[str, TI],
    mapped: dict[str, list[TI]] | None = None,
) -> ActiveRun:
    """The in-memory run of a `dag_runs` row and its task instances."""
    run = ActiveRun(
        row["dag_id"],
        row["run_id"],
        row["run_type"],
        RunState(row["state"]),
        row["logical_date"],
        row["data_interval_start"],
        row["data_interval_end"],
        row["conf"],
        spec,
        tis,
        runner_pid=row.get("runner_pid"),
        mapped=mapped,
    )
    for instances in run.mapped.values():
        instances.sort(key=lambda ti: ti.map_index)
    run.counts.update(ti.state for ti in run.all_tis())
    return run


def is_driven_elsewhere(runner_pid: int | None) -> bool:
    """Whether another live process (a `dags test` or `dags backfill`) drives a run."""
    return runner_pid is not None and runner_pid != os.getpid() and is_alive(runner_pid)


def is_alive(pid: int, started: str | None = None) -> bool:
    """Whether process `pid` runs (a zombie does not); with `started` (as stored), whether it
    is the process that started then, not a later one given the same PID."""
    import psutil  # here: it takes 30 ms to import, and most runs have no runner_pid

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.Error:
        return False
    return started is None or created <= parse_datetime(started).timestamp() + 1.0


def _past_done(conn: sqlite3.Connection, run: ActiveRun, task_id: str) -> bool:
    """Whether the previous run's (by logical date) instance of the task succeeded or was
    skipped; true when there is no previous instance, as in Airflow."""
    row = conn.execute(
        "SELECT ti.state FROM task_instances ti JOIN dag_runs r "
        "ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id "
        "WHERE ti.dag_id = ? AND ti.task_id = ? AND r.logical_date < ? "
        "ORDER BY r.logical_date DESC LIMIT 1",
        (run.dag_id, task_id, run.logical_date),
    ).fetchone()
    return row is None or row[0] in _PAST_DONE


def _first_poke(conn: sqlite3.Connection, run: dict[str, Any], ti: TI) -> str | None:
    """When a rescheduled sensor's try began: its attempt's start (kept across its pokes)."""
    for attempt in reads.attempts(conn, run["dag_id"], run["run_id"], ti.task_id, ti.map_index):
        if attempt["try_number"] == ti.try_number:
            return str(attempt["start_date"]) if attempt["start_date"] else ti.start_date
    return ti.start_date
