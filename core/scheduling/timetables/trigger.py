"""An APScheduler 3.x trigger that fires at the `run_after` times of a flowtui timetable, so
that croniter (through `flowtui.scheduling.timetables`) stays the one source of cron semantics.

APScheduler's own `CronTrigger` numbers day_of_week from Monday = 0, where cron (and croniter)
use Sunday = 0 (and 7); translating a crontab into it silently shifts weekday schedules by a
day. This trigger never does cron arithmetic of its own.
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.base import BaseTrigger

from flowtui.scheduling.timetables.base import Timetable


class TimetableTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3.x is untyped
    """Fires at each automated run's `run_after`, as `Timetable.next_run` decides.

    The trigger keeps no state of its own: APScheduler hands back the previous fire time,
    which is the `run_after` of the last run, and the timetable recovers that run's data
    interval from it. With `catchup=False` (the default) the first fire time after a long
    stop is the latest completed interval's `run_after`, which may lie in the past; APScheduler
    then fires once (subject to the job's misfire_grace_time and coalesce settings).

    Args:
        timetable: the DAG's timetable, as
            `flowtui.scheduling.timetables.factory.timetable(spec)` builds it.
        catchup: passed to `Timetable.next_run`.
    """

    __slots__ = ("catchup", "timetable")

    def __init__(self, timetable: Timetable, *, catchup: bool = False) -> None:
        self.timetable = timetable
        self.catchup = catchup

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The next `run_after` (aware, UTC) after `previous_fire_time`; None when done."""
        last = None
        if previous_fire_time is not None:
            # run_after is the end of the interval it closes (or the instant of @once), which
            # is just what a manual run at that time would cover.
            last = self.timetable.infer_manual_interval(previous_fire_time)
        info = self.timetable.next_run(last, now=now, catchup=self.catchup)
        return info.run_after if info is not None else None

    def __str__(self) -> str:
        return f"timetable[{self.timetable.description}]"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ({self.timetable.description!r}, catchup={self.catchup})>"
