"""Waiting for a moment: `TimeDeltaSensor` (a delta after the run's data interval ends, as in
Airflow 2) and `DateTimeSensor` (a templated date and time). Each sleeps, or is rescheduled,
until its moment exactly rather than a whole `poke_interval` past it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from flowtui.authoring.arguments import to_timedelta
from flowtui.authoring.baseoperator import Context
from flowtui.authoring.sensors.base import BaseSensorOperator
from flowtui.errors import InvalidArgument


class _MomentSensor(BaseSensorOperator):
    """Waits until `moment(context)`."""

    def moment(self, context: Context) -> datetime:
        raise NotImplementedError

    def poke(self, context: Context) -> bool:
        target = self.moment(context)
        self._target = target
        return datetime.now(UTC) >= target

    def _interval(self, waited: float) -> float:
        remaining = (self._target - datetime.now(UTC)).total_seconds()
        return max(0.0, min(super()._interval(waited), remaining))


class TimeDeltaSensor(_MomentSensor):
    """Wait until `delta` after the run's data interval ends."""

    def __init__(self, *, delta: timedelta | float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delta = to_timedelta(delta, self._where(), "delta") or timedelta()

    def moment(self, context: Context) -> datetime:
        end: datetime = context["data_interval_end"]
        return end + self.delta


class DateTimeSensor(_MomentSensor):
    """Wait until `target_time`: a datetime (naive means UTC) or ISO-8601 text (templated,
    e.g. "{{ macros.ds_add(ds, 1) }}T06:00:00+00:00")."""

    template_fields: ClassVar[Sequence[str]] = ("target_time",)

    def __init__(self, *, target_time: str | datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(target_time, str | datetime):
            raise InvalidArgument(
                self._where(),
                f"target_time must be a datetime or ISO-8601 text, got {target_time!r}",
            )
        self.target_time = target_time

    def moment(self, context: Context) -> datetime:
        value = self.target_time
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when
