"""What a schedule means, as a timetable: which runs a DAG gets (logical date, data interval,
run_after), the data interval of a manual run, and backfill ranges. Pure functions of plain data;
time is always a parameter. Creating runs, and waking up for them, is the scheduler's job.

Airflow 2 semantics: a run covers the data interval [logical_date, next boundary) and may start
at ``run_after`` = the end of that interval (``@daily`` with logical date 2024-03-01 covers
[03-01, 03-02) and runs at 03-02 00:00). Every datetime returned is aware and in UTC; naive
datetimes given to these modules mean UTC. This module holds the contract and the timetables
without intervals (none, @once); `interval.py` the cron and timedelta ones, `assets.py` those
of assets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import NamedTuple

from flowtui.clock import in_utc


class DataInterval(NamedTuple):
    """The span of data a run covers, [start, end); aware UTC datetimes."""

    start: datetime
    end: datetime


class RunInfo(NamedTuple):
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
        at = in_utc(logical_date)
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


class OnceTimetable(Timetable):
    """``@once``: a single run at start_date, whatever catchup says (as in Airflow)."""

    def __init__(self, start_date: datetime | None, end_date: datetime | None = None) -> None:
        self.start_date = in_utc(start_date) if start_date else None
        self.end_date = in_utc(end_date) if end_date else None

    def next_run(
        self, last: DataInterval | None, *, now: datetime, catchup: bool
    ) -> RunInfo | None:
        if last is not None or self.start_date is None:
            return None
        if self.end_date is not None and self.start_date > self.end_date:
            return None
        return RunInfo.exact(self.start_date)

    def runs_between(self, start: datetime, end: datetime) -> list[RunInfo]:
        first = self.next_run(None, now=in_utc(end), catchup=True)
        return [first] if first and in_utc(start) <= first.logical_date <= in_utc(end) else []

    @property
    def description(self) -> str:
        return f"once at {self.start_date:%Y-%m-%d %H:%M} (UTC)" if self.start_date else "once"
