"""Active DAG runs in memory and every transition of their task instances: trigger-rule
evaluation, attempt outcomes, retries, clear and mark. Each method writes through
`store.writes` inside the caller's transaction; what needs a process or a timer is left in
`effects` for the scheduler service, which owns the executor and the clock's timers."""

from __future__ import annotations

import sqlite3
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flowtui.clock import Clock, to_text
from flowtui.execution.process_groups import pid_alive
from flowtui.scheduling.trigger_rules import Decision, UpstreamCounts, evaluate
from flowtui.spec import DagSpec, TaskSpec
from flowtui.states import FAILED_STATES, FINISHED, UNFINISHED, RunState, TaskState
from flowtui.store import reads, writes

TIKey = tuple[str, str, str]
_NOT_STARTED = frozenset(
    {TaskState.NONE, TaskState.SCHEDULED, TaskState.UP_FOR_RETRY, TaskState.UP_FOR_RESCHEDULE}
)
"""States in which a task that left the DAG becomes `removed` (an attempt already running
finishes)."""


@dataclass
class TI:
    """The scheduler's copy of one task instance."""

    task_id: str
    state: TaskState
    try_number: int
    max_tries: int
    pid: int | None = None
    start_date: str | None = None
    log_path: str | None = None
    kill_cause: str | None = None
    """Why the scheduler is killing the live attempt (timeout, clear, mark); None otherwise."""


