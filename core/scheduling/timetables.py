"""Schedules as timetables: which runs a DAG gets (logical date, data interval, run_after) from
its schedule, start_date, end_date and catchup. Pure functions of plain data; time is always a
parameter. Creating runs, and waking up for them, is the scheduler's job.

Airflow 2 semantics: a run covers the data interval [logical_date, next boundary) and may start
at ``run_after`` = the end of that interval (``@daily`` with logical date 2024-03-01 covers
[03-01, 03-02) and runs at 03-02 00:00). Every datetime returned is aware and in UTC; naive
datetimes given to this module mean UTC.

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

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flowtui.cron import (
    EPOCH,
    PRESETS,
    describe_cron,
    load_croniter,
    validate_schedule,
)
from flowtui.errors import InvalidSchedule
from flowtui.spec import DagSpec


@dataclass(frozen=True)
class DataInterval:
    """The span of data a run covers, [start, end); aware UTC datetimes."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class RunInfo:
    """One run a timetable asks for: its logical date, data interval and earliest start."""

    logical_date: datetime
    interval: DataInterval
    run_after: datetime
    """The run may start at this time (the end of the interval, or the logical date of @once)."""

    @classmethod
    def exact(cls, at: datetime) -> RunInfo:
        """A run at one instant whose interval is empty (@once, manual runs without schedule)."""
        return cls(at, DataInterval(at, at), at)

    @classmethod
    def of_interval(cls, start: datetime, end: datetime) -> RunInfo:
        return cls(start, DataInterval(start, end), end)


class Timetable(ABC):
    """What a schedule means: the automated runs, manual data intervals and backfill ranges."""

    @abstractmethod
    def next_run(
        self, last: DataInterval | None, *, now: datetime, catchup: bool
    ) -> RunInfo | None:
        """The next automated run after the one that covered `last`.

        Args:
            last: the data interval of the latest automated run; None before any run.
            now: the current time; with `catchup=False` it decides which intervals are
                skipped. The result's `run_after` may lie after `now`: wait until then.
            catchup: True runs every interval since `start_date` (or after `last`) in turn;
                False skips to the latest interval that has completed by `now`.

        Returns:
            The run, with a logical date strictly after `last.start`; None when the timetable
            has nothing more to run (no schedule, @once done, past `end_date`).
        """

    def infer_manual_interval(self, logical_date: datetime) -> DataInterval:
        """The data interval of a run triggered by hand for `logical_date`."""
        at = _utc(logical_date)
        return DataInterval(at, at)

    def runs_between(self, start: datetime, end: datetime) -> list[RunInfo]:
        """Backfill: every run whose logical date is in [start, end], within the DAG's
        start_date and end_date, oldest first."""
        return []

    @property
    @abstractmethod
    def description(self) -> str:
        """A short description for the dashboard, e.g. "every day at 00:00 (UTC)"."""


class NullTimetable(Timetable):
    """``schedule=None``: manual runs only."""

    def next_run(
        self, last: DataInterval | None, *, now: datetime, catchup: bool
    ) -> RunInfo | None:
        return None

    @property
    def description(self) -> str:
        return "manual runs only"


class DatasetTimetable(NullTimetable):
    """``schedule=[Dataset(...)]``: runs are created when the datasets update, never on time."""

    def __init__(self, uris: list[str]) -> None:
        self.uris = tuple(uris)

    @property
    def description(self) -> str:
        return "when updated: " + ", ".join(self.uris)


class OnceTimetable(Timetable):
    """``@once``: a single run at start_date, whatever catchup says (as in Airflow)."""

    def __init__(self, start_date: datetime | None, end_date: datetime | None = None) -> None:
        self.start_date = _utc(start_date) if start_date else None
        self.end_date = _utc(end_date) if end_date else None

    def next_run(
        self, last: DataInterval | None, *, now: datetime, catchup: bool
    ) -> RunInfo | None:
        if last is not None or self.start_date is None:
            return None
        if self.end_date is not None and self.start_date > self.end_date:
            return None
        return RunInfo.exact(self.start_date)

    def runs_between(self, start: datetime, end: datetime) -> list[RunInfo]:
        first = self.next_run(None, now=_utc(end), catchup=True)
        return [first] if first and _utc(start) <= first.logical_date <= _utc(end) else []

    @property
    def description(self) -> str:
        return f"once at {self.start_date:%Y-%m-%d %H:%M} (UTC)" if self.start_date else "once"


