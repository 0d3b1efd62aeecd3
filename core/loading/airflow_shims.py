"""The few Airflow names that are not simply a flowtui name: `task` refusing the decorators
flowtui lacks, `airflow.utils.dates.days_ago`, `airflow.utils.timezone`'s helpers, and the
timetables that map onto a flowtui `schedule` value. Imported only when a DAG file asks the
`airflow` import hook for one of them."""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from datetime import datetime as _datetime
from typing import Any

from flowtui.authoring.taskflow import task as _flowtui_task
from flowtui.errors import UnsupportedAirflowImport

utc = UTC


class _AirflowTask:
    """Airflow's `task`: flowtui's `@task` and its variants (`task.bash`, `task.branch`,
    `task.short_circuit`, `task.sensor`, `task.python`); any other (`task.virtualenv`,
    `task.docker`, ...) fails the file with one line rather than an AttributeError."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _flowtui_task(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(_flowtui_task, name):
            if name.startswith("__"):
                raise AttributeError(name)
            raise UnsupportedAirflowImport("airflow.decorators", (f"task.{name}",))
        return getattr(_flowtui_task, name)


task = _AirflowTask()


def _zone(timezone: tzinfo | str | None) -> tzinfo:
    if timezone is None:
        return UTC
    if isinstance(timezone, str):
        from zoneinfo import ZoneInfo

        return UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    return timezone


def days_ago(n: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0) -> Any:
    """Midnight UTC (or the time given) `n` days ago, as Airflow 2's `days_ago`."""
    today = _datetime.now(UTC).replace(
        hour=hour, minute=minute, second=second, microsecond=microsecond
    )
    return today - timedelta(days=n)


def utcnow() -> _datetime:
    return _datetime.now(UTC)


def datetime(*args: Any, **kwargs: Any) -> _datetime:
    """A `datetime` that is aware: UTC unless `tzinfo` is given, as Airflow's."""
    kwargs.setdefault("tzinfo", UTC)
    return _datetime(*args, **kwargs)


def parse(string: str, timezone: tzinfo | str | None = None) -> _datetime:
    """An ISO 8601 date or time, aware (`timezone`, default UTC, where it names none)."""
    value = _datetime.fromisoformat(string)
    return value if value.tzinfo is not None else value.replace(tzinfo=_zone(timezone))


def is_localized(value: _datetime) -> bool:
    return value.utcoffset() is not None


def is_naive(value: _datetime) -> bool:
    return not is_localized(value)


def make_aware(value: _datetime, timezone: tzinfo | str | None = None) -> _datetime:
    """A naive datetime in `timezone` (default UTC); an aware one is refused, as in Airflow."""
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return value.replace(tzinfo=_zone(timezone))


def convert_to_utc(value: _datetime | None) -> _datetime | None:
    """The same moment in UTC; naive means UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if is_naive(value) else value.astimezone(UTC)


def NullTimetable() -> None:
    """Manual runs only: `schedule=None`."""
    return None


def OnceTimetable() -> str:
    """One run: `schedule="@once"`."""
    return "@once"


def DeltaDataIntervalTimetable(delta: timedelta) -> timedelta:
    """Intervals of `delta`: `schedule=delta`."""
    return delta


def CronDataIntervalTimetable(cron: str, timezone: tzinfo | str) -> str:
    """A cron schedule with Airflow 2's data intervals: `schedule=cron`. flowtui takes a DAG's
    time zone from its `start_date`, so only UTC is taken here; any other zone is refused
    rather than silently ignored."""
    zone = timezone if isinstance(timezone, str) else getattr(timezone, "key", None)
    zone = zone or getattr(timezone, "name", None) or str(timezone)
    if zone not in ("UTC", "Etc/UTC", "utc") and not (
        isinstance(timezone, tzinfo) and timezone.utcoffset(None) == timedelta(0)
    ):
        raise UnsupportedAirflowImport(
            "airflow.timetables.interval", (f"CronDataIntervalTimetable(timezone={zone!r})",)
        )
    return cron
