"""TimetableTrigger fires at the timetable's run_after times, where APScheduler's own
CronTrigger would read a crontab's day-of-week field differently."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from croniter import croniter

from flowtui.scheduling.timetables.base import RunInfo, Timetable
from flowtui.scheduling.timetables.factory import timetable
from flowtui.scheduling.timetables.interval import CronTimetable
from flowtui.scheduling.timetables.trigger import TimetableTrigger
from flowtui.spec import DagSpec

# Friday 2024-03-01 09:00 fired; it is now Saturday 10:00.
FRIDAY_0900 = datetime(2024, 3, 1, 9, tzinfo=UTC)
SATURDAY_1000 = datetime(2024, 3, 2, 10, tzinfo=UTC)


def make(schedule: object, start: str = "2024-01-01T00:00:00", zone: str = "UTC") -> Timetable:
    return timetable(DagSpec("d", "d.py", schedule=schedule, start_date=start, timezone=zone))


def fire_times(trigger: TimetableTrigger, now: datetime, count: int) -> list[datetime]:
    """Fire times as APScheduler asks for them: each call gets the previous fire time."""
    fires: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        if previous is None:
            break
        fires.append(previous)
    return fires


def next_runs(table: Timetable, now: datetime, count: int) -> list[RunInfo]:
    runs: list[RunInfo] = []
    for _ in range(count):
        info = table.next_run(runs[-1].interval if runs else None, now=now, catchup=False)
        assert info is not None
        runs.append(info)
    return runs


BERLIN_START = "2024-01-01T00:00:00+01:00"


@pytest.mark.parametrize(
    ("schedule", "start", "zone"),
    [
        ("0 9 * * 1-5", "2024-01-01T00:00:00", "UTC"),
        ("0 9 * * MON-FRI", BERLIN_START, "Europe/Berlin"),
        ("0 0 * * 0", "2024-01-01T00:00:00", "UTC"),
        ("0 0 * * 7", "2024-01-01T00:00:00", "UTC"),
        ("@weekly", BERLIN_START, "Europe/Berlin"),
        ("30 2 * * *", BERLIN_START, "Europe/Berlin"),
        ("*/20 8-10 * * 6,0", "2024-01-01T00:00:00", "UTC"),
    ],
)
def test_fire_times_are_next_run_run_afters_and_croniter_times(
    schedule: str, start: str, zone: str
) -> None:
    table = make(schedule, start, zone)
    assert isinstance(table, CronTimetable)
    fires = fire_times(TimetableTrigger(table), SATURDAY_1000, 12)
    assert fires == [run.run_after for run in next_runs(table, SATURDAY_1000, 12)]
    assert all(fire.tzinfo is not None for fire in fires)
    # No DST change lies in these 12 fires, so croniter's raw sequence is the whole truth.
    cron = croniter(table.expression, fires[0].astimezone(ZoneInfo(zone)))
    assert fires[1:] == [cron.get_next(datetime).astimezone(UTC) for _ in fires[1:]]


def test_apscheduler_cron_trigger_disagrees_on_weekdays() -> None:
    table = make("0 9 * * 1-5")
    ours = TimetableTrigger(table).get_next_fire_time(FRIDAY_0900, SATURDAY_1000)
    assert ours == datetime(2024, 3, 4, 9, tzinfo=UTC)  # Monday, as cron means "1-5"
    # APScheduler's day_of_week counts from Monday = 0, so its "1-5" is Tuesday-Saturday.
    theirs = CronTrigger.from_crontab("0 9 * * 1-5", timezone=UTC)
    assert theirs.get_next_fire_time(FRIDAY_0900, SATURDAY_1000) == datetime(
        2024, 3, 2, 9, tzinfo=UTC
    )


@pytest.mark.parametrize("schedule", ["0 0 * * 0", "0 0 * * 7"])
def test_sunday_is_0_and_7_unlike_apscheduler(schedule: str) -> None:
    ours = TimetableTrigger(make(schedule)).get_next_fire_time(FRIDAY_0900, SATURDAY_1000)
    assert ours == datetime(2024, 3, 3, tzinfo=UTC)  # Sunday
    # APScheduler reads 0 as Monday and rejects 7.
    if schedule.endswith("0"):
        theirs = CronTrigger.from_crontab(schedule, timezone=UTC)
        assert theirs.get_next_fire_time(FRIDAY_0900, SATURDAY_1000).weekday() == 0
    else:
        with pytest.raises(ValueError, match="higher than the maximum"):
            CronTrigger.from_crontab(schedule, timezone=UTC)


def test_first_fire_without_catchup_is_the_latest_completed_interval() -> None:
    trigger = TimetableTrigger(make("@daily"))
    assert trigger.get_next_fire_time(None, SATURDAY_1000) == datetime(2024, 3, 2, tzinfo=UTC)


def test_first_fire_with_catchup_is_the_first_interval() -> None:
    trigger = TimetableTrigger(make("@daily"), catchup=True)
    assert fire_times(trigger, SATURDAY_1000, 2) == [
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 3, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, []),
        ({"datasets": ["db://t"]}, []),
        ("@once", [datetime(2024, 1, 1, tzinfo=UTC)]),
        ({"timedelta": 6 * 3600}, [datetime(2024, 3, 2, 6, tzinfo=UTC),
                                   datetime(2024, 3, 2, 12, tzinfo=UTC)]),
    ],
)  # fmt: skip
def test_fire_times_of_other_schedules(schedule: object, expected: list[datetime]) -> None:
    assert fire_times(TimetableTrigger(make(schedule)), SATURDAY_1000, 2) == expected


def test_apscheduler_job_uses_the_trigger() -> None:
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        table = make("0 0 * * 7", "2099-01-01T00:00:00")
        job = scheduler.add_job(print, trigger=TimetableTrigger(table))
        # The first interval starts on the first Sunday on or after start_date and runs
        # when it ends, a week later.
        assert job.next_run_time == datetime(2099, 1, 11, tzinfo=UTC)
        assert "at 00:00 on Sun (UTC)" in str(job.trigger)
    finally:
        scheduler.shutdown(wait=False)
