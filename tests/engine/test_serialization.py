"""DAG objects become the plain-data specs the store and the scheduler work from."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flowtui import DAG, BashOperator, Dataset, EmptyOperator, PythonOperator, task
from flowtui.loading.serialization import dag_spec

START = datetime(2024, 1, 1)


def _noop() -> None:
    return None


def test_a_dag_becomes_its_spec() -> None:
    tz = ZoneInfo("Europe/Amsterdam")
    with DAG(
        "spec",
        schedule="0 3 * * *",
        start_date=datetime(2024, 1, 1, tzinfo=tz),
        end_date=datetime(2024, 12, 31, tzinfo=tz),
        catchup=True,
        tags=["etl"],
        params={"n": 3, "when": datetime(2024, 1, 1)},
        max_active_runs=2,
        dagrun_timeout=timedelta(hours=1),
        description="desc",
    ) as d:
        a = PythonOperator(
            task_id="a",
            python_callable=_noop,
            retries=2,
            retry_delay=timedelta(seconds=30),
            max_retry_delay=600,
            execution_timeout=timedelta(minutes=2),
            trigger_rule="all_done",
            pool="p",
            pool_slots=2,
            priority_weight=5,
        )
        b = BashOperator(task_id="b", bash_command="echo hi")
        c = EmptyOperator(task_id="c")
        a >> [c, b]
    spec = dag_spec(d, "/dags/spec.py")
    assert spec.fileloc == "/dags/spec.py"
    assert list(spec.tasks) == ["a", "b", "c"]
    assert spec.schedule == "0 3 * * *"
    assert spec.start_date == "2024-01-01T00:00:00+01:00"
    assert spec.end_date == "2024-12-31T00:00:00+01:00"
    assert spec.timezone == "Europe/Amsterdam"
    assert (spec.catchup, spec.max_active_runs, spec.dagrun_timeout) == (True, 2, 3600.0)
    assert spec.tags == ("etl",)
    assert spec.params == {"n": 3, "when": "2024-01-01 00:00:00"}
    ta = spec.tasks["a"]
    assert (ta.operator, ta.downstream, ta.trigger_rule, ta.pool, ta.pool_slots) == (
        "PythonOperator",
        ("b", "c"),
        "all_done",
        "p",
        2,
    )
    assert spec.tasks["b"].pool_slots == 1
    assert (ta.retries, ta.retry_delay, ta.max_retry_delay, ta.execution_timeout) == (
        2,
        30.0,
        600.0,
        120.0,
    )
    assert ta.priority_weight == 5
    assert not ta.runs_bash
    assert spec.tasks["b"].runs_bash
    assert spec.tasks["b"].upstream == ("a",)
    assert spec.leaves == ["b", "c"]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, None),
        ("@daily", "@daily"),
        (timedelta(hours=2), {"timedelta": 7200.0}),
        ([Dataset("s3://a"), Dataset("file:///b")], {"datasets": ["s3://a", "file:///b"]}),
    ],
)
def test_schedules_become_json(schedule: object, expected: object) -> None:
    d = DAG("sched", schedule=schedule, start_date=START)
    spec = dag_spec(d, "f.py")
    assert spec.schedule == expected
    assert spec.timezone == "UTC"
    assert spec.start_date == "2024-01-01T00:00:00+00:00"


def test_bash_and_decorated_tasks_are_marked() -> None:
    with DAG("kinds") as d:

        @task.bash
        def command() -> str:
            return "echo hi"

        @task
        def plain() -> int:
            return 1

        command() >> plain()
    spec = dag_spec(d, "f.py")
    assert spec.tasks["command"].runs_bash
    assert spec.tasks["command"].operator == "@task.bash"
    assert spec.tasks["plain"].operator == "@task"
    assert spec.tasks["plain"].upstream == ("command",)
