"""`flowtui dags backfill`: create and run a DAG's runs for a range of logical dates in the
foreground, at most `max_active_runs` at a time, with a progress line. Intervals that already
succeeded are skipped unless `--reset`; failed ones are left as they are unless
`--rerun-failed` (their failed tasks rerun) or `--reset` (the whole run reruns)."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from flowtui.clock import to_text
from flowtui.errors import DagNotFound, InvalidInput
from flowtui.scheduling.run_book import RunBook
from flowtui.scheduling.service import Scheduler
from flowtui.scheduling.timetables import RunInfo, timetable
from flowtui.spec import DagSpec
from flowtui.states import FAILED_STATES, RUN_FINISHED, RunState
from flowtui.store import reads, writes


@dataclass
class BackfillReport:
    """What a backfill did, per outcome: lists of run ids."""

    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Runs that had succeeded already (without --reset)."""
    left_failed: list[str] = field(default_factory=list)
    """Runs that had failed already and were not rerun (without --rerun-failed/--reset)."""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left_failed


def run_backfill(
    settings: Any,
    dag_id: str,
    start: datetime,
    end: datetime,
    *,
    rerun_failed: bool = False,
    reset: bool = False,
    out: TextIO = sys.stderr,
) -> BackfillReport:
    """Backfill `dag_id` for logical dates in [start, end]; returns what happened."""
    if end < start:
        raise InvalidInput("--end", end.isoformat(), "it must not be before --start")
    scheduler = Scheduler(settings, actor="backfill")
    scheduler.open()
    assert scheduler.store is not None
    report = BackfillReport()
    with scheduler.store.transaction() as conn:
        spec = reads.dag_spec(conn, dag_id)
        if spec is None or dag_id not in {d["dag_id"] for d in reads.dags(conn)}:
            scheduler.executor.stop()
            raise DagNotFound(dag_id, settings.dags_folder)
        infos = timetable(spec).runs_between(start, end)
        keys = _prepare(
            conn, scheduler.book, spec, infos, report, rerun_failed=rerun_failed, reset=reset
        )
    if not keys:
        scheduler.executor.stop()
        _print_summary(out, dag_id, report, len(infos))
        return report
    scheduler.only_runs = keys
    progress = _Progress(out, len(keys), report)
    scheduler.add_listener(progress.on_changes)
    previous = {
        s: signal.signal(s, lambda *_: scheduler.request_stop())
        for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        scheduler.start()
        scheduler.serve(until=lambda: all(scheduler.is_done(*k) for k in keys))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    progress.finish()
    _print_summary(out, dag_id, report, len(infos))
    return report


def _prepare(
    conn: sqlite3.Connection,
    book: RunBook,
    spec: DagSpec,
    infos: list[RunInfo],
    report: BackfillReport,
    *,
    rerun_failed: bool,
    reset: bool,
) -> set[tuple[str, str]]:
    """Create or clear the runs of the range; the keys of those to drive."""
    keys: set[tuple[str, str]] = set()
    for info in infos:
        row = _run_at(conn, spec.dag_id, to_text(info.logical_date))
        if row is None:
            run_id = f"backfill__{info.logical_date.isoformat()}"
            book.create_run(
                conn,
                spec,
                run_id,
                "backfill",
                info.logical_date,
                data_interval=(info.interval.start, info.interval.end),
                runner_pid=os.getpid(),
            )
            keys.add((spec.dag_id, run_id))
            continue
        state = RunState(row["state"])
        if state not in RUN_FINISHED:
            continue  # another scheduler is running it now; leave it be
        if state is RunState.SUCCESS and not reset:
            report.skipped.append(row["run_id"])
            continue
        if state is RunState.FAILED and not (reset or rerun_failed):
            report.left_failed.append(row["run_id"])
            continue
        _rerun(conn, book, row, only_failed=not reset)
        keys.add((spec.dag_id, row["run_id"]))
    return keys


def _rerun(
    conn: sqlite3.Connection, book: RunBook, row: dict[str, Any], *, only_failed: bool
) -> None:
    """Clear a finished run (all of it, or its failed tasks and what they held up) and make
    this process its driver."""
    run = book.load_run(conn, row)
    if run is None:
        return
    task_ids = [t for t, ti in run.tis.items() if not only_failed or ti.state in FAILED_STATES]
    book.clear(conn, run, task_ids)
    writes.set_run_state(
        conn,
        run.dag_id,
        run.run_id,
        run.state,
        run.state,
        ts=to_text(book.clock()),
        actor=book.actor,
        runner_pid=os.getpid(),
    )


def _run_at(conn: sqlite3.Connection, dag_id: str, logical_date: str) -> dict[str, Any] | None:
    """The DAG's run for this logical date, of any type: one interval never gets two."""
    row = conn.execute(
        "SELECT run_id FROM dag_runs WHERE dag_id = ? AND logical_date = ?", (dag_id, logical_date)
    ).fetchone()
    return None if row is None else reads.run(conn, dag_id, row[0])


class _Progress:
    """A progress line on a terminal (one line per finished run elsewhere)."""

    def __init__(self, out: TextIO, total: int, report: BackfillReport) -> None:
        self.out, self.total, self.report = out, total, report
        self.tty = out.isatty()

    def on_changes(self, changes: list[dict[str, Any]]) -> None:
        for change in changes:
            if change["kind"] != "run_state" or change["new_state"] not in RUN_FINISHED:
                continue
            done = self.report.succeeded if change["new_state"] == "success" else self.report.failed
            done.append(change["run_id"])
            if not self.tty:
                self.out.write(f"{change['run_id']}: {change['new_state']}\n")
        self._draw()

    def _draw(self) -> None:
        finished = len(self.report.succeeded) + len(self.report.failed)
        if not self.tty:
            self.out.flush()
            return
        width = 30
        filled = width * finished // max(self.total, 1)
        bar = "█" * filled + "░" * (width - filled)
        self.out.write(
            f"\r[{bar}] {finished}/{self.total} runs  ✔ {len(self.report.succeeded)}"
            f"  ✘ {len(self.report.failed)} "
        )
        self.out.flush()

    def finish(self) -> None:
        if self.tty:
            self.out.write("\n")


def _print_summary(out: TextIO, dag_id: str, report: BackfillReport, intervals: int) -> None:
    out.write(
        f"backfill of {dag_id}: {intervals} interval(s); {len(report.succeeded)} succeeded, "
        f"{len(report.failed)} failed, {len(report.skipped)} skipped (had succeeded)"
    )
    if report.left_failed:
        out.write(f", {len(report.left_failed)} left failed (rerun them with --rerun-failed)")
    out.write("\n")
    out.flush()
