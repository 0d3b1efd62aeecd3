"""Timetables over consecutive data intervals: a 5-field cron expression (or preset), evaluated
by croniter in the DAG's time zone, and fixed timedelta steps.

croniter decides every cron time, matched against the wall clock of the DAG's time zone (the
zone of ``start_date``). Across daylight-saving changes this gives, for Europe/Berlin:

=================  ===========================  =============================================
schedule           2024-03-31 (02:00-03:00      2024-10-27 (02:00-03:00 happens twice)
                   does not exist)
=================  ===========================  =============================================
``30 2 * * *``     one run, at 03:00 CEST       one run, at the first 02:30 (CEST)
                   = 01:00 UTC                  = 00:30 UTC; the second 02:30 is skipped
``@hourly``        one run per real hour:       one run per real hour: 02:00 CEST (00:00 UTC)
                   01:00 CET (00:00 UTC), then  and 02:00 CET (01:00 UTC) both run
                   03:00 CEST (01:00 UTC)
=================  ===========================  =============================================

The rule: a wall-clock time that does not exist fires where croniter puts it (the first
minute after the gap for a fixed-hour schedule); a wall-clock time that happens twice fires
once, at its first occurrence, unless the schedule's hour field covers every hour, in which
case each real hour runs once (as in Airflow, and as cron does for wildcard-hour jobs).
Logical dates are therefore never duplicated and no real hour is skipped.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from flowtui.clock import in_utc
from flowtui.cron import EPOCH, PRESETS, describe_cron, load_croniter
from flowtui.scheduling.timetables.base import DataInterval, RunInfo, Timetable


class _IntervalTimetable(Timetable):
    """Runs over consecutive data intervals whose boundaries the subclass defines."""

    def __init__(self, start_date: datetime | None, end_date: datetime | None) -> None:
        self.start_date = in_utc(start_date) if start_date else None
        self.end_date = in_utc(end_date) if end_date else None

    @abstractmethod
    def _next(self, after: datetime) -> datetime:
        """The first boundary strictly after `after`."""

    @abstractmethod
    def _prev(self, before: datetime) -> datetime:
        """The last boundary strictly before `before`."""

    def _align_next(self, at: datetime) -> datetime:
        """`at` if it is a boundary, else the next boundary."""
        # Boundaries are whole seconds, so the first one after `at - 1s` is at or after `at`,
        # unless `at` has a fraction of a second.
        candidate = self._next(at - timedelta(seconds=1))
        return candidate if candidate >= at else self._next(at)

    def _align_prev(self, at: datetime) -> datetime:
        """`at` if it is a boundary, else the previous boundary."""
        candidate = self._prev(at + timedelta(seconds=1))
        return candidate if candidate <= at else self._prev(at)

    def next_run(
        self, last: DataInterval | None, *, now: datetime, catchup: bool
    ) -> RunInfo | None:
        earliest = self._align_next(self.start_date) if self.start_date else None
        if not catchup:
            # The latest interval that has ended by `now`; older missed ones are skipped.
            latest_done = self._prev(self._align_prev(in_utc(now)))
            earliest = max(latest_done, earliest) if earliest else latest_done
        if last is None:
            if earliest is None:
                return None
            start = earliest
        else:
            start = self._after(last)
            start = max(start, earliest) if earliest else start
        if self.end_date is not None and start > self.end_date:
            return None
        return RunInfo.of_interval(start, self._next(start))

    def _after(self, last: DataInterval) -> datetime:
        # Aligning back (not forward) keeps a partial interval after a schedule change, as
        # Airflow does; the guard keeps a logical date from ever running twice.
        start = self._align_prev(in_utc(last.end))
        return start if start > in_utc(last.start) else self._next(in_utc(last.start))

    def infer_manual_interval(self, logical_date: datetime) -> DataInterval:
        """The latest complete interval that ends at or before `logical_date` (Airflow's
        CronDataIntervalTimetable): a @daily DAG triggered at 01:00 on the 25th covers
        [24th 00:00, 25th 00:00)."""
        end = self._align_prev(in_utc(logical_date))
        return DataInterval(self._prev(end), end)

    def runs_between(self, start: datetime, end: datetime) -> list[RunInfo]:
        return [RunInfo.of_interval(at, after) for at, after in self.steps_between(start, end)]

    def steps_between(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """(boundary, the next boundary) for each boundary in [start, end] within start_date
        and end_date, oldest first."""
        first, last = in_utc(start), in_utc(end)
        if self.start_date is not None:
            first = max(first, self.start_date)
        if self.end_date is not None:
            last = min(last, self.end_date)
        at = self._align_next(first)
        while at <= last:
            after = self._next(at)
            yield at, after
            at = after


class CronTimetable(_IntervalTimetable):
    """A 5-field cron expression (or a preset), evaluated by croniter in the DAG's time zone."""

    def __init__(
        self,
        expression: str,
        timezone: tzinfo | str = "UTC",
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> None:
        super().__init__(start_date, end_date)
        self.expression = " ".join(PRESETS.get(expression.strip(), expression).split())
        self.timezone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        hours = load_croniter()(self.expression).expanded[1]
        self._every_hour = hours == ["*"] or len(set(hours)) == 24

    def _next(self, after: datetime) -> datetime:
        return self._step(after, "get_next")

    def _prev(self, before: datetime) -> datetime:
        return self._step(before, "get_prev")

    def _step(self, at: datetime, method: str) -> datetime:
        while True:
            cron = load_croniter()(self.expression, at.astimezone(self.timezone))
            found: datetime = getattr(cron, method)(datetime)
            at = found.astimezone(UTC)
            if not self._is_repeat(at):
                return at

    def _is_repeat(self, at: datetime) -> bool:
        """True for the second occurrence of a wall-clock time that the autumn change repeats,
        unless the schedule covers every hour (then each real hour counts)."""
        if self._every_hour:
            return False
        local = at.astimezone(self.timezone)
        return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()

    @property
    def description(self) -> str:
        zone = getattr(self.timezone, "key", str(self.timezone))
        return f"{describe_cron(self.expression) or f'cron {self.expression!r}'} ({zone})"


class DeltaTimetable(_IntervalTimetable):
    """Fixed-length intervals start_date, start_date + delta, ... (the epoch without a
    start_date). Unlike Airflow, catchup=False keeps this grid instead of restarting at `now`."""

    def __init__(
        self, delta: timedelta, start_date: datetime | None = None, end_date: datetime | None = None
    ) -> None:
        super().__init__(start_date, end_date)
        self.delta = delta
        self._anchor = self.start_date or EPOCH

    # Exact grid arithmetic: boundaries need not be whole seconds (timedelta(seconds=0.5)).
    def _align_prev(self, at: datetime) -> datetime:
        return self._anchor + ((in_utc(at) - self._anchor) // self.delta) * self.delta

    def _align_next(self, at: datetime) -> datetime:
        return self._anchor - ((self._anchor - in_utc(at)) // self.delta) * self.delta

    def _next(self, after: datetime) -> datetime:
        return self._align_prev(after) + self.delta

    def _prev(self, before: datetime) -> datetime:
        return self._align_next(before) - self.delta

    def infer_manual_interval(self, logical_date: datetime) -> DataInterval:
        """The `delta` that ends at `logical_date` (Airflow's DeltaDataIntervalTimetable)."""
        end = in_utc(logical_date)
        return DataInterval(end - self.delta, end)

    @property
    def description(self) -> str:
        return "every " + _describe_delta(self.delta)


def _describe_delta(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return str(delta)
