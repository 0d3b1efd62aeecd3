"""Transitions of a task instance's attempts: queued, started, finished (success, skipped,
failed or up_for_retry, with its XComs and dataset updates; up_for_reschedule for a sensor
between pokes), retried after a delay, poked again, and stopped. Each goes through
`RunBook.set_state` inside the caller's transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta

from flowtui.clock import parse_datetime, to_text
from flowtui.execution.base import AttemptKey, AttemptOutcome
from flowtui.scheduling import alerts, callbacks
from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.scheduling.effects import KillAttempt, RescheduleAt, RetryAt
from flowtui.scheduling.run_book import RunBook
from flowtui.spec import TaskSpec
from flowtui.states import FINISHED, TaskState
from flowtui.store import writes


def queued(
    book: RunBook, conn: sqlite3.Connection, run: ActiveRun, ti: TI, log_path: str, hostname: str
) -> None:
    """A new try is handed to the executor: it starts with no XComs, as in Airflow. (A sensor
    between pokes keeps its try: `requeued`.)"""
    ti.try_number += 1
    ti.log_path = log_path
    ti.kill_cause = None
    now = book.now()
    ti.queued_at = now
    if ti.try_number > 1:  # a first try has none: a replaced run's went with it
        writes.delete_xcom(conn, run.ti_key(ti))
    book.set_state(
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
        conn,
        run.ti_key(ti),
        ti.try_number,
        state=TaskState.QUEUED.value,
        queued_at=now,
        log_path=log_path,
    )


def requeued(
    book: RunBook, conn: sqlite3.Connection, run: ActiveRun, ti: TI, hostname: str
) -> None:
    """A sensor's next poke: the same try (its log goes on), a new process."""
    ti.kill_cause = None
    now = book.now()
    ti.queued_at = now
    book.set_state(
        conn,
        run,
        ti,
        TaskState.QUEUED,
        queued_at=now,
        hostname=hostname,
        pid=None,
        end_date=None,
        duration=None,
        next_try_at=None,
    )
    writes.upsert_attempt(
        conn, run.ti_key(ti), ti.try_number, state=TaskState.QUEUED.value, queued_at=now
    )


def started(
    book: RunBook, conn: sqlite3.Connection, run: ActiveRun, ti: TI, pid: int, at: datetime
) -> None:
    ti.pid = pid
    ti.start_date = to_text(at)
    if ti.state is TaskState.QUEUED:
        book.set_state(conn, run, ti, TaskState.RUNNING, pid=pid, start_date=ti.start_date)
    if ti.sensing_since is not None:  # a sensor's next poke: its try began at the first
        fields: dict[str, object] = {"state": TaskState.RUNNING.value, "pid": pid}
    else:
        fields = {"state": TaskState.RUNNING.value, "start_date": ti.start_date, "pid": pid}
    writes.upsert_attempt(conn, run.ti_key(ti), ti.try_number, **fields)


def finished(
    book: RunBook,
    conn: sqlite3.Connection,
    run: ActiveRun,
    ti: TI,
    outcome: AttemptOutcome,
    ended: datetime,
) -> TaskState:
    """Record how an attempt ended and move on; returns the task instance's new state."""
    task = run.spec.tasks.get(ti.task_id)
    end = to_text(ended)
    duration = (ended - parse_datetime(ti.start_date)).total_seconds() if ti.start_date else None
    attempt_state = outcome.state
    if ti.state is TaskState.RESTARTING:
        attempt_state = TaskState.FAILED
        detail = "cleared while running; the attempt was stopped"
        book.set_state(
            conn, run, ti, TaskState.NONE, pid=None, end_date=end, duration=duration, detail=detail
        )
        book.evaluate(conn, run, [ti.task_id])
    elif ti.state in FINISHED:  # marked by a user while it ran
        attempt_state = ti.state
    elif outcome.state is TaskState.FAILED:
        _fail(book, conn, run, ti, task, outcome, end, duration)
    elif outcome.state is TaskState.UP_FOR_RESCHEDULE and outcome.reschedule_at:
        _reschedule(book, conn, run, ti, outcome, end)
    else:
        key = run.ti_key(ti)
        if outcome.xcom:
            writes.write_xcom(conn, key, outcome.xcom, end)
        book.set_state(conn, run, ti, outcome.state, end_date=end, duration=duration)
        if outcome.state is TaskState.SUCCESS and task is not None:
            events = outcome.asset_events or [(uri, None, ()) for uri in task.outlets]
            if events:
                writes.record_asset_events(conn, key, events, end)
                book.dataset_updates.update(event[0] for event in events)
        _skip(book, conn, run, outcome.skip_task_ids)
        book.evaluate(conn, run, task.downstream if task else ())
        if outcome.state is TaskState.SUCCESS:
            callbacks.plan_task(book, run, ti, task, "success")
            if "success" in book.webhook_events:
                alerts.plan(book, run, ti, task, "success")
    ended_fields: dict[str, object] = {"exit_code": outcome.exit_code, "cause": outcome.cause}
    if outcome.rendered:  # kept from an earlier poke of the same try when this one has none
        ended_fields["rendered"] = json.dumps(outcome.rendered)
    writes.upsert_attempt(
        conn,
        run.ti_key(ti),
        ti.try_number,
        state=attempt_state.value,
        end_date=end,
        **ended_fields,
    )
    ti.pid = None
    return ti.state


