"""Airflow's `CronTriggerTimetable`: a run at each cron time, whose logical date is that time and
whose data interval is the fixed `interval` before it ([t - interval, t], empty by default);
it may start at once (`run_after` = t). The cron arithmetic, daylight-saving rules included, is
`interval.CronTimetable`'s.

With `catchup=False` the next run is the latest cron time that has passed (as Airflow 3's),
unless an earlier one is still due after the last run; with `catchup=True` every cron time
from `start_date` on runs in turn.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flowtui.clock import in_utc
from flowtui.scheduling.timetables.base import DataInterval, RunInfo, Timetable
from flowtui.scheduling.timetables.interval import CronTimetable


class CronTriggerTimetable(Timetable):
    def __init__(
        self,
        expression: str,
        timezone: str,
        interval: timedelta,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> None:
        self._cron = CronTimetable(expression, timezone, start_date, end_date)
        self.interval = interval

    def _run_at(self, at: datetime) -> RunInfo:
        return RunInfo(at - self.interval, DataInterval(at - self.interval, at), at)

    def next_run(
        self, last: DataInterval | None, *, now: datetime, catchup: bool
    ) -> RunInfo | None:
        cron = self._cron
        start = cron.start_date
        candidates = []
        if last is not None:
            candidates.append(cron._next(in_utc(last.end)))
        elif start is not None:
            candidates.append(cron._align_next(start))
        else:  # no start_date: wait for the next cron time (run_immediately=False)
            candidates.append(cron._align_next(in_utc(now)))
        if not catchup:
            candidates.append(cron._align_prev(in_utc(now)))
            if start is not None:
                candidates.append(cron._align_next(start))
        at = max(candidates)
        if cron.end_date is not None and at > cron.end_date:
            return None
        return self._run_at(at)

    def infer_manual_interval(self, logical_date: datetime) -> DataInterval:
        """The `interval` that ends at `logical_date` (Airflow's)."""
        at = in_utc(logical_date)
        return DataInterval(at - self.interval, at)

    def runs_between(self, start: datetime, end: datetime) -> list[RunInfo]:
        """Backfill: a run at each cron time in [start, end] (within start_date, end_date)."""
        return [self._run_at(at) for at, _ in self._cron.steps_between(start, end)]

    @property
    def description(self) -> str:
        if not self.interval:
            return f"{self._cron.description}, no data interval"
        return f"{self._cron.description}, covering the {self.interval} before"
