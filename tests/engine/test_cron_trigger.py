"""Airflow's `CronTriggerTimetable`: a run at each cron time, its logical date that time, its
data interval the fixed `interval` before it; from an Airflow file through `dags test`, and the
timetable's runs with and without catchup, across a backfill and in another time zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flowtui.errors import InvalidArgument
from flowtui.scheduling.timetables.base import DataInterval
from flowtui.scheduling.timetables.cron_trigger import CronTriggerTimetable
from tests.conftest import Home

START = datetime(2024, 1, 1, tzinfo=UTC)


def _table(cron: str = "0 2 * * *", zone: str = "UTC", hours: int = 0) -> CronTriggerTimetable:
    return CronTriggerTimetable(cron, zone, timedelta(hours=hours), START)


def test_catchup_runs_each_cron_time_in_turn_with_an_empty_interval() -> None:
    table = _table()
    now = datetime(2024, 1, 3, 12, tzinfo=UTC)
    first = table.next_run(None, now=now, catchup=True)
    assert first is not None
    assert first.logical_date == first.run_after == datetime(2024, 1, 1, 2, tzinfo=UTC)
    assert first.interval == DataInterval(first.logical_date, first.logical_date)
    second = table.next_run(first.interval, now=now, catchup=True)
    assert second is not None
    assert second.logical_date == datetime(2024, 1, 2, 2, tzinfo=UTC)


def test_without_catchup_the_latest_passed_cron_time_runs_then_the_next() -> None:
    table = _table(hours=24)
    now = datetime(2024, 3, 10, 12, tzinfo=UTC)
    latest = table.next_run(None, now=now, catchup=False)
    assert latest is not None
    assert latest.run_after == datetime(2024, 3, 10, 2, tzinfo=UTC)  # not 2024-01-01
    assert latest.logical_date == latest.interval.start == datetime(2024, 3, 9, 2, tzinfo=UTC)
    after = table.next_run(latest.interval, now=now, catchup=False)
    assert after is not None
    assert after.run_after == datetime(2024, 3, 11, 2, tzinfo=UTC)


def test_a_zone_and_a_backfill_and_a_manual_interval() -> None:
    table = _table("0 2 * * *", "Europe/Berlin")
    runs = table.runs_between(datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 7, 3, tzinfo=UTC))
    assert [r.logical_date.hour for r in runs] == [0, 0, 0]  # 02:00 CEST, both ends included
    assert table.infer_manual_interval(runs[0].run_after) == runs[0].interval
    assert "no data interval" in table.description


AIRFLOW_FILE = """
import pendulum
from datetime import timedelta
from airflow.sdk import dag, task
from airflow.timetables.trigger import CronTriggerTimetable

@dag(
    schedule=CronTriggerTimetable("0 6 * * *", timezone="UTC", interval=timedelta(hours=6)),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
)
def triggered():
    @task
    def span(data_interval_start=None, data_interval_end=None, ds=None):
        return [data_interval_start.isoformat(), data_interval_end.isoformat(), ds]

    span()

triggered()
"""


def test_an_airflow_file_with_a_cron_trigger_runs_with_its_interval(home: Home) -> None:
    home.write_dag("triggered.py", AIRFLOW_FILE)
    listed = json.loads(home.run("dags", "list", "--output", "json", check=True).stdout)
    assert [d["schedule"] for d in listed if d["dag_id"] == "triggered"] == [
        {"cron_trigger": "0 6 * * *", "timezone": "UTC", "interval": 21600.0}
    ]
    home.run("dags", "test", "triggered", "--logical-date", "2024-01-15T06:00:00+00:00", check=True)
    store = home.store()
    try:
        (value,) = store.conn.execute(
            "SELECT value FROM xcom WHERE dag_id = 'triggered'"
        ).fetchone()
    finally:
        store.close()
    assert json.loads(value) == [
        "2024-01-15T00:00:00+00:00",
        "2024-01-15T06:00:00+00:00",
        "2024-01-15",
    ]


def test_bad_arguments_are_one_line() -> None:
    from flowtui.authoring.cron_trigger import CronTriggerTimetable as Authored

    with pytest.raises(InvalidArgument, match="no named zone"):
        Authored("0 2 * * *", timezone="+01:00")
    with pytest.raises(InvalidArgument, match="interval must be a timedelta"):
        Authored("0 2 * * *", timezone="UTC", interval=3)  # type: ignore[arg-type]