class _IntervalTimetable(Timetable):
    """Runs over consecutive data intervals whose boundaries the subclass defines."""

    def __init__(self, start_date: datetime | None, end_date: datetime | None) -> None:
        self.start_date = _utc(start_date) if start_date else None
        self.end_date = _utc(end_date) if end_date else None

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
            latest_done = self._prev(self._align_prev(_utc(now)))
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
        start = self._align_prev(_utc(last.end))
        return start if start > _utc(last.start) else self._next(_utc(last.start))

    def infer_manual_interval(self, logical_date: datetime) -> DataInterval:
        """The latest complete interval that ends at or before `logical_date` (Airflow's
        CronDataIntervalTimetable): a @daily DAG triggered at 01:00 on the 25th covers
        [24th 00:00, 25th 00:00)."""
        end = self._align_prev(_utc(logical_date))
        return DataInterval(self._prev(end), end)

    def runs_between(self, start: datetime, end: datetime) -> list[RunInfo]:
        first, last = _utc(start), _utc(end)
        if self.start_date is not None:
            first = max(first, self.start_date)
        if self.end_date is not None:
            last = min(last, self.end_date)
        runs: list[RunInfo] = []
        at = self._align_next(first)
        while at <= last:
            after = self._next(at)
            runs.append(RunInfo.of_interval(at, after))
            at = after
        return runs


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
        return self._anchor + ((_utc(at) - self._anchor) // self.delta) * self.delta

    def _align_next(self, at: datetime) -> datetime:
        return self._anchor - ((self._anchor - _utc(at)) // self.delta) * self.delta

    def _next(self, after: datetime) -> datetime:
        return self._align_prev(after) + self.delta

    def _prev(self, before: datetime) -> datetime:
        return self._align_next(before) - self.delta

    def infer_manual_interval(self, logical_date: datetime) -> DataInterval:
        """The `delta` that ends at `logical_date` (Airflow's DeltaDataIntervalTimetable)."""
        end = _utc(logical_date)
        return DataInterval(end - self.delta, end)

    @property
    def description(self) -> str:
        return "every " + _describe_delta(self.delta)


def timetable(spec: DagSpec) -> Timetable:
    """The timetable of a DAG's schedule.

    Raises:
        InvalidSchedule: the schedule is none of None, a preset, a 5-field cron string,
            {"timedelta": seconds > 0} or {"datasets": [uri, ...]}.
    """
    schedule: Any = spec.schedule
    start, end = _parse_date(spec.start_date, spec.timezone), _parse_date(spec.end_date, "UTC")
    if schedule is None:
        return NullTimetable()
    if isinstance(schedule, str):
        validate_schedule(schedule, dag_id=spec.dag_id)
        if schedule.strip() == "@once":
            return OnceTimetable(start, end)
        return CronTimetable(schedule, spec.timezone, start, end)
    seconds = schedule.get("timedelta") if isinstance(schedule, dict) else None
    if isinstance(seconds, int | float) and seconds > 0:
        return DeltaTimetable(timedelta(seconds=seconds), start, end)
    if isinstance(schedule, dict) and isinstance(schedule.get("datasets"), list):
        return DatasetTimetable([str(uri) for uri in schedule["datasets"]])
    raise InvalidSchedule(
        spec.dag_id,
        schedule,
        "use None, a preset such as '@daily', a 5-field cron string, a positive timedelta "
        "or a list of Dataset",
    )


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _parse_date(text: str | None, zone: str) -> datetime | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(text)
    return _utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone)))


def _describe_delta(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return str(delta)
