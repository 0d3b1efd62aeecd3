"""The time-based branch operators' decisions over given dates, with a pinned clock:
`LatestOnlyOperator` (latest_only.py), `BranchDayOfWeekOperator` (weekday.py) and
`BranchDateTimeOperator` (date_time.py), as Airflow decides them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from flowtui import (
    DAG,
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    EmptyOperator,
    LatestOnlyOperator,
    WeekDay,
)
from flowtui.authoring.context import DagRun
from flowtui.authoring.operators.date_time import is_within, target_times_as_dates
from flowtui.authoring.operators.latest_only import is_latest, next_interval_end
from flowtui.errors import InvalidArgument

JAN_15 = datetime(2024, 1, 15, tzinfo=UTC)  # a Monday


def _context(dag: DAG, run_type: str, start: datetime, end: datetime) -> dict[str, Any]:
    run = DagRun(dag.dag_id, f"{run_type}__x", run_type, start, start, end)
    return {"dag": dag, "dag_run": run, "logical_date": start}


def _latest_only(schedule: Any, now: datetime) -> tuple[DAG, LatestOnlyOperator]:
    with DAG("latest", schedule=schedule, start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
        latest = LatestOnlyOperator(task_id="latest")
        latest >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    latest.clock = lambda: now
    return dag, latest


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (JAN_15 + timedelta(days=1), ["a", "b"]),  # in the next interval: the latest
        (JAN_15 + timedelta(hours=1), ["a", "b"]),
        (JAN_15 + timedelta(days=1, seconds=1), []),  # one interval later: no longer
        (JAN_15 + timedelta(days=5), []),
        (JAN_15, []),  # the left end of the window is excluded
    ],
)
def test_latest_only_goes_on_only_within_the_next_interval(
    now: datetime, expected: list[str]
) -> None:
    dag, latest = _latest_only("@daily", now)
    interval = (JAN_15 - timedelta(days=1), JAN_15)
    branch = latest.execute(_context(dag, "scheduled", *interval))
    assert branch == expected
    assert sorted(latest.tasks_to_skip(branch)) == sorted({"a", "b"} - set(expected))


@pytest.mark.parametrize("run_type", ["manual", "test"])
def test_latest_only_lets_manual_runs_through(run_type: str) -> None:
    dag, latest = _latest_only("@daily", JAN_15 + timedelta(days=30))
    context = _context(dag, run_type, JAN_15 - timedelta(days=1), JAN_15)
    assert latest.execute(context) == ["a", "b"]


def test_latest_only_checks_backfill_runs_and_lets_once_through() -> None:
    dag, latest = _latest_only(timedelta(hours=4), JAN_15 + timedelta(days=30))
    assert latest.execute(_context(dag, "backfill", JAN_15 - timedelta(hours=4), JAN_15)) == []
    dag, latest = _latest_only("@once", JAN_15 + timedelta(days=30))
    assert latest.execute(_context(dag, "scheduled", JAN_15, JAN_15)) == ["a", "b"]


def test_next_interval_end_follows_the_schedule_in_its_zone() -> None:
    assert next_interval_end("@hourly", "UTC", JAN_15) == JAN_15 + timedelta(hours=1)
    assert next_interval_end(timedelta(hours=4), "UTC", JAN_15) == JAN_15 + timedelta(hours=4)
    # 06:00 in Amsterdam is 05:00 UTC in January.
    amsterdam = next_interval_end("0 6 * * *", "Europe/Amsterdam", JAN_15)
    assert amsterdam == datetime(2024, 1, 15, 5, tzinfo=UTC)
    assert next_interval_end(None, "UTC", JAN_15) is None
    assert next_interval_end("@once", "UTC", JAN_15) is None
    assert is_latest("scheduled", JAN_15, None, JAN_15 + timedelta(days=9))


def _weekday(week_day: Any, *, logical: bool = False, zone_start: datetime | None = None) -> Any:
    start = zone_start or datetime(2024, 1, 1, tzinfo=UTC)
    with DAG("days", schedule=None, start_date=start) as dag:
        branch = BranchDayOfWeekOperator(
            task_id="branch",
            follow_task_ids_if_true="yes",
            follow_task_ids_if_false=["no"],
            week_day=week_day,
            use_task_logical_date=logical,
        )
        branch >> [EmptyOperator(task_id="yes"), EmptyOperator(task_id="no")]
    return dag, branch


@pytest.mark.parametrize(
    ("week_day", "expected"),
    [
        ("Monday", ["yes"]),
        ("monday", ["yes"]),
        (WeekDay.MONDAY, ["yes"]),
        ({"Saturday", WeekDay.SUNDAY}, ["no"]),
        (["tuesday", "MONDAY"], ["yes"]),
        (("Friday",), ["no"]),
    ],
)
def test_branch_day_of_week_by_today(week_day: Any, expected: list[str]) -> None:
    dag, branch = _weekday(week_day)
    branch.clock = lambda: JAN_15 + timedelta(hours=12)
    assert branch.execute(_context(dag, "manual", JAN_15, JAN_15)) == expected


def test_branch_day_of_week_judges_today_in_the_dags_zone_or_the_logical_date() -> None:
    from zoneinfo import ZoneInfo

    # Sunday 23:30 UTC is already Monday in Tokyo.
    sunday_late = datetime(2024, 1, 14, 23, 30, tzinfo=UTC)
    dag, branch = _weekday("Monday", zone_start=datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo")))
    branch.clock = lambda: sunday_late
    assert branch.execute(_context(dag, "manual", sunday_late, sunday_late)) == ["yes"]
    dag, branch = _weekday("Monday", logical=True)
    branch.clock = lambda: JAN_15  # ignored: the logical date is a Sunday
    assert branch.execute(_context(dag, "manual", sunday_late, sunday_late)) == ["no"]


def test_branch_day_of_week_refuses_an_unknown_day_at_load() -> None:
    with pytest.raises(InvalidArgument, match="Invalid Week Day passed"):
        _weekday("Funday")
    with pytest.raises(InvalidArgument, match="Unsupported Type"):
        _weekday(3)


def _window(lower: Any, upper: Any, *, zone_start: datetime | None = None) -> Any:
    start = zone_start or datetime(2024, 1, 1, tzinfo=UTC)
    with DAG("window", schedule=None, start_date=start) as dag:
        branch = BranchDateTimeOperator(
            task_id="branch",
            follow_task_ids_if_true=["yes"],
            follow_task_ids_if_false="no",
            target_lower=lower,
            target_upper=upper,
        )
        branch >> [EmptyOperator(task_id="yes"), EmptyOperator(task_id="no")]
    return dag, branch


@pytest.mark.parametrize(
    ("lower", "upper", "now", "inside"),
    [
        (time(9), time(17), time(12), True),
        (time(9), time(17), time(9), True),  # bounds included
        (time(9), time(17), time(17), True),
        (time(9), time(17), time(17, 0, 1), False),
        (time(9), time(17), time(8, 59), False),
        (None, time(17), time(3), True),
        (time(9), None, time(23, 59), True),
        (time(9), None, time(8), False),
        # An upper time before the lower one ends the next day, the window starting today:
        (time(22), time(2), time(23), True),
        (time(22), time(2), time(1), False),  # 01:00 today is before 22:00 today
        (datetime(2024, 1, 15, 10), datetime(2024, 1, 15, 11), time(10, 30), True),
        (datetime(2024, 1, 14, 10), datetime(2024, 1, 14, 11), time(10, 30), False),
    ],
)
def test_branch_date_time_window(lower: Any, upper: Any, now: time, inside: bool) -> None:
    dag, branch = _window(lower, upper)
    at = datetime.combine(JAN_15.date(), now, tzinfo=UTC)
    branch.clock = lambda: at
    assert branch.execute(_context(dag, "manual", JAN_15, JAN_15)) == (
        ["yes"] if inside else ["no"]
    )


def test_branch_date_time_takes_naive_bounds_in_the_dags_zone() -> None:
    from zoneinfo import ZoneInfo

    amsterdam = ZoneInfo("Europe/Amsterdam")  # UTC+1 in January
    at = datetime(2024, 1, 15, 8, 30, tzinfo=UTC)  # 09:30 in Amsterdam
    assert is_within(at, time(9), time(10), "Europe/Amsterdam")
    assert not is_within(at, time(9), time(10), "UTC")
    assert is_within(at, time(9, tzinfo=amsterdam), None, "UTC")  # a zone of its own: kept
    assert target_times_as_dates(at, None, None) == (None, None)


def test_branch_date_time_refuses_no_bounds_at_load() -> None:
    with pytest.raises(InvalidArgument, match="both None"):
        _window(None, None)
    with pytest.raises(InvalidArgument, match="target_upper must be a datetime or a time"):
        _window(time(1), "noon")
