"""Start-up recovery: attempts that an earlier scheduler left `queued`, `running` or
`restarting` on this machine. None is killed, failed or started again on a guess: each is
handed back to the executor as the same try, and the try's ticket (`execution.ticket`) decides.
An attempt still running is adopted and watched until it ends; one that ended while no
scheduler watched is recorded with the outcome it wrote; one that never started anything
starts now, once. Runs another live process drives (`dags test`, `dags backfill`) are left to
it."""

from __future__ import annotations

import sqlite3

from flowtui.execution.base import AttemptOutcome
from flowtui.scheduling import attempts
from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.scheduling.run_book import RunBook, is_driven_elsewhere
from flowtui.states import TaskState
from flowtui.store import reads


def unfinished_attempts(
    conn: sqlite3.Connection, book: RunBook, hostname: str
) -> list[tuple[ActiveRun, TI]]:
    """The attempts to resume: their runs are loaded into `book`; the caller hands each try
    to the executor again. Those of another machine are failed here."""
    rows = conn.execute(
        "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.hostname, r.runner_pid "
        "FROM task_instances ti JOIN dag_runs r "
        "ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id "
        "WHERE ti.state IN ('queued', 'running', 'restarting')"
    ).fetchall()
    found = []
    for dag_id, run_id, task_id, map_index, ti_host, runner_pid in rows:
        if is_driven_elsewhere(runner_pid):
            continue
        run = book.runs.get(RunKey(dag_id, run_id))
        if run is None:
            row = reads.run(conn, dag_id, run_id)
            run = book.load_run(conn, row) if row else None
        ti = run.ti(task_id, map_index) if run else None
        if run is None or ti is None:
            continue
        if ti_host not in (None, hostname) or not ti.log_path:
            cause = f"it ran on {ti_host}, not here: how it ended cannot be known"
            lost = AttemptOutcome(TaskState.FAILED, cause)
            attempts.finished(book, conn, run, ti, lost, book.clock())
        else:
            found.append((run, ti))
    return found
