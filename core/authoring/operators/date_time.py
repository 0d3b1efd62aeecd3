"""`BranchDateTimeOperator`: follow one set of tasks when now (or the run's logical date) lies
between two bounds and another set when it does not, with Airflow's rules: a bound is a
`datetime` or a `time` of the day being judged; either may be None (no bound on that side); a
naive bound is in the DAG's time zone; an upper time before the lower one means the next day."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowtui.authoring.baseoperator import Context
from flowtui.authoring.operators.branch import BaseBranchOperator, task_ids
from flowtui.clock import utcnow
from flowtui.errors import InvalidArgument

Bound = datetime | time | None


def target_times_as_dates(
    base: datetime, lower: Bound, upper: Bound
) -> tuple[datetime | None, datetime | None]:
    """The bounds as datetimes: a `time` on `base`'s date (naive unless the time has a zone),
    and an upper bound before the lower one moved a day on (a window over midnight)."""
    if isinstance(lower, datetime) and isinstance(upper, datetime):
        return lower, upper
    low = datetime.combine(base.date(), lower) if isinstance(lower, time) else lower
    high = datetime.combine(base.date(), upper) if isinstance(upper, time) else upper
    if low is None or high is None:
        return low, high
    if high < low:
        high += timedelta(days=1)
    return low, high


def is_within(now: datetime, lower: Bound, upper: Bound, timezone: str) -> bool:
    """Whether `now` (aware) lies within [lower, upper], naive bounds being in `timezone`."""
    low, high = (_aware(bound, timezone) for bound in target_times_as_dates(now, lower, upper))
    if high is not None and high < now:
        return False
    return not (low is not None and low > now)


def _aware(moment: datetime | None, timezone: str) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(timezone))


class BranchDateTimeOperator(BaseBranchOperator):
    """Follow `follow_task_ids_if_true` when now is within [target_lower, target_upper], else
    `follow_task_ids_if_false`.

    Args:
        follow_task_ids_if_true: task id(s) to follow inside the window.
        follow_task_ids_if_false: task id(s) to follow outside it.
        target_lower: the window's start (`datetime` or `time`); None: no start.
        target_upper: the window's end (`datetime` or `time`); None: no end.
        use_task_logical_date: judge the run's logical date instead of now.

    Raises:
        InvalidArgument: both bounds are None, or a bound is neither a datetime nor a time.
    """

    def __init__(
        self,
        *,
        follow_task_ids_if_true: str | Iterable[str],
        follow_task_ids_if_false: str | Iterable[str],
        target_lower: Bound,
        target_upper: Bound,
        use_task_logical_date: bool = False,
        use_task_execution_date: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.clock: Callable[[], datetime] = utcnow
        """Where now comes from (a test gives a fixed one)."""
        place = self._where()
        if target_lower is None and target_upper is None:
            raise InvalidArgument(
                place,
                "target_lower and target_upper are both None; give at least one of them",
            )
        for name, bound in (("target_lower", target_lower), ("target_upper", target_upper)):
            if bound is not None and not isinstance(bound, datetime | time):
                raise InvalidArgument(place, f"{name} must be a datetime or a time, got {bound!r}")
        self.follow_task_ids_if_true = task_ids(follow_task_ids_if_true)
        self.follow_task_ids_if_false = task_ids(follow_task_ids_if_false)
        self.target_lower = target_lower
        self.target_upper = target_upper
        # Airflow 2's older name for the same switch.
        self.use_task_logical_date = bool(use_task_logical_date or use_task_execution_date)

    def choose_branch(self, context: Context) -> list[str]:
        now: datetime = context["logical_date"] if self.use_task_logical_date else self.clock()
        if is_within(now, self.target_lower, self.target_upper, context["dag"].timezone):
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false
