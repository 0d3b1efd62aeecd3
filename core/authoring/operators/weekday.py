"""`BranchDayOfWeekOperator` and Airflow's `WeekDay` enum: follow one set of tasks on the
given days of the week and another set on the others, judged by today's date in the DAG's time
zone, or by the run's logical date (in UTC, as Airflow's context gives it)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowtui.authoring.baseoperator import Context
from flowtui.authoring.operators.branch import BaseBranchOperator, task_ids
from flowtui.clock import utcnow
from flowtui.errors import InvalidArgument


class WeekDay(enum.IntEnum):
    """The days of the week, numbered as `datetime.isoweekday` (Monday 1 ... Sunday 7)."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> int:
        """The number of a day given by name, in any case ("monday", "MONDAY").

        Raises:
            AttributeError: no day has that name (as in Airflow).
        """
        sanitized = week_day_str.upper()
        if sanitized not in cls.__members__:
            raise AttributeError(f'Invalid Week Day passed: "{week_day_str}"')
        return cls[sanitized].value

    @classmethod
    def convert(cls, day: str | WeekDay) -> int:
        """A day's number, from its name or member."""
        return day.value if isinstance(day, WeekDay) else cls.get_weekday_number(day)

    @classmethod
    def validate_week_day(cls, week_day: str | WeekDay | Iterable[str | WeekDay]) -> set[int]:
        """The numbers of a day or a collection of days.

        Raises:
            TypeError: `week_day` is neither a day nor a set, list or tuple of days.
            AttributeError: a name is no day's.
        """
        if isinstance(week_day, str | WeekDay):
            return {cls.convert(week_day)}
        if isinstance(week_day, set | list | tuple | frozenset):
            return {cls.convert(day) for day in week_day}
        raise TypeError(
            f"Unsupported Type for week_day parameter: {type(week_day)}. Input should be "
            "iterable type: str, set, list, dict or Weekday enum type"
        )


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follow `follow_task_ids_if_true` on `week_day`, else `follow_task_ids_if_false`.

    Args:
        follow_task_ids_if_true: task id(s) to follow on one of the days.
        follow_task_ids_if_false: task id(s) to follow on the other days.
        week_day: a day (name in any case, or `WeekDay`), or a set, list or tuple of them.
        use_task_logical_date: judge by the run's logical date instead of today.
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        week_day: str | WeekDay | Iterable[str | WeekDay],
        use_task_logical_date: bool = False,
        use_task_execution_day: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.clock: Callable[[], datetime] = utcnow
        """Where now comes from (a test gives a fixed one)."""
        try:
            self.week_day_numbers = WeekDay.validate_week_day(week_day)
        except (TypeError, AttributeError) as exc:
            raise InvalidArgument(self._where(), f"week_day: {exc}") from None
        self.follow_task_ids_if_true = task_ids(follow_task_ids_if_true)
        self.follow_task_ids_if_false = task_ids(follow_task_ids_if_false)
        self.week_day = week_day
        # Airflow 2's older name for the same switch.
        self.use_task_logical_date = bool(use_task_logical_date or use_task_execution_day)

    def choose_branch(self, context: Context) -> list[str]:
        if self.use_task_logical_date:
            day: datetime = context["logical_date"]
        else:
            day = self.clock().astimezone(ZoneInfo(context["dag"].timezone))
        if day.isoweekday() in self.week_day_numbers:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false
