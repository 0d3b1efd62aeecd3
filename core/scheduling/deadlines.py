"""Deadlines, with Airflow's meanings. A DAG's `dagrun_timeout`: a run still going that long
after it started is failed, its running attempts stopped (SIGTERM, then SIGKILL after the grace
period) and its unfinished task instances marked skipped, and the DAG's failure callback gets
reason "timed_out". A task's `sla` (Airflow 2): a scheduled run's task instance not done
`sla` after the run's data interval ends gets an `sla_miss` event and an alert (its `email`,
webhooks asking for "sla_miss"), and a marker in the dashboard; it goes on running.

Each deadline is a timer (`DeadlineDue`) armed when a run starts, and again for the running
runs a restarted scheduler takes over (an SLA already recorded as missed is not again)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from flowtui.clock import parse_datetime, utcnow
from flowtui.scheduling import alerts, attempts, callbacks
from flowtui.scheduling.active_run import ActiveRun, RunKey
from flowtui.scheduling.messages import DeadlineDue
from flowtui.scheduling.run_book import RunBook
from flowtui.states import ACTIVE, UNFINISHED, RunState, TaskState
from flowtui.store import reads, writes

_DONE = frozenset({TaskState.SUCCESS, TaskState.SKIPPED})
"""A task instance in one of these states met its SLA (Airflow counts success; a skipped task
has nothing left to be late with)."""


def arm(
    at: Callable[[datetime, DeadlineDue], None],
    run: ActiveRun,
    started: datetime,
    missed: set[str],
) -> None:
    """Set the timers of `run`'s deadlines: its `dagrun_timeout` from `started`, and, for a
    scheduled run, each task's `sla` from the end of its data interval (but those in
    `missed`, recorded already)."""
    timeout = run.spec.dagrun_timeout
    if timeout:
        at(started + timedelta(seconds=timeout), DeadlineDue(run.dag_id, run.run_id))
    if run.run_type != "scheduled" or not run.data_interval_end:
        return
    interval_end = parse_datetime(run.data_interval_end)
    for task_id, task in run.spec.tasks.items():
        if task.sla is not None and task_id not in missed:
            due = interval_end + timedelta(seconds=task.sla)
            at(due, DeadlineDue(run.dag_id, run.run_id, task_id))


def missed_slas(conn: sqlite3.Connection, dag_id: str, run_id: str) -> set[str]:
    """The tasks of a run whose SLA miss is recorded."""
    rows = conn.execute(
        "SELECT DISTINCT task_id FROM events WHERE kind = 'sla_miss' AND dag_id = ? AND run_id = ?",
        (dag_id, run_id),
    )
    return {r[0] for r in rows}


def due(book: RunBook, conn: sqlite3.Connection, deadline: DeadlineDue) -> None:
    if deadline.task_id is None:
        run = book.runs.get(RunKey(deadline.dag_id, deadline.run_id))
        if run is not None and run.state is RunState.RUNNING:
            _time_out(book, conn, run)
        return
    _check_sla(book, conn, deadline)


def _time_out(book: RunBook, conn: sqlite3.Connection, run: ActiveRun) -> None:
    seconds = run.spec.dagrun_timeout or 0
    detail = f"the run timed out (dagrun_timeout of {seconds:g} s)"
    for ti in list(run.all_tis()):
        if ti.state in ACTIVE and not ti.kill_cause:
            attempts.stop(book, conn, run, ti, detail)
        if ti.state in UNFINISHED:
            book.set_state(
                conn,
                run,
                ti,
                TaskState.SKIPPED,
                end_date=book.now(),
                next_try_at=None,
                detail=detail,
            )
    book.abandon(conn, run, detail)
    callbacks.plan_dag(book, run, "timed_out")


def _check_sla(book: RunBook, conn: sqlite3.Connection, deadline: DeadlineDue) -> None:
    run = book.runs.get(RunKey(deadline.dag_id, deadline.run_id))
    task_id = deadline.task_id
    assert task_id is not None
    if run is not None:  # a mapped task: its first instance not done
        tis = run.instances(task_id)
        ti = next((t for t in tis if t.state not in _DONE), tis[0] if tis else None)
        state = ti.state if ti is not None else None
    else:  # the run ended: judge by what the store has
        row = reads.task_instance(conn, deadline.dag_id, deadline.run_id, task_id)
        state = TaskState(row["state"]) if row else None
        ti = None
    if state is None or state in _DONE or task_id in missed_slas(conn, *deadline[:2]):
        return
    sla = _sla(book, conn, deadline, run)
    detail = f"not done {sla:g} s after the data interval ended (sla); it is {state}"
    writes.record_event(
        conn,
        "sla_miss",
        ts=book.now(),
        actor=book.actor,
        dag_id=deadline.dag_id,
        run_id=deadline.run_id,
        task_id=task_id,
        detail=json.dumps({"sla": sla, "state": str(state), "message": detail}),
    )
    if run is not None and ti is not None:
        alerts.sla_miss(book, run, ti, detail)


def _sla(
    book: RunBook, conn: sqlite3.Connection, deadline: DeadlineDue, run: ActiveRun | None
) -> float:
    spec = run.spec if run is not None else reads.dag_spec(conn, deadline.dag_id)
    task = spec.tasks.get(deadline.task_id or "") if spec is not None else None
    return task.sla or 0.0 if task is not None else 0.0


def started_at(conn: sqlite3.Connection, run: ActiveRun) -> datetime:
    """When a run the scheduler takes over started (now, if the store does not say)."""
    row = reads.run(conn, run.dag_id, run.run_id)
    start = row.get("start_date") if row else None
    return parse_datetime(start) if start else utcnow()
