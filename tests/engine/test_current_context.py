"""`get_current_context()`: the running attempt's context inside a PythonOperator's callable, a
@task, a sensor's poke, a @task.bash function and a callback; Airflow's error outside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowtui import DAG, PythonOperator, PythonSensor, get_current_context, task
from flowtui.authoring.current_context import NoCurrentContext
from flowtui.authoring.exceptions import AirflowException
from flowtui.execution.callback_runner import run_callbacks
from flowtui.execution.callbacks import CallbackRequest
from flowtui.execution.task_runner import bash_invocation, run_task
from tests.conftest import attempt_info


def _who() -> str:
    context = get_current_context()
    return f"{context['ti'].task_id} {context['ds']}"


def test_outside_a_task_it_raises_airflows_error() -> None:
    with pytest.raises(NoCurrentContext) as info:
        get_current_context()
    assert str(info.value) == (
        "Current context was requested but no context was found! "
        "Are you running within an Airflow task?"
    )
    assert isinstance(info.value, AirflowException)  # Airflow 2's type
    assert isinstance(info.value, RuntimeError)  # Airflow 3's


def test_a_callable_a_task_and_a_poke_get_the_attempts_context(db: Path) -> None:
    with DAG("current") as dag:
        PythonOperator(task_id="classic", python_callable=_who)

        @task
        def flow() -> str:
            return _who()

        flow()
        PythonSensor(task_id="poke", python_callable=lambda: _who().startswith("poke"))

        @task.bash
        def command() -> str:
            return f"echo {get_current_context()['ti'].task_id}"

        command()
    day = {"logical_date": "2024-01-02T00:00:00+00:00"}
    for task_id in ("classic", "flow"):
        outcome = run_task(dag, attempt_info(db, "current", task_id, **day))
        assert outcome.xcom == {"return_value": f"{task_id} 2024-01-02"}, outcome.cause
    assert run_task(dag, attempt_info(db, "current", "poke")).state == "success"
    argv, _, _, _xcom, _rendered = bash_invocation(dag, attempt_info(db, "current", "command"))
    assert argv[-1] == "echo command"
    with pytest.raises(NoCurrentContext):  # and it is gone once the attempt ends
        get_current_context()


def test_a_callback_gets_the_context_too(db: Path, tmp_path: Path) -> None:
    seen: list[Any] = []

    def callback(context: dict[str, Any]) -> None:
        seen.append(get_current_context() is context)

    with DAG("called") as dag:
        PythonOperator(task_id="t", python_callable=_who, on_success_callback=callback)
    info = attempt_info(db, "called", "t")
    log = tmp_path / "callback.log"
    report = run_callbacks(dag, CallbackRequest("x", "on_success_callback", info, str(log)))
    assert report.errors == ()
    assert seen == [True]
