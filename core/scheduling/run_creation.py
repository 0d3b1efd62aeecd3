"""Scheduled runs: for each DAG with a time-based schedule, create the runs its timetable says
are due (oldest first with catchup, only the latest without), never more active at once than
`max_active_runs` and never two for one logical date; keep `dags.next_run_at` current; and
register one APScheduler job per DAG, on a trigger that asks the timetable (croniter) for
the next time, to wake the scheduler then."""

from __future__ import annotations

import logging
import sqlite3

from flowtui.clock import Clock, parse_datetime, to_text
from flowtui.scheduling.messages import Message, ScheduleDue
from flowtui.scheduling.run_book import RunBook
from flowtui.scheduling.timers import Timers
from flowtui.scheduling.timetables.base import DataInterval, NullTimetable, Timetable
from flowtui.scheduling.timetables.factory import timetable
from flowtui.scheduling.timetables.trigger import TimetableTrigger
from flowtui.spec import DagSpec
from flowtui.states import RunState

logger = logging.getLogger(__name__)


class RunCreator:
    """Creates the scheduled runs of DAGs; the scheduler calls `create_due` when woken."""

    def __init__(self, book: RunBook, timers: Timers[Message], clock: Clock) -> None:
        self.book = book
        self.timers = timers
        self.clock = clock
        self._timetables: dict[str, tuple[DagSpec, Timetable]] = {}

    def timetable(self, spec: DagSpec) -> Timetable:
        """The DAG's timetable, built once per version of its spec."""
        cached = self._timetables.get(spec.dag_id)
        if cached is None or cached[0] != spec:
            table = timetable(spec)
            self._timetables[spec.dag_id] = (spec, table)
            self._wake_up_at_each_run(spec, table)
            return table
        return cached[1]

    def forget(self, dag_id: str) -> None:
        """The DAG is gone (file deleted or broken): no more wake-ups for it."""
        if self._timetables.pop(dag_id, None) is not None:
            self.timers.cancel(_job_id(dag_id))

    def create_due(self, conn: sqlite3.Connection, spec: DagSpec, *, is_paused: bool) -> None:
        """Create the runs of `spec` that are due now."""
        table = self.timetable(spec)
        if isinstance(table, NullTimetable):
            return
        now = self.clock()
        last = _last_scheduled(conn, spec.dag_id)
        active = sum(
            1
            for r in self.book.runs.values()
            if r.dag_id == spec.dag_id and r.state in (RunState.QUEUED, RunState.RUNNING)
        )
        while not is_paused and active < spec.max_active_runs:
            info = table.next_run(last, now=now, catchup=spec.catchup)
            if info is None or info.run_after > now:
                break
            last = info.interval
            if _has_run(conn, spec.dag_id, to_text(info.logical_date)):
                continue  # never two runs for one logical date
            run_id = f"scheduled__{info.logical_date.isoformat()}"
            self.book.create_run(
                conn,
                spec,
                run_id,
                "scheduled",
                info.logical_date,
                data_interval=(info.interval.start, info.interval.end),
            )
            active += 1
        upcoming = table.next_run(last, now=now, catchup=spec.catchup)
        conn.execute(
            "UPDATE dags SET next_run_at = ? WHERE dag_id = ?",
            (to_text(upcoming.run_after) if upcoming else None, spec.dag_id),
        )

    def _wake_up_at_each_run(self, spec: DagSpec, table: Timetable) -> None:
        if isinstance(table, NullTimetable):
            self.timers.cancel(_job_id(spec.dag_id))
            return
        self.timers.every(TimetableTrigger(table), ScheduleDue(spec.dag_id), _job_id(spec.dag_id))


def _job_id(dag_id: str) -> str:
    return f"schedule:{dag_id}"


def _last_scheduled(conn: sqlite3.Connection, dag_id: str) -> DataInterval | None:
    """The data interval of the DAG's latest scheduled run: where its timetable goes on from
    (manual and backfill runs do not move it, as in Airflow)."""
    row = conn.execute(
        "SELECT data_interval_start, data_interval_end FROM dag_runs "
        "WHERE dag_id = ? AND run_type = 'scheduled' ORDER BY logical_date DESC LIMIT 1",
        (dag_id,),
    ).fetchone()
    if row is None:
        return None
    return DataInterval(parse_datetime(row[0]), parse_datetime(row[1]))


def _has_run(conn: sqlite3.Connection, dag_id: str, logical_date: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM dag_runs WHERE dag_id = ? AND logical_date = ?", (dag_id, logical_date)
    ).fetchone()
    return row is not None
