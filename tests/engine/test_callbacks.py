"""Task and DAG callbacks, run by the real scheduler (`flowtui dags test`, and the home's
scheduler): which transitions call which callable, with what context; a raising callback is
recorded and changes nothing else; a hanging one does not hold up the next task; an attempt
killed at its timeout still gets its failure callback."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flowtui.store import reads
from tests.conftest import Home

COMMON = """
    import json, os, time
    from datetime import timedelta
    from pathlib import Path
    from flowtui import DAG, BashOperator, PythonOperator

    OUT = Path(__file__).with_name("called.jsonl")

    def record(name):
        def callback(context):
            exception = context.get("exception")
            seen = {
                "name": name,
                "task": context["ti"].task_id,
                "try": context["try_number"],
                "exception": str(exception) if exception is not None else None,
                "exception_type": type(exception).__name__ if exception is not None else None,
                "reason": context.get("reason"),
                "at": time.time(),
            }
            with OUT.open("a") as out:
                out.write(json.dumps(seen) + "\\n")
        return callback

    def broken(context):
        raise RuntimeError("the pager is down")

    def fails():
        raise ValueError("no rows")
"""

RETRY_THEN_FAIL = (
    COMMON
    + """
    with DAG("cb", schedule=None, on_failure_callback=record("dag_failure"),
             on_success_callback=record("dag_success")):
        ok = PythonOperator(task_id="ok", python_callable=lambda: 1,
                            on_success_callback=record("ok_success"),
                            on_execute_callback=record("ok_execute"))
        flaky = PythonOperator(task_id="flaky", python_callable=fails, retries=1,
                               retry_delay=timedelta(seconds=0),
                               on_retry_callback=record("flaky_retry"),
                               on_failure_callback=[broken, record("flaky_failure")],
                               on_success_callback=record("never"))
        ok >> flaky
"""
)


def _called(home: Home) -> list[dict[str, Any]]:
    path = home.dags / "called.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _callback_events(home: Home) -> list[dict[str, Any]]:
    return [e for e in home.events() if e["kind"] == "callback"]


def test_callbacks_follow_the_task_s_transitions_with_airflow_s_context(home: Home) -> None:
    home.write_dag("cb.py", RETRY_THEN_FAIL)
    done = home.run("dags", "test", "cb", "--logical-date", "2024-03-05")
    assert done.returncode == 1, done.stdout + done.stderr  # the run failed
    called = {c["name"]: c for c in _called(home)}
    assert sorted(called) == [
        "dag_failure",
        "flaky_failure",
        "flaky_retry",
        "ok_execute",
        "ok_success",
    ]
    assert called["flaky_retry"]["try"] == 1
    assert called["flaky_retry"]["exception"] == "ValueError: no rows"
    assert called["flaky_retry"]["exception_type"] == "TaskFailed"
    assert called["flaky_failure"]["try"] == 2
    assert called["dag_failure"]["task"] == "flaky"  # the task instance that failed the run
    assert called["dag_failure"]["reason"] == "task_failure"
    assert called["ok_success"]["exception"] is None
    events = _callback_events(home)
    assert len(events) == 4  # ok success, flaky retry, flaky failure, the DAG's failure
    raised = [json.loads(e["detail"]) for e in events if e["task_id"] == "flaky"]
    failure = next(d for d in raised if d["callback"] == "on_failure_callback")
    assert failure["errors"] == ["RuntimeError: the pager is down"]
    assert failure["called"] == 2
    log = home.settings.attempt_log_path("cb", _run_id(home), "flaky", 2).read_text()
    assert "RuntimeError: the pager is down" in log  # the traceback, in the try's log
    assert home.task_state("cb", _run_id(home), "flaky") == "failed"


def _run_id(home: Home) -> str:
    return home.latest_run_id("cb")


def test_a_successful_run_calls_the_dag_s_success_callback(home: Home) -> None:
    home.write_dag(
        "cb.py",
        COMMON
        + """
    with DAG("cb", schedule=None, on_success_callback=record("dag_success"),
             on_failure_callback=record("dag_failure")):
        PythonOperator(task_id="a", python_callable=lambda: 1) >> PythonOperator(
            task_id="b", python_callable=lambda: 2)
""",
    )
    assert home.run("dags", "test", "cb").returncode == 0
    [called] = _called(home)
    assert (called["name"], called["reason"], called["task"]) == ("dag_success", "success", "b")


def test_a_hanging_callback_does_not_hold_up_the_next_task(home: Home) -> None:
    home.write_dag(
        "cb.py",
        COMMON
        + """
    def hang(context):
        time.sleep(4)

    with DAG("cb", schedule=None):
        first = PythonOperator(task_id="first", python_callable=lambda: 1,
                               on_success_callback=hang)
        second = PythonOperator(task_id="second", python_callable=lambda: 2)
        first >> second
""",
    )
    assert home.run("dags", "test", "cb").returncode == 0
    run_id = home.latest_run_id("cb")
    store = home.store()
    try:
        first, second = (
            reads.task_instance(store.conn, "cb", run_id, t) for t in ("first", "second")
        )
    finally:
        store.close()
    assert first is not None and second is not None  # noqa: PT018
    first_end = datetime.fromisoformat(first["end_date"])
    second_start = datetime.fromisoformat(second["start_date"])
    assert (second_start - first_end).total_seconds() < 2.0, "the callback held up the next task"
    [event] = _callback_events(home)
    assert json.loads(event["detail"])["outcome"] == "first.on_success_callback ran (1 callable(s))"


def test_an_attempt_killed_at_its_timeout_still_gets_its_failure_callback(home: Home) -> None:
    home.write_dag(
        "cb.py",
        COMMON
        + """
    with DAG("cb", schedule=None):
        BashOperator(task_id="slow", bash_command="sleep 30",
                     execution_timeout=timedelta(seconds=1),
                     on_failure_callback=record("slow_failure"))
""",
    )
    assert home.run("dags", "test", "cb").returncode == 1
    [called] = _called(home)
    assert called["name"] == "slow_failure"
    assert "timed out" in called["exception"] or "timeout" in called["exception"]
