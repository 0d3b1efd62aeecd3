"""`LatestOnlyOperator`: let the tasks below it run only in the latest scheduled interval, as
Airflow's does. A scheduled (or backfill) run goes on when now lies in the interval after its
own (its data interval's end, exclusive, to the next interval's end, inclusive); any older run
skips the direct downstream tasks (and, through their trigger rules, what follows). Manual and
test runs, and DAGs whose schedule has no next interval (None, "@once", datasets), always go
on. The next interval is worked out from the DAG's schedule here, with croniter, because an
attempt cannot ask the scheduler's timetables (they sit above authoring)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flowtui.authoring.baseoperator import Context
from flowtui.authoring.operators.branch import BaseBranchOperator
from flowtui.clock import in_utc, utcnow

CHECKED_RUN_TYPES = frozenset({"scheduled", "backfill"})
"""Run types whose interval is compared with now; Airflow 3 lets manual runs (and so `dags
test`, which makes a manual run there) always go on."""


def next_interval_end(schedule: Any, timezone: str, after: datetime) -> datetime | None:
    """The end of the data interval that follows one ending at `after`, for a DAG `schedule`
    (a preset or cron string, a timedelta); None when the schedule has no next interval."""
    if isinstance(schedule, timedelta):
        return in_utc(after) + schedule
    if not isinstance(schedule, str) or schedule.strip() == "@once":
        return None
    from zoneinfo import ZoneInfo

    from flowtui.cron import PRESETS, load_croniter

    expression = PRESETS.get(schedule.strip(), schedule)
    local = in_utc(after).astimezone(ZoneInfo(timezone))
    found: datetime = load_croniter()(expression, local).get_next(datetime)
    return in_utc(found)


def is_latest(
    run_type: str, data_interval_end: datetime, next_end: datetime | None, now: datetime
) -> bool:
    """Whether a run of `run_type` whose data interval ends at `data_interval_end` is the
    latest one at `now` (see the module docstring)."""
    if run_type not in CHECKED_RUN_TYPES or next_end is None:
        return True
    return in_utc(data_interval_end) < in_utc(now) <= in_utc(next_end)


class LatestOnlyOperator(BaseBranchOperator):
    """Skip the direct downstream tasks unless this run is the latest scheduled interval.

    Returns (as XCom `return_value`) the direct downstream task ids it lets run: all of
    them, or none.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock: Callable[[], datetime] = utcnow
        """Where now comes from (a test gives a fixed one)."""

    def choose_branch(self, context: Context) -> list[str]:
        dag_run = context["dag_run"]
        dag = context["dag"]
        downstream = sorted(self.downstream_task_ids, key=dag.task_order.__getitem__)
        if dag_run.run_type not in CHECKED_RUN_TYPES:
            print(f"A {dag_run.run_type} run: allowing execution to proceed.")
            return downstream
        end = dag_run.data_interval_end
        next_end = next_interval_end(dag.schedule, dag.timezone, end)
        if next_end is None:
            print("Last scheduled execution: allowing execution to proceed.")
            return downstream
        now = self.clock()
        print(f"Checking latest only with left_window: {end} right_window: {next_end} now: {now}")
        if is_latest(dag_run.run_type, end, next_end, now):
            print("Latest, allowing execution to proceed.")
            return downstream
        print("Not latest execution, skipping downstream.")
        return []
