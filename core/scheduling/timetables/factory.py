"""The timetable of a DAG's schedule, as its spec stores it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowtui.clock import in_utc, parse_datetime
from flowtui.cron import validate_schedule
from flowtui.errors import InvalidSchedule
from flowtui.scheduling.timetables.assets import (
    AssetOrTimeTimetable,
    AssetTimetable,
    asset_condition,
)
from flowtui.scheduling.timetables.base import NullTimetable, OnceTimetable, Timetable
from flowtui.scheduling.timetables.cron_trigger import CronTriggerTimetable
from flowtui.scheduling.timetables.interval import CronTimetable, DeltaTimetable
from flowtui.spec import DagSpec


def timetable(spec: DagSpec) -> Timetable:
    """The timetable of a DAG's schedule.

    Raises:
        InvalidSchedule: the schedule is none of None, a preset, a 5-field cron string,
            {"timedelta": seconds > 0}, {"cron_trigger": cron, "timezone", "interval"} or an
            asset schedule ({"datasets": [...], ...},
            `timetables.assets`).
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
    if isinstance(schedule, dict) and "cron_trigger" in schedule:
        validate_schedule(schedule["cron_trigger"], dag_id=spec.dag_id)
        interval = timedelta(seconds=schedule.get("interval") or 0)
        zone = schedule.get("timezone") or spec.timezone
        return CronTriggerTimetable(schedule["cron_trigger"], zone, interval, start, end)
    seconds = schedule.get("timedelta") if isinstance(schedule, dict) else None
    if isinstance(seconds, int | float) and seconds > 0:
        return DeltaTimetable(timedelta(seconds=seconds), start, end)
    condition = asset_condition(schedule)
    if condition is not None and schedule.get("timetable") is not None:
        inner = timetable(spec._replace(schedule=schedule["timetable"]))
        return AssetOrTimeTimetable(inner, condition)
    if condition is not None:
        return AssetTimetable(condition)
    raise InvalidSchedule(
        spec.dag_id,
        schedule,
        "use None, a preset such as '@daily', a 5-field cron string, a positive timedelta "
        "or assets",
    )


def _parse_date(text: str | None, zone: str) -> datetime | None:
    return in_utc(parse_datetime(text, ZoneInfo(zone))) if text else None
