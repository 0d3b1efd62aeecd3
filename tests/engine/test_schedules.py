"""Timetables against croniter and Airflow 2's data-interval semantics, with an explicit `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from flowtui.cron import validate_schedule
from flowtui.errors import InvalidSchedule
from flowtui.scheduling.timetables.base import DataInterval, OnceTimetable, RunInfo, Timetable
from flowtui.scheduling.timetables.factory import timetable
from flowtui.scheduling.timetables.interval import CronTimetable, DeltaTimetable
from flowtui.spec import DagSpec

BERLIN = ZoneInfo("Europe/Berlin")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def make(
    schedule: object, start: str | None = "2024-01-01T00:00:00", end: str | None = None
) -> Timetable:
    """The timetable of a DAG, with the time zone taken from start_date as dag.py does."""
    zone = "UTC"
    if start and datetime.fromisoformat(start).utcoffset():
        zone = "Europe/Berlin"  # every aware start_date in these tests is in Berlin
    spec = DagSpec("d", "d.py", schedule=schedule, start_date=start, end_date=end, timezone=zone)
    return timetable(spec)


def cron_after(expression: str, at: datetime, zone: ZoneInfo | None = None) -> datetime:
    """What croniter itself says comes next, in UTC."""
    found: datetime = croniter(expression, at.astimezone(zone or UTC)).get_next(datetime)
    return found.astimezone(UTC)


def chain(table: Timetable, count: int, *, now: datetime, catchup: bool) -> list[RunInfo]:
    runs: list[RunInfo] = []
    for _ in range(count):
        info = table.next_run(runs[-1].interval if runs else None, now=now, catchup=catchup)
        if info is None:
            break
        runs.append(info)
    return runs


CRON_CASES = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("*/15 * * * *", "*/15 * * * *"),
    ("5,35 */2 * * *", "5,35 */2 * * *"),
    ("0 8-18/2 * * *", "0 8-18/2 * * *"),
    ("30 6 1,15 * *", "30 6 1,15 * *"),
    ("0 12 * JAN,JUL *", "0 12 * 1,7 *"),
    ("0 9 * * 1-5", "0 9 * * 1-5"),
    ("0 9 * * MON-FRI", "0 9 * * 1-5"),
    ("0 0 * * 0", "0 0 * * 0"),
    ("0 0 * * 7", "0 0 * * 0"),
    ("0 0 * * SUN", "0 0 * * 0"),
    ("5 4 * * sun", "5 4 * * 0"),
]


@pytest.mark.parametrize(("schedule", "expression"), CRON_CASES)
@pytest.mark.parametrize("catchup", [True, False])
def test_next_run_after_last_is_what_croniter_gives(
    schedule: str, expression: str, catchup: bool
) -> None:
    first = cron_after(expression, utc(2024, 2, 10, 13, 7))
    second = cron_after(expression, first)
    last = DataInterval(first, second)
    info = make(schedule).next_run(last, now=second, catchup=catchup)
    third = cron_after(expression, second)
    assert info == RunInfo(second, DataInterval(second, third), run_after=third)


@pytest.mark.parametrize("schedule", ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "@weekly"])
def test_day_of_week_0_and_7_are_sunday(schedule: str) -> None:
    runs = make(schedule).runs_between(utc(2024, 3, 1), utc(2024, 3, 31))
    assert [run.logical_date.day for run in runs] == [3, 10, 17, 24, 31]
    assert {run.logical_date.weekday() for run in runs} == {6}  # Python's Sunday


DAILY_FROM_MARCH = "2024-03-01T00:00:00"
D = DataInterval


@pytest.mark.parametrize(
    ("start", "last", "now", "catchup", "expected"),
    [
        # catchup=True: the first interval from start_date, then the one after `last`
        (DAILY_FROM_MARCH, None, utc(2024, 3, 10, 12), True, utc(2024, 3, 1)),
        ("2024-03-01T10:00:00", None, utc(2024, 3, 10, 12), True, utc(2024, 3, 2)),
        (DAILY_FROM_MARCH, D(utc(2024, 3, 1), utc(2024, 3, 2)), utc(2024, 3, 10), True,
         utc(2024, 3, 2)),
        # catchup=False: only the latest interval that has completed by `now`
        (DAILY_FROM_MARCH, None, utc(2024, 3, 10, 12), False, utc(2024, 3, 9)),
        (DAILY_FROM_MARCH, None, utc(2024, 3, 10), False, utc(2024, 3, 9)),
        (DAILY_FROM_MARCH, D(utc(2024, 3, 1), utc(2024, 3, 2)), utc(2024, 3, 10, 12), False,
         utc(2024, 3, 9)),
        # ... and never that interval again: the next one waits until it has ended
        (DAILY_FROM_MARCH, D(utc(2024, 3, 9), utc(2024, 3, 10)), utc(2024, 3, 10, 12), False,
         utc(2024, 3, 10)),
        # a start_date in the future wins over `now`
        ("2024-04-01T00:00:00", None, utc(2024, 3, 10, 12), False, utc(2024, 4, 1)),
    ],
)  # fmt: skip
def test_daily_next_run_follows_airflow(
    start: str, last: DataInterval | None, now: datetime, catchup: bool, expected: datetime
) -> None:
    info = make("@daily", start).next_run(last, now=now, catchup=catchup)
    day = timedelta(days=1)
    assert info == RunInfo(expected, DataInterval(expected, expected + day), expected + day)


@pytest.mark.parametrize(
    "schedule", ["@hourly", "@daily", "0 9 * * 1-5", "*/7 * * * *", {"timedelta": 5400}]
)
@pytest.mark.parametrize("catchup", [True, False])
def test_next_run_never_repeats_an_interval(schedule: object, catchup: bool) -> None:
    table = make(schedule)
    last: DataInterval | None = None
    now = utc(2024, 1, 3)
    for _ in range(40):
        info = table.next_run(last, now=now, catchup=catchup)
        assert info is not None
        assert last is None or info.logical_date > last.start
        assert last is None or not catchup or info.interval.start == last.end
        last, now = info.interval, max(now, info.run_after) + timedelta(minutes=1)


def test_catchup_runs_every_interval_since_start_date() -> None:
    runs = chain(make("@daily"), 5, now=utc(2024, 1, 10), catchup=True)
    assert [run.logical_date for run in runs] == [utc(2024, 1, day) for day in range(1, 6)]


@pytest.mark.parametrize(
    ("end", "expected_days"),
    [("2024-01-03T00:00:00", [1, 2, 3]), ("2024-01-03T12:00:00", [1, 2, 3]), (None, [1, 2, 3, 4])],
)
def test_end_date_stops_runs(end: str | None, expected_days: list[int]) -> None:
    runs = chain(make("@daily", end=end), 4, now=utc(2024, 2, 1), catchup=True)
    assert [run.logical_date.day for run in runs] == expected_days


def test_once_runs_exactly_once_at_start_date() -> None:
    table = make("@once", "2024-05-01T06:00:00")
    for catchup in (True, False):
        assert chain(table, 3, now=utc(2025, 1, 1), catchup=catchup) == [
            RunInfo.exact(utc(2024, 5, 1, 6))
        ]
    assert isinstance(table, OnceTimetable)
    assert table.runs_between(utc(2024, 1, 1), utc(2024, 12, 31)) == [
        RunInfo.exact(utc(2024, 5, 1, 6))
    ]
    assert table.runs_between(utc(2024, 6, 1), utc(2024, 12, 31)) == []


@pytest.mark.parametrize("schedule", [None, {"datasets": ["s3://bucket/a"]}])
def test_manual_and_dataset_schedules_never_run_on_time(schedule: object) -> None:
    table = make(schedule)
    assert table.next_run(None, now=utc(2030, 1, 1), catchup=True) is None
    assert table.runs_between(utc(2024, 1, 1), utc(2024, 12, 31)) == []
    assert table.infer_manual_interval(utc(2024, 3, 1, 5)) == D(
        utc(2024, 3, 1, 5), utc(2024, 3, 1, 5)
    )


@pytest.mark.parametrize(
    ("seconds", "catchup", "now", "expected_start"),
    [
        (1, True, utc(2024, 1, 1, 0, 0, 30), utc(2024, 1, 1, 0, 0, 7)),
        (1, False, utc(2024, 1, 1, 0, 0, 30, 500), utc(2024, 1, 1, 0, 0, 29)),
        (0.25, False, utc(2024, 1, 1, 0, 0, 8), utc(2024, 1, 1, 0, 0, 7, 750000)),
        (6 * 3600, True, utc(2024, 1, 5), utc(2024, 1, 1, 0, 0, 7)),
        (6 * 3600, False, utc(2024, 1, 5, 0, 0, 8), utc(2024, 1, 4, 18, 0, 7)),
        (6 * 3600, False, utc(2024, 1, 4, 18, 0, 7), utc(2024, 1, 4, 12, 0, 7)),
    ],
)
def test_timedelta_intervals_start_at_start_date(
    seconds: float, catchup: bool, now: datetime, expected_start: datetime
) -> None:
    table = make({"timedelta": seconds}, "2024-01-01T00:00:07")
    assert isinstance(table, DeltaTimetable)
    info = table.next_run(None, now=now, catchup=catchup)
    end = expected_start + timedelta(seconds=seconds)
    assert info == RunInfo(expected_start, DataInterval(expected_start, end), end)
    after = table.next_run(DataInterval(expected_start, end), now=now, catchup=True)
    assert after is not None
    assert after.interval == DataInterval(end, end + timedelta(seconds=seconds))


# --- daylight saving time: Europe/Berlin, 2024-03-31 02:00 -> 03:00, 2024-10-27 03:00 -> 02:00


@pytest.mark.parametrize(
    ("start", "now", "expected"),
    [
        # spring: 02:30 does not exist; croniter puts the run at 03:00 CEST (01:00 UTC)
        (
            "2024-03-29T00:00:00+01:00",
            utc(2024, 4, 2),
            [utc(2024, 3, 29, 1, 30), utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1),
             utc(2024, 4, 1, 0, 30)],
        ),
        # autumn: 02:30 happens twice; only the first (CEST, 00:30 UTC) runs
        (
            "2024-10-25T00:00:00+02:00",
            utc(2024, 10, 29),
            [utc(2024, 10, 25, 0, 30), utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 0, 30),
             utc(2024, 10, 28, 1, 30)],
        ),
    ],
)  # fmt: skip
def test_daily_0230_in_berlin_runs_once_on_dst_days(
    start: str, now: datetime, expected: list[datetime]
) -> None:
    table = make("30 2 * * *", start)
    runs = chain(table, len(expected), now=now, catchup=True)
    assert [run.logical_date for run in runs] == expected
    assert [run.run_after for run in runs[:-1]] == expected[1:]
    assert table.runs_between(utc(2024, 1, 1), expected[-1]) == runs


def test_repeated_0230_is_not_a_second_run_without_catchup() -> None:
    table = make("30 2 * * *", "2024-10-01T00:00:00+02:00")
    now = utc(2024, 10, 27, 1, 45)  # just after the second 02:30 (CET)
    latest = table.next_run(None, now=now, catchup=False)
    assert latest == RunInfo.of_interval(utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 0, 30))
    after = table.next_run(latest.interval, now=now, catchup=False)
    assert after == RunInfo.of_interval(utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30))


def test_croniter_itself_repeats_0230_on_the_autumn_day() -> None:
    # The raw croniter sequence that the "first occurrence only" rule trims.
    first = cron_after("30 2 * * *", utc(2024, 10, 26, 12), BERLIN)
    assert (first, cron_after("30 2 * * *", first, BERLIN)) == (
        utc(2024, 10, 27, 0, 30),
        utc(2024, 10, 27, 1, 30),
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [(utc(2024, 3, 30, 20), utc(2024, 3, 31, 6)), (utc(2024, 10, 26, 20), utc(2024, 10, 27, 6))],
)
def test_hourly_in_berlin_runs_every_real_hour_across_dst(start: datetime, end: datetime) -> None:
    runs = make("@hourly", "2024-01-01T00:00:00+01:00").runs_between(start, end)
    hours = int((end - start) / timedelta(hours=1)) + 1
    assert [run.logical_date for run in runs] == [start + timedelta(hours=n) for n in range(hours)]
    assert all(run.run_after - run.logical_date == timedelta(hours=1) for run in runs)


# --- backfill and manual runs


@pytest.mark.parametrize(
    ("schedule", "start_date", "first", "last", "expected"),
    [
        ("@daily", "2024-01-01T00:00:00", utc(2024, 3, 1), utc(2024, 3, 3),
         [utc(2024, 3, 1), utc(2024, 3, 2), utc(2024, 3, 3)]),
        ("@daily", "2024-01-01T00:00:00", utc(2024, 3, 1, 1), utc(2024, 3, 3, 23),
         [utc(2024, 3, 2), utc(2024, 3, 3)]),
        # start_date bounds a backfill
        ("@daily", "2024-03-02T00:00:00", utc(2024, 3, 1), utc(2024, 3, 3),
         [utc(2024, 3, 2), utc(2024, 3, 3)]),
        # midnight in Berlin is 23:00 UTC in winter; bounds given in Berlin time
        ("@daily", "2024-01-01T00:00:00+01:00", datetime(2024, 3, 1, tzinfo=BERLIN),
         datetime(2024, 3, 3, tzinfo=BERLIN),
         [utc(2024, 2, 29, 23), utc(2024, 3, 1, 23), utc(2024, 3, 2, 23)]),
        ("0 9 * * 1-5", "2024-01-01T00:00:00+01:00", datetime(2024, 3, 29, tzinfo=BERLIN),
         datetime(2024, 4, 2, 9, tzinfo=BERLIN),
         [utc(2024, 3, 29, 8), utc(2024, 4, 1, 7), utc(2024, 4, 2, 7)]),
        ({"timedelta": 6 * 3600}, "2024-01-01T00:00:00", utc(2024, 1, 1, 1), utc(2024, 1, 2),
         [utc(2024, 1, 1, 6), utc(2024, 1, 1, 12), utc(2024, 1, 1, 18), utc(2024, 1, 2)]),
    ],
)  # fmt: skip
def test_runs_between_is_inclusive(
    schedule: object, start_date: str, first: datetime, last: datetime, expected: list[datetime]
) -> None:
    runs = make(schedule, start_date).runs_between(first, last)
    assert [run.logical_date for run in runs] == expected
    assert all(run.run_after == run.interval.end > run.logical_date for run in runs)


def test_runs_between_stops_at_end_date() -> None:
    table = make("@daily", end="2024-03-02T00:00:00")
    runs = table.runs_between(utc(2024, 3, 1), utc(2024, 3, 10))
    assert [run.logical_date.day for run in runs] == [1, 2]


@pytest.mark.parametrize(
    ("schedule", "logical_date", "expected"),
    [
        ("@daily", utc(2024, 3, 25, 1), D(utc(2024, 3, 24), utc(2024, 3, 25))),
        ("@daily", utc(2024, 3, 25), D(utc(2024, 3, 24), utc(2024, 3, 25))),
        ("0 9 * * 1-5", utc(2024, 3, 4, 8), D(utc(2024, 2, 29, 9), utc(2024, 3, 1, 9))),
        ({"timedelta": 6 * 3600}, utc(2024, 3, 25, 1),
         D(utc(2024, 3, 24, 19), utc(2024, 3, 25, 1))),
        ("@once", utc(2024, 3, 25, 1), D(utc(2024, 3, 25, 1), utc(2024, 3, 25, 1))),
    ],
)  # fmt: skip
def test_infer_manual_interval(schedule: object, logical_date: datetime, expected: D) -> None:
    assert make(schedule).infer_manual_interval(logical_date) == expected


def test_naive_datetimes_mean_utc() -> None:
    table = make("@daily")
    naive = table.next_run(None, now=datetime(2024, 3, 10, 12), catchup=False)
    assert naive == table.next_run(None, now=utc(2024, 3, 10, 12), catchup=False)
    assert table.runs_between(datetime(2024, 3, 1), datetime(2024, 3, 1)) == [
        RunInfo.of_interval(utc(2024, 3, 1), utc(2024, 3, 2))
    ]


@pytest.mark.parametrize(
    ("schedule", "start", "description"),
    [
        ("@daily", "2024-01-01T00:00:00", "every day at 00:00 (UTC)"),
        ("30 2 * * *", "2024-01-01T00:00:00+01:00", "every day at 02:30 (Europe/Berlin)"),
        ("@hourly", "2024-01-01T00:00:00", "every hour at :00 (UTC)"),
        ("*/15 * * * *", "2024-01-01T00:00:00", "every 15 minutes (UTC)"),
        ("0 9 * * 1-5", "2024-01-01T00:00:00", "at 09:00 on Mon-Fri (UTC)"),
        ("0 0 * * 7", "2024-01-01T00:00:00", "at 00:00 on Sun (UTC)"),
        ("@monthly", "2024-01-01T00:00:00", "at 00:00 on day 1 of the month (UTC)"),
        ("@yearly", "2024-01-01T00:00:00", "at 00:00 on 1 Jan (UTC)"),
        ("0 0 L * *", "2024-01-01T00:00:00", "cron '0 0 L * *' (UTC)"),
        ({"timedelta": 21600}, "2024-01-01T00:00:00", "every 6 hours"),
        ({"timedelta": 1}, "2024-01-01T00:00:00", "every 1 second"),
        ({"datasets": ["a", "b"]}, None, "when updated: a, b"),
        (None, None, "manual runs only"),
        ("@once", "2024-01-01T00:00:00", "once at 2024-01-01 00:00 (UTC)"),
    ],
)
def test_description(schedule: object, start: str | None, description: str) -> None:
    assert make(schedule, start).description == description


# --- validation: the message names the DAG, the schedule, the field and the fix


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ("* * * * * *", "6 fields but cron takes 5 (minute hour day-of-month month day-of-week)"),
        ("* * * *", "4 fields but cron takes 5 (minute hour day-of-month month day-of-week)"),
        ("61 * * * *", "minute field '61' out of range 0-59; it takes 0-59"),
        ("0 24 * * *", "hour field '24' out of range 0-23"),
        ("0 0 0 * *", "day-of-month field '0' out of range 1-31"),
        ("0 0 * 13 *", "month field '13' out of range 1-12; it takes 1-12 or JAN-DEC"),
        ("0 0 * * 8", "day-of-week field '8' out of range 0-7"),
        ("* * * * MON-FOO", "day-of-week field 'MON-FOO': 'FOO' is not a day-of-week name"),
        ("1-70/5 * * * *", "minute field '1-70/5': '70' out of range 0-59"),
        ("*/0 * * * *", "minute field '*/0': step '0' must be a whole number >= 1"),
        ("x * * * *", "minute field 'x' is not a number"),
        ("@reboot", "@reboot is not supported"),
        ("@every5m", "unknown preset '@every5m'; use one of: @once, @hourly"),
        ("0 0 30 2 *", "no date ever matches its day-of-month and month fields"),
    ],
)
def test_validate_schedule_names_the_bad_field(schedule: str, fragment: str) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        validate_schedule(schedule, dag_id="etl")
    assert str(caught.value).startswith(f"DAG 'etl': schedule {schedule!r} is not valid: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "schedule",
    [
        *(case[0] for case in CRON_CASES),
        "@once",
        " 0  9 * * 1-5 ",
        "0 0 * * 0-7",
        "0 0 L * *",
        "0 0 * JAN-MAR MON-FRI",
    ],
)
def test_validate_schedule_accepts_cron_and_presets(schedule: str) -> None:
    validate_schedule(schedule)
    if schedule.strip() != "@once":
        assert isinstance(make(schedule), CronTimetable)


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ("61 * * * *", "minute field '61'"),
        ({"timedelta": 0}, "a positive timedelta"),
        ({"cron": "@daily"}, "a positive timedelta"),
        (42, "use None, a preset"),
    ],
)
def test_timetable_rejects_bad_schedules_naming_the_dag(schedule: object, fragment: str) -> None:
    with pytest.raises(InvalidSchedule, match=r"^DAG 'd': schedule ") as caught:
        make(schedule)
    assert fragment in str(caught.value)
