"""Callback jobs (`execution.callbacks`) on a real fork server: a task's or a DAG's callables
run in a process of their own with the context, their output in the log; one that raises is
reported and the next still runs; one that hangs is killed at the time limit; one that ends
its process is reported as such."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui.execution.callbacks import CallbackExit, CallbackRequest
from flowtui.execution.local.executor import LocalExecutor
from tests.conftest import Home, attempt_info, has_exited, wait_until

DAG = """
    import json, os, time
    from pathlib import Path
    from flowtui import DAG, PythonOperator

    OUT = Path(__file__).with_name("called.jsonl")

    def record(context):
        seen = {
            "task": context["ti"].task_id,
            "try": context["try_number"],
            "ds": context["ds"],
            "exception": repr(context.get("exception")),
            "reason": context.get("reason"),
            "pid": os.getpid(),
        }
        with OUT.open("a") as out:
            out.write(json.dumps(seen) + "\\n")
        print("recorded", seen["task"])

    def raises(context):
        raise ValueError("the webhook is down")

    def hangs(context):
        Path(__file__).with_name("hanging.pid").write_text(str(os.getpid()))
        time.sleep(60)

    def exits(context):
        os._exit(3)

    with DAG("cb", schedule=None, on_failure_callback=record):
        PythonOperator(task_id="load", python_callable=print,
                       on_failure_callback=[raises, record], on_success_callback=hangs,
                       on_retry_callback=exits)
"""


@pytest.fixture
def executor(home: Home) -> Iterator[LocalExecutor]:
    home.write_dag("cb.py", DAG)
    executor = LocalExecutor(home.settings)
    executor.start()
    yield executor
    executor.stop()


def _run(home: Home, executor: LocalExecutor, kind: str, **options: Any) -> CallbackExit:
    info = attempt_info(home.settings.db_path, "cb", "load", try_number=2, max_tries=1)
    log = home.settings.attempt_log_path("cb", info.run_id, "load", 2)
    request = CallbackRequest(str(home.dags / "cb.py"), kind, info, str(log), **options)
    exits: queue.Queue[CallbackExit] = queue.Queue()
    executor.run_callback(request, exits.put)
    return exits.get(timeout=20)


def _called(home: Home) -> list[dict[str, object]]:
    path = home.dags / "called.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _log(home: Home) -> str:
    return Path(home.settings.attempt_log_path("cb", "manual__2024-03-05", "load", 2)).read_text()


def test_a_task_s_failure_callables_all_run_with_the_context_and_the_error(
    home: Home, executor: LocalExecutor
) -> None:
    ended = _run(home, executor, "on_failure_callback", error="KeyError: 'rows'", preload="server")
    assert ended.report is not None
    assert ended.report.called == 2
    assert ended.report.errors == ("ValueError: the webhook is down",)
    [seen] = _called(home)
    assert seen["task"] == "load"
    assert seen["try"] == 2
    assert seen["ds"] == "2024-03-05"
    assert seen["exception"] == "TaskFailed(\"KeyError: 'rows'\")"
    log = _log(home)
    assert "calling load.on_failure_callback (2 callable(s))" in log
    assert "ValueError: the webhook is down" in log  # the traceback
    assert "recorded load" in log


def test_a_dag_s_callback_gets_the_reason(home: Home, executor: LocalExecutor) -> None:
    ended = _run(home, executor, "on_failure_callback", dag_level=True, reason="task_failure")
    assert ended.report is not None
    assert (ended.report.called, ended.report.errors) == (1, ())
    [seen] = _called(home)
    assert seen["reason"] == "task_failure"
    assert seen["exception"] == "None"


def test_a_hanging_callback_is_killed_at_its_time_limit(
    home: Home, executor: LocalExecutor
) -> None:
    ended = _run(home, executor, "on_success_callback", timeout=1.0)
    assert ended.timed_out
    assert ended.report is None
    pid = int((home.dags / "hanging.pid").read_text())
    wait_until(lambda: has_exited(pid), what="the hanging callback's end")
    info = attempt_info(home.settings.db_path, "cb", "load")
    request = CallbackRequest("x", "on_success_callback", info, "x", timeout=1.0)
    assert ended.describe(request) == "load.on_success_callback was stopped after 1 s"


def test_a_callback_that_ends_its_process_is_reported_as_such(
    home: Home, executor: LocalExecutor
) -> None:
    ended = _run(home, executor, "on_retry_callback")
    assert ended.report is None
    assert ended.exit_code == 3
    assert not ended.timed_out
