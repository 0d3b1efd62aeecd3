"""`flowtui dags backfill`: the commands that create or rerun a DAG's runs for a range of
logical dates, and what became of them. Intervals that already succeeded are skipped unless
`--reset`; failed ones are left as they are unless `--rerun-failed` (their failed tasks rerun)
or `--reset` (the whole run reruns). The runs are then driven in the foreground."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from flowtui.clock import to_text
from flowtui.commands.model import Clear, Command, Trigger
from flowtui.scheduling.timetables.base import RunInfo
from flowtui.spec import DagSpec
from flowtui.states import RUN_FINISHED, RunState
from flowtui.store import reads


@dataclass
class BackfillReport:
    """What a backfill did, per outcome: lists of run ids."""

    intervals: int = 0
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Runs that had succeeded already (without --reset)."""
    left_failed: list[str] = field(default_factory=list)
    """Runs that had failed already and were not rerun (without --rerun-failed/--reset)."""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left_failed


def plan(
    conn: sqlite3.Connection,
    spec: DagSpec,
    runs: list[RunInfo],
    report: BackfillReport,
    *,
    runner_pid: int,
    rerun_failed: bool,
    reset: bool,
) -> list[Command]:
    """The commands that create or clear the runs of the range; what is left alone goes into
    `report`."""
    report.intervals = len(runs)
    commands: list[Command] = []
    # One interval never gets two runs of any type (were there two, the older would count).
    existing = {row["logical_date"]: row for row in reads.runs(conn, spec.dag_id)}
    for info in runs:
        row = existing.get(to_text(info.logical_date))
        if row is None:
            commands.append(
                Trigger(
                    spec.dag_id,
                    logical_date=to_text(info.logical_date),
                    run_id=f"backfill__{info.logical_date.isoformat()}",
                    run_type="backfill",
                    data_interval_start=to_text(info.interval.start),
                    data_interval_end=to_text(info.interval.end),
                    runner_pid=runner_pid,
                )
            )
            continue
        state = RunState(row["state"])
        if state not in RUN_FINISHED:
            continue  # another scheduler is running it now; leave it be
        if state is RunState.SUCCESS and not reset:
            report.skipped.append(row["run_id"])
        elif state is RunState.FAILED and not (reset or rerun_failed):
            report.left_failed.append(row["run_id"])
        else:
            commands.append(
                Clear(spec.dag_id, row["run_id"], only_failed=not reset, runner_pid=runner_pid)
            )
    return commands
