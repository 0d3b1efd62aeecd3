"""Start-up recovery: attempts that a killed scheduler left `queued`, `running` or
`restarting`. A live orphan is killed (its whole process group); then the attempt is failed or
up_for_retry with the reason in the store and in its log, so no task stays `running` unseen."""

from __future__ import annotations

import logging
import signal
import sqlite3
import time

from flowtui.execution.base import AttemptOutcome
from flowtui.execution.process_groups import group_exists, signal_group
from flowtui.scheduling import attempts
from flowtui.scheduling.active_run import RunKey
from flowtui.scheduling.effects import LogLine
from flowtui.scheduling.run_book import RunBook, is_alive, is_driven_elsewhere
from flowtui.states import TaskState
from flowtui.store import reads, writes

logger = logging.getLogger(__name__)

_ORPHAN_GRACE = 2.0
"""Seconds an orphaned attempt gets between SIGTERM and SIGKILL."""


def recover(conn: sqlite3.Connection, book: RunBook, hostname: str) -> None:
    """Settle every attempt left live by a scheduler that died. Runs of a `dags test` or
    `dags backfill` process that died go on under this scheduler."""
    rows = conn.execute(
        "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.state, ti.pid, ti.hostname, "
        "ti.start_date, r.runner_pid FROM task_instances ti JOIN dag_runs r "
        "ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id "
        "WHERE ti.state IN ('queued', 'running', 'restarting')"
    ).fetchall()
    for dag_id, run_id, task_id, state, pid, ti_host, start, runner_pid in rows:
        if is_driven_elsewhere(runner_pid):
            continue  # a run that `dags test` or `dags backfill` still drives itself
        row = reads.run(conn, dag_id, run_id)
        run = book.runs.get(RunKey(dag_id, run_id)) or (book.load_run(conn, row) if row else None)
        if run is None or task_id not in run.tis:
            continue
        ti = run.tis[task_id]
        if state == TaskState.QUEUED:
            attempts.requeue_lost(book, conn, run, ti)
            continue
        fate = "the process was already gone"
        if pid and ti_host == hostname and (is_alive(pid, start) or group_exists(pid)):
            _kill_group(pid)
            fate = f"its process group (pid {pid}) was still running and was killed"
        cause = f"the scheduler stopped unexpectedly while this attempt ran; {fate}"
        if ti.log_path:
            book.effects.append(LogLine(ti.log_path, f"attempt {ti.try_number} ended: {cause}"))
        writes.record_event(
            conn,
            "recovered",
            ts=book.now(),
            actor=book.actor,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            detail=cause,
        )
        outcome = AttemptOutcome(TaskState.FAILED, cause)
        attempts.finished(book, conn, run, ti, outcome, book.clock())


def _kill_group(pid: int) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if not signal_group(pid, signum):
            return
        deadline = time.monotonic() + _ORPHAN_GRACE
        while time.monotonic() < deadline:
            if not group_exists(pid):
                return
            time.sleep(0.05)
    logger.warning("orphaned attempt pid %s did not die", pid)
