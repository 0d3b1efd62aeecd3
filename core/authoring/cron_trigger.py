"""`CronTriggerTimetable`, Airflow's cron schedule without data intervals: a run fires at each
cron time and that time is its logical date (Airflow 3's default for cron strings is this one;
flowtui's cron strings keep Airflow 2's data intervals, see the README). What the runs are is
`flowtui.scheduling.timetables.cron_trigger`'s; this is the value a DAG file writes."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import Any

from flowtui.errors import InvalidArgument

_UTC_NAMES = ("UTC", "Etc/UTC", "utc", "+00:00", "Z")


class CronTriggerTimetable:
    """`schedule=CronTriggerTimetable("0 2 * * *", timezone="Europe/Berlin")`: a run at each
    cron time of the zone, whose logical date is that time and whose data interval is the
    `interval` before it (empty by default). `run_immediately` is Airflow's: it decides the
    first run of a DAG without a start_date only, and a scheduled flowtui DAG has one."""

    __slots__ = ("cron", "interval", "run_immediately", "timezone")

    def __init__(
        self,
        cron: str,
        *,
        timezone: str | tzinfo,
        interval: timedelta = timedelta(),
        run_immediately: bool | timedelta = False,
    ) -> None:
        place = f"CronTriggerTimetable({cron!r})"
        if not isinstance(cron, str) or cron.strip() == "@once":
            raise InvalidArgument(place, "give a cron string or preset (for @once: '@once')")
        if not isinstance(interval, timedelta) or interval < timedelta(0):
            raise InvalidArgument(place, f"interval must be a timedelta >= 0, not {interval!r}")
        if not isinstance(run_immediately, bool | timedelta):
            raise InvalidArgument(place, "run_immediately must be True, False or a timedelta")
        self.cron = cron
        self.timezone = zone_name(timezone, place)
        self.interval = interval
        self.run_immediately = run_immediately

    def as_spec(self) -> dict[str, Any]:
        """The schedule as a DAG's spec keeps it (plain data)."""
        return {
            "cron_trigger": self.cron,
            "timezone": self.timezone,
            "interval": self.interval.total_seconds(),
        }

    def __repr__(self) -> str:
        return f"CronTriggerTimetable({self.cron!r}, timezone={self.timezone!r})"


def zone_name(zone: str | tzinfo, place: str) -> str:
    """The IANA name of a time zone given as a name, a zoneinfo or a pendulum zone; UTC for
    any zone at offset 0. Other fixed offsets have no name to schedule by: refused."""
    name = (
        zone if isinstance(zone, str) else getattr(zone, "key", None) or getattr(zone, "name", None)
    )
    if name in _UTC_NAMES or (isinstance(zone, tzinfo) and zone.utcoffset(None) == timedelta(0)):
        return "UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            place, f"timezone {zone!r} is no named zone; use one such as 'Europe/Berlin'"
        ) from None
    return str(name)