def _fail(
    book: RunBook,
    conn: sqlite3.Connection,
    run: ActiveRun,
    ti: TI,
    task: TaskSpec | None,
    outcome: AttemptOutcome,
    end: str,
    duration: float | None,
) -> None:
    if task is not None and not outcome.no_retry and ti.try_number <= ti.max_tries:
        delay = outcome.retry_delay  # a retry_policy's choice, else the task's own
        when = book.clock() + timedelta(
            seconds=retry_delay(task, ti.try_number) if delay is None else delay
        )
        book.set_state(
            conn,
            run,
            ti,
            TaskState.UP_FOR_RETRY,
            end_date=end,
            duration=duration,
            next_try_at=to_text(when),
            detail=outcome.cause,
        )
        book.effects.append(RetryAt(run.attempt_key(ti), when))
        alerts.plan(book, run, ti, task, "retry", outcome.cause)
        callbacks.plan_task(book, run, ti, task, "retry", outcome.cause)
        return
    book.set_state(
        conn, run, ti, TaskState.FAILED, end_date=end, duration=duration, detail=outcome.cause
    )
    alerts.plan(book, run, ti, task, "failure", outcome.cause)
    callbacks.plan_task(book, run, ti, task, "failure", outcome.cause)
    book.evaluate(conn, run, task.downstream if task else ())


def _reschedule(
    book: RunBook,
    conn: sqlite3.Connection,
    run: ActiveRun,
    ti: TI,
    outcome: AttemptOutcome,
    end: str,
) -> None:
    """A sensor's condition is unmet: it holds no slot until its next poke is due."""
    ti.sensing_since = ti.sensing_since or ti.start_date or end
    when = outcome.reschedule_at or end
    book.set_state(conn, run, ti, TaskState.UP_FOR_RESCHEDULE, end_date=end, next_try_at=when)
    poked = parse_datetime(ti.start_date) if ti.start_date else None
    book.effects.append(
        RescheduleAt(run.attempt_key(ti), parse_datetime(when), outcome.wake, poked)
    )


def reschedule_due(book: RunBook, conn: sqlite3.Connection, attempt: AttemptKey) -> None:
    """A sensor's next poke is due (its time came, or what it waits for happened): it is
    scheduled again, unless it moved on meanwhile (cleared, marked, poked already)."""
    run = book.runs.get(RunKey(attempt.dag_id, attempt.run_id))
    ti = run.ti(attempt.task_id, attempt.map_index) if run else None
    if (
        run
        and ti
        and ti.state is TaskState.UP_FOR_RESCHEDULE
        and ti.try_number == attempt.try_number
    ):
        book.set_state(conn, run, ti, TaskState.SCHEDULED)
        book.ready.append((run.key, ti.task_id, ti.map_index))


def _skip(book: RunBook, conn: sqlite3.Connection, run: ActiveRun, task_ids: Iterable[str]) -> None:
    """Branching and short-circuit: these tasks are skipped before they could run."""
    below: list[str] = []
    now = book.now()
    for task_id in task_ids:
        skipped = False
        for ti in run.instances(task_id):
            if ti.state in (TaskState.NONE, TaskState.SCHEDULED):
                book.set_state(
                    conn, run, ti, TaskState.SKIPPED, start_date=now, end_date=now, duration=0.0
                )
                skipped = True
        if skipped:
            below.extend(run.spec.tasks[task_id].downstream)
    book.evaluate(conn, run, below)


def retry_due(book: RunBook, conn: sqlite3.Connection, failed: AttemptKey) -> None:
    """The retry delay after attempt `failed` has passed: its next try is scheduled (unless
    the task instance moved on meanwhile: cleared, marked, or retried already)."""
    run = book.runs.get(RunKey(failed.dag_id, failed.run_id))
    ti = run.ti(failed.task_id, failed.map_index) if run else None
    if run and ti and ti.state is TaskState.UP_FOR_RETRY and ti.try_number == failed.try_number:
        book.set_state(conn, run, ti, TaskState.SCHEDULED)
        book.ready.append((run.key, ti.task_id, ti.map_index))


def stop(book: RunBook, conn: sqlite3.Connection, run: ActiveRun, ti: TI, cause: str) -> None:
    """Ask the scheduler to stop a live attempt; its exit is recorded with `cause`."""
    ti.kill_cause = cause
    writes.record_event(
        conn,
        "kill",
        ts=book.now(),
        actor=book.actor,
        dag_id=run.dag_id,
        run_id=run.run_id,
        task_id=ti.task_id,
        detail=cause,
        map_index=ti.map_index,
    )
    key = run.attempt_key(ti)
    book.effects.append(KillAttempt(key, cause, ti.log_path, ti.pid, ti.start_date))


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