@dataclass
class ActiveRun:
    """A run that is queued or running, with its task instances and their state counts."""

    dag_id: str
    run_id: str
    run_type: str
    state: RunState
    logical_date: str
    data_interval_start: str | None
    data_interval_end: str | None
    conf: dict[str, Any]
    spec: DagSpec
    tis: dict[str, TI]
    counts: Counter[TaskState] = field(default_factory=Counter)
    prev_success: tuple[str | None, str | None] | None = None
    """Data interval of the DAG's latest earlier successful run, looked up once per run."""
    runner_pid: int | None = None
    """For a run of `dags test` or `dags backfill`: the process that drives it."""
    waiting_on_past: set[str] = field(default_factory=set)
    """Tasks held by depends_on_past until the previous run's instance succeeds."""

    @property
    def key(self) -> tuple[str, str]:
        return self.dag_id, self.run_id

    def ti_key(self, task_id: str) -> TIKey:
        return self.dag_id, self.run_id, task_id

    @property
    def unfinished(self) -> int:
        return sum(self.counts[s] for s in UNFINISHED)


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended, as the executor saw it."""

    state: TaskState
    cause: str | None = None
    no_retry: bool = False
    xcom: dict[str, Any] = field(default_factory=dict)
    skip_task_ids: tuple[str, ...] = ()
    exit_code: int | None = None


class RunBook:
    """Active runs and the rules that move their task instances; one per scheduler."""

    def __init__(self, clock: Clock, actor: str = "scheduler") -> None:
        self.clock = clock
        self.actor = actor
        self.runs: dict[tuple[str, str], ActiveRun] = {}
        self.ready: deque[tuple[tuple[str, str], str]] = deque()
        """Task instances that became `scheduled`, for the scheduler to queue."""
        self.effects: list[tuple[Any, ...]] = []
        """("kill", pid, cause) / ("retry_at", run_key, task_id, when) / ("run_done", run)."""
        self.changes: list[dict[str, Any]] = []
        """State changes since the scheduler last drained them, for listeners."""
        self.touched: set[tuple[str, str]] = set()
        """Runs whose task instances changed since the scheduler last looked."""
        self.dataset_updates: set[str] = set()
        """URIs of datasets updated since the scheduler last looked."""

    # --- loading ---

    def load_active(self, conn: sqlite3.Connection) -> None:
        """Load queued and running runs, but not those that a live `dags test` or
        `dags backfill` process drives."""
        for row in reads.active_runs(conn):
            if pid_alive(row["runner_pid"]):
                continue
            self.load_run(conn, row)

    def load_run(self, conn: sqlite3.Connection, row: dict[str, Any]) -> ActiveRun | None:
        """Bring a run (any state) into memory; None if its DAG is unknown to the store."""
        spec = reads.dag_spec(conn, row["dag_id"])
        if spec is None:
            return None
        tis = {
            r["task_id"]: TI(
                r["task_id"],
                TaskState(r["state"]),
                r["try_number"],
                r["max_tries"],
                r["pid"],
                r["start_date"],
                r["log_path"],
            )
            for r in reads.task_instances(conn, row["dag_id"], row["run_id"])
        }
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
        )
        run.counts.update(ti.state for ti in tis.values())
        self._sync_tasks(conn, run)
        self.runs[run.key] = run
        for ti in tis.values():
            if ti.state is TaskState.SCHEDULED:
                self.ready.append((run.key, ti.task_id))
        return run

    def update_spec(self, conn: sqlite3.Connection, run: ActiveRun, spec: DagSpec) -> None:
        """The DAG file changed: the run goes on with the new definition."""
        run.spec = spec
        self._sync_tasks(conn, run)
        if run.state is RunState.RUNNING:
            self.touched.add(run.key)
            self.evaluate(conn, run, list(run.tis))

    def _sync_tasks(self, conn: sqlite3.Connection, run: ActiveRun) -> None:
        """Match the run's task instances to the DAG as it is now: new tasks get one, tasks
        that left the DAG become `removed` unless they already ran."""
        missing = [t for t in run.spec.tasks if t not in run.tis]
        if missing:
            writes.insert_task_instances(conn, run.spec, run.run_id, missing)
            for task_id in missing:
                ti = TI(task_id, TaskState.NONE, 0, run.spec.tasks[task_id].retries)
                run.tis[task_id] = ti
                run.counts[TaskState.NONE] += 1
        for ti in list(run.tis.values()):
            if ti.task_id not in run.spec.tasks and ti.state in _NOT_STARTED:
                self._set(conn, run, ti, TaskState.REMOVED, detail="task is no longer in the DAG")

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
        writes.insert_run(conn, spec, row, ts=self._now(), actor=self.actor)
        self.changes.append(
            {"kind": "run_state", "dag_id": spec.dag_id, "run_id": run_id, "new_state": "queued"}
        )
        run = self.load_run(conn, row)
        assert run is not None
        return run

    def start_run(self, conn: sqlite3.Connection, run: ActiveRun) -> None:
        """queued -> running; tasks whose dependencies are met become scheduled."""
        now = self._now()
        writes.set_run_state(
            conn,
            run.dag_id,
            run.run_id,
            run.state,
            RunState.RUNNING,
            ts=now,
            actor=self.actor,
            start_date=now,
            end_date=None,
        )
        self._run_change(run, RunState.RUNNING)
        self.touched.add(run.key)  # a run with no tasks is done at once
        self.evaluate(conn, run, list(run.tis))

    def finish_if_done(self, conn: sqlite3.Connection, run: ActiveRun) -> bool:
        """End the run when no task instance can move any more; True if it ended."""
        if run.state is not RunState.RUNNING:
            return False
        unfinished = run.unfinished
        if run.waiting_on_past:
            return False  # not stuck: a clear or mark of the previous run releases them
        if unfinished and unfinished == run.counts[TaskState.NONE]:
            # Nothing runs, nothing will: these tasks wait on a rule that can no longer be met.
            for ti in list(run.tis.values()):
                if ti.state is TaskState.NONE:
                    self._set(
                        conn,
                        run,
                        ti,
                        TaskState.UPSTREAM_FAILED,
                        detail="deadlock: its trigger rule can no longer be met",
                    )
            unfinished = 0
        if unfinished:
            return False
        new = _judge(run)
        writes.set_run_state(
            conn,
            run.dag_id,
            run.run_id,
            run.state,
            new,
            ts=self._now(),
            actor=self.actor,
            end_date=self._now(),
        )
        self._run_change(run, new)
        del self.runs[run.key]
        self.effects.append(("run_done", run))
        return True

    def refresh_finished(self, conn: sqlite3.Connection, run: ActiveRun) -> None:
        """Re-judge a finished run after a user marked one of its tasks."""
        if run.state in (RunState.SUCCESS, RunState.FAILED) and not run.unfinished:
            new = _judge(run)
            if new is not run.state:
                writes.set_run_state(
                    conn, run.dag_id, run.run_id, run.state, new, ts=self._now(), actor=self.actor
                )
                self._run_change(run, new)

    def abandon(self, conn: sqlite3.Connection, run: ActiveRun, detail: str) -> None:
        """End a run that nobody will drive on (a foreground command was interrupted)."""
        writes.set_run_state(
            conn,
            run.dag_id,
            run.run_id,
            run.state,
            RunState.FAILED,
            ts=self._now(),
            actor=self.actor,
            detail=detail,
            end_date=self._now(),
        )
        self._run_change(run, RunState.FAILED)
        del self.runs[run.key]

    # --- dependencies ---

    def evaluate(self, conn: sqlite3.Connection, run: ActiveRun, task_ids: Iterable[str]) -> None:
        """Apply trigger rules to the given tasks in state `none`, and onwards to the tasks
        below any that end at once (skipped, upstream_failed, EmptyOperator success)."""
        work = deque(task_ids)
        while work:
            ti = run.tis[work.popleft()]
            task = run.spec.tasks.get(ti.task_id)
            if ti.state is not TaskState.NONE or task is None:
                continue
            states = (run.tis[u].state for u in task.upstream if u in run.tis)
            decision = evaluate(task.trigger_rule, UpstreamCounts.from_states(states))
            if decision is Decision.WAIT:
                continue
            if decision is Decision.RUN and task.depends_on_past:
                if not _past_done(conn, run, ti.task_id):
                    run.waiting_on_past.add(ti.task_id)
                    continue  # evaluated again when the previous run's instance succeeds
                run.waiting_on_past.discard(ti.task_id)
            if decision is Decision.RUN and task.operator != "EmptyOperator":
                self._set(conn, run, ti, TaskState.SCHEDULED)
                self.ready.append((run.key, ti.task_id))
                continue
            new = {
                Decision.RUN: TaskState.SUCCESS,  # EmptyOperator: nothing to run, as in Airflow
                Decision.SKIP: TaskState.SKIPPED,
                Decision.UPSTREAM_FAILED: TaskState.UPSTREAM_FAILED,
            }[decision]
            now = self._now()
            self._set(conn, run, ti, new, start_date=now, end_date=now, duration=0.0)
            work.extend(task.downstream)

    # --- attempts ---

    def attempt_queued(
        self, conn: sqlite3.Connection, run: ActiveRun, ti: TI, log_path: str, hostname: str
    ) -> None:
        ti.try_number += 1
        ti.log_path = log_path
        ti.kill_cause = None
        now = self._now()
        key = run.ti_key(ti.task_id)
        writes.delete_xcom(conn, key)  # a new attempt starts with no XComs, as in Airflow
        self._set(
            conn,
            run,
            ti,
            TaskState.QUEUED,
            try_number=ti.try_number,
            queued_at=now,
            log_path=log_path,
            hostname=hostname,
            pid=None,
            start_date=None,
            end_date=None,
            duration=None,
            next_try_at=None,
        )
        writes.upsert_attempt(
            conn, key, ti.try_number, state=TaskState.QUEUED.value, queued_at=now, log_path=log_path
        )

    def attempt_started(
        self, conn: sqlite3.Connection, run: ActiveRun, ti: TI, pid: int, started: datetime
    ) -> None:
        ti.pid = pid
        ti.start_date = to_text(started)
        if ti.state is TaskState.QUEUED:
            self._set(conn, run, ti, TaskState.RUNNING, pid=pid, start_date=ti.start_date)
        writes.upsert_attempt(
            conn,
            run.ti_key(ti.task_id),
            ti.try_number,
            state=TaskState.RUNNING.value,
            start_date=ti.start_date,
            pid=pid,
        )

    def attempt_finished(
        self, conn: sqlite3.Connection, run: ActiveRun, ti: TI, outcome: Outcome, ended: datetime
    ) -> TaskState:
        """Record how an attempt ended and move on; returns the task instance's new state."""
        task = run.spec.tasks.get(ti.task_id)
        end = to_text(ended)
        duration = (
            (ended - datetime.fromisoformat(ti.start_date)).total_seconds()
            if (ti.start_date)
            else None
        )
        key = run.ti_key(ti.task_id)
        attempt_state = outcome.state
        if ti.state is TaskState.RESTARTING:
            attempt_state = TaskState.FAILED
            self._set(
                conn,
                run,
                ti,
                TaskState.NONE,
                pid=None,
                end_date=end,
                duration=duration,
                detail="cleared while running; the attempt was stopped",
            )
            self.evaluate(conn, run, [ti.task_id])
        elif ti.state in FINISHED:  # marked by a user while it ran
            attempt_state = ti.state
        elif outcome.state is TaskState.FAILED:
            self._fail(conn, run, ti, task, outcome, end, duration)
            attempt_state = TaskState.FAILED
        else:
            if outcome.xcom:
                writes.write_xcom(conn, key, outcome.xcom, end)
            self._set(conn, run, ti, outcome.state, end_date=end, duration=duration)
            if outcome.state is TaskState.SUCCESS and task is not None and task.outlets:
                writes.record_dataset_updates(conn, key, task.outlets, end)
                self.dataset_updates.update(task.outlets)
            self._skip(conn, run, outcome.skip_task_ids)
            self.evaluate(conn, run, task.downstream if task else ())
        writes.upsert_attempt(
            conn,
            key,
            ti.try_number,
            state=attempt_state.value,
            end_date=end,
            exit_code=outcome.exit_code,
            cause=outcome.cause,
        )
        ti.pid = None
        return ti.state

    def _fail(
        self,
        conn: sqlite3.Connection,
        run: ActiveRun,
        ti: TI,
        task: TaskSpec | None,
        outcome: Outcome,
        end: str,
        duration: float | None,
    ) -> None:
        if task is not None and not outcome.no_retry and ti.try_number <= ti.max_tries:
            when = self.clock() + timedelta(seconds=retry_delay(task, ti.try_number))
            self._set(
                conn,
                run,
                ti,
                TaskState.UP_FOR_RETRY,
                end_date=end,
                duration=duration,
                next_try_at=to_text(when),
                detail=outcome.cause,
            )
            self.effects.append(("retry_at", run.key, ti.task_id, when))
            return
        self._set(
            conn, run, ti, TaskState.FAILED, end_date=end, duration=duration, detail=outcome.cause
        )
        self.evaluate(conn, run, task.downstream if task else ())

    def _skip(self, conn: sqlite3.Connection, run: ActiveRun, task_ids: Iterable[str]) -> None:
        """Branching and short-circuit: these tasks are skipped before they could run."""
        below: list[str] = []
        now = self._now()
        for task_id in task_ids:
            ti = run.tis.get(task_id)
            if ti is not None and ti.state in (TaskState.NONE, TaskState.SCHEDULED):
                self._set(
                    conn, run, ti, TaskState.SKIPPED, start_date=now, end_date=now, duration=0.0
                )
                below.extend(run.spec.tasks[task_id].downstream)
        self.evaluate(conn, run, below)

    def requeue_lost(self, conn: sqlite3.Connection, run: ActiveRun, ti: TI) -> None:
        """An attempt queued by a scheduler that died before it started: queue it again,
        without counting the try."""
        ti.try_number = max(0, ti.try_number - 1)
        self._set(
            conn,
            run,
            ti,
            TaskState.SCHEDULED,
            try_number=ti.try_number,
            detail="queued by a scheduler that stopped before the attempt started",
        )
        self.ready.append((run.key, ti.task_id))

    def retry_due(self, conn: sqlite3.Connection, run: ActiveRun, task_id: str) -> None:
        ti = run.tis.get(task_id)
        if ti is not None and ti.state is TaskState.UP_FOR_RETRY:
            self._set(conn, run, ti, TaskState.SCHEDULED)
            self.ready.append((run.key, task_id))

    def kill_attempt(self, conn: sqlite3.Connection, run: ActiveRun, ti: TI, cause: str) -> None:
        """Ask the scheduler to stop a live attempt; its exit is recorded with `cause`."""
        ti.kill_cause = cause
        writes.record_event(
            conn,
            "kill",
            ts=self._now(),
            actor=self.actor,
            dag_id=run.dag_id,
            run_id=run.run_id,
            task_id=ti.task_id,
            detail=cause,
        )
        if ti.pid is not None:
            self.effects.append(("kill", ti.pid, cause, ti.log_path))

    # --- user commands ---

    def clear(self, conn: sqlite3.Connection, run: ActiveRun, task_ids: Iterable[str]) -> list[str]:
        """Reset task instances so that they run again with their full retries, as Airflow's
        clear does; running ones become `restarting` and are stopped first."""
        cleared = []
        for task_id in task_ids:
            ti = run.tis[task_id]
            retries = run.spec.tasks[task_id].retries if task_id in run.spec.tasks else 0
            ti.max_tries = ti.try_number + retries
            if ti.state in (TaskState.RUNNING, TaskState.QUEUED):
                self._set(
                    conn,
                    run,
                    ti,
                    TaskState.RESTARTING,
                    max_tries=ti.max_tries,
                    actor_detail="cleared",
                )
                self.kill_attempt(conn, run, ti, "cleared while running")
            elif ti.state is not TaskState.RESTARTING:
                self._set(
                    conn,
                    run,
                    ti,
                    TaskState.NONE,
                    max_tries=ti.max_tries,
                    pid=None,
                    start_date=None,
                    end_date=None,
                    duration=None,
                    next_try_at=None,
                    actor_detail="cleared",
                )
            cleared.append(task_id)
        if run.state in (RunState.SUCCESS, RunState.FAILED):
            writes.set_run_state(
                conn,
                run.dag_id,
                run.run_id,
                run.state,
                RunState.QUEUED,
                ts=self._now(),
                actor=self.actor,
                end_date=None,
            )
            self._run_change(run, RunState.QUEUED)
        elif run.state is RunState.RUNNING:
            self.evaluate(conn, run, cleared)
        return cleared

    def mark(self, conn: sqlite3.Connection, run: ActiveRun, task_id: str, state: TaskState) -> str:
        ti = run.tis[task_id]
        old = ti.state
        if old in (TaskState.RUNNING, TaskState.QUEUED, TaskState.RESTARTING):
            self.kill_attempt(conn, run, ti, f"marked {state} while running")
        now = self._now()
        self._set(conn, run, ti, state, end_date=now, next_try_at=None, actor_detail="marked")
        task = run.spec.tasks.get(task_id)
        if run.state is RunState.RUNNING and task is not None:
            self.evaluate(conn, run, task.downstream)
        return old

    # --- internals ---

    def _set(
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
        old = ti.state
        ti.state = new
        self.touched.add(run.key)
        run.counts[old] -= 1
        run.counts[new] += 1
        actor = f"{self.actor} ({actor_detail})" if actor_detail else self.actor
        writes.set_task_state(
            conn,
            run.ti_key(ti.task_id),
            old,
            new,
            ts=self._now(),
            actor=actor,
            attempt=ti.try_number,
            detail=detail,
            **fields,
        )
        self.changes.append(
            {
                "kind": "task_state",
                "dag_id": run.dag_id,
                "run_id": run.run_id,
                "task_id": ti.task_id,
                "try_number": ti.try_number,
                "old_state": old.value,
                "new_state": new.value,
                "detail": detail,
            }
        )
        task = run.spec.tasks.get(ti.task_id)
        if new in _PAST_DONE and task is not None and task.depends_on_past:
            self._release_next_run(conn, run, ti.task_id)

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

    def _run_change(self, run: ActiveRun, new: RunState) -> None:
        self.changes.append(
            {
                "kind": "run_state",
                "dag_id": run.dag_id,
                "run_id": run.run_id,
                "old_state": run.state.value,
                "new_state": new.value,
            }
        )
        run.state = new

    def _now(self) -> str:
        return to_text(self.clock())


_PAST_DONE = frozenset({TaskState.SUCCESS, TaskState.SKIPPED})
"""What a task's instance in the previous run must be for depends_on_past to let it run."""


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


def _judge(run: ActiveRun) -> RunState:
    """A finished run failed when a leaf task failed or is upstream_failed (DESIGN.md)."""
    leaves = [run.tis[t].state for t in run.spec.leaves if t in run.tis]
    return RunState.FAILED if any(s in FAILED_STATES for s in leaves) else RunState.SUCCESS


def retry_delay(task: TaskSpec, try_number: int) -> float:
    """Seconds before the next try after failed try `try_number` (1-based): `retry_delay`,
    doubled per try with `retry_exponential_backoff` (without Airflow's jitter, so that a
    schedule of retries is predictable), capped by `max_retry_delay`."""
    delay = task.retry_delay
    if task.retry_exponential_backoff:
        delay = task.retry_delay * 2 ** (try_number - 1)
    if task.max_retry_delay is not None:
        delay = min(delay, task.max_retry_delay)
    return max(0.0, delay)
