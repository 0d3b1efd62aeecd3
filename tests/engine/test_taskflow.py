"""TaskFlow: @task wiring, XComArg resolution through real xcom rows, multiple_outputs,
@task.bash/@task.branch/@task.short_circuit and @dag params."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import pytest

from flowtui import DAG, EmptyOperator, PythonOperator, XComArg, dag, task
from flowtui.authoring.baseoperator import as_operator
from flowtui.errors import InvalidArgument, TaskCallableFailed
from flowtui.execution.base import AttemptInfo, AttemptOutcome
from flowtui.execution.task_runner import bash_invocation, run_task
from flowtui.loading.serialization import dag_spec
from flowtui.states import TaskState
from flowtui.store.schema import open_connection
from tests.conftest import attempt_info

RUN_ID = "scheduled__2024-01-02T00:00:00+00:00"


def attempt(db: Path, dag_id: str, task_id: str, **changes: Any) -> AttemptInfo:
    """The first try of a task in the scheduled run of 2024-01-02."""
    scheduled = {"run_id": RUN_ID, "logical_date": "2024-01-02T00:00:00+00:00"}
    intervals = {"data_interval_start": None, "data_interval_end": None}
    return attempt_info(db, dag_id, task_id, **scheduled, **intervals, **changes)


def store_outcome(db: Path, dag_id: str, task_id: str, outcome: AttemptOutcome) -> None:
    """What the scheduler does with an outcome's XComs, in plain SQL."""
    conn = open_connection(db)
    for key, value in outcome.xcom.items():
        conn.execute(
            "INSERT INTO xcom (dag_id, run_id, task_id, key, value, timestamp) "
            "VALUES (?, ?, ?, ?, ?, '2024-01-02T00:00:01+00:00')",
            (dag_id, RUN_ID, task_id, key, json.dumps(value)),
        )
    conn.close()


def run_and_store(db: Path, d: DAG, task_id: str, **changes: Any) -> AttemptOutcome:
    outcome = run_task(d, attempt(db, d.dag_id, task_id, **changes))
    store_outcome(db, d.dag_id, task_id, outcome)
    return outcome


def test_calls_wire_dependencies_and_name_repeats() -> None:
    with DAG("tf") as d:

        @task
        def extract() -> int:
            return 1

        @task
        def add(*values: int) -> int:
            return sum(values)

        first, second = extract(), extract()
        total = add(first, second, extract())
    assert d.task_ids == ["extract", "extract__1", "extract__2", "add"]
    assert isinstance(total, XComArg)
    assert d.get_task("add").upstream_task_ids == {"extract", "extract__1", "extract__2"}


def test_xcom_args_nested_in_containers_and_classic_operators_wire_too() -> None:
    with DAG("nested") as d:

        @task
        def source() -> int:
            return 1

        @task
        def sink(payload: dict[str, Any]) -> None:
            return None

        s = source()
        sink({"items": [s], "n": 2})
        PythonOperator(task_id="classic", python_callable=print, op_kwargs={"v": s})
    assert d.get_task("sink").upstream_task_ids == {"source"}
    assert d.get_task("classic").upstream_task_ids == {"source"}


def test_xcom_arg_shift_operators() -> None:
    with DAG("shift") as d:

        @task
        def a() -> None:
            return None

        @task
        def b() -> None:
            return None

        end = EmptyOperator(task_id="end")
        a() >> b() >> end
        start = EmptyOperator(task_id="start")
        start >> a.override(task_id="a2")()
    assert d.get_task("b").upstream_task_ids == {"a"}
    assert end.upstream_task_ids == {"b"}
    assert d.get_task("a2").upstream_task_ids == {"start"}


def test_values_travel_through_real_xcom_rows(db: Path) -> None:
    with DAG("etl") as d:

        @task
        def extract() -> list[int]:
            return [1, 2, 3]

        @task(retries=2)
        def load(rows: list[int], scale: int, **context: Any) -> dict[str, Any]:
            return {"total": sum(rows) * scale, "ds": context["ds"]}

        load(extract(), scale=10)
    assert d.get_task("load").retries == 2
    assert run_and_store(db, d, "extract").xcom == {"return_value": [1, 2, 3]}
    outcome = run_and_store(db, d, "load")
    assert outcome.state == "success"
    assert outcome.xcom["return_value"] == {"total": 60, "ds": "2024-01-02"}


def test_multiple_outputs_pushes_each_key_and_subscripts_pull_them(db: Path) -> None:
    with DAG("multi") as d:

        @task(multiple_outputs=True)
        def split() -> Any:
            return {"left": 1, "right": [2]}

        @task
        def use(left: int, right: list[int]) -> int:
            return left + right[0]

        parts = split()
        use(parts["left"], right=parts["right"])
    assert run_and_store(db, d, "split").xcom == {
        "return_value": {"left": 1, "right": [2]},
        "left": 1,
        "right": [2],
    }
    assert run_and_store(db, d, "use").xcom == {"return_value": 3}


def test_dict_return_annotation_turns_on_multiple_outputs(db: Path) -> None:
    with DAG("inferred") as d:

        @task
        def stats() -> dict[str, int]:
            return {"n": 4}

        stats()
    assert as_operator(d.get_task("stats")).multiple_outputs
    assert run_task(d, attempt(db, "inferred", "stats")).xcom == {"return_value": {"n": 4}, "n": 4}


class Totals(TypedDict):
    n: int


def test_multiple_outputs_follows_airflow_s_inference_and_checks_the_value(db: Path) -> None:
    with DAG("inference") as d:

        @task
        def mapping() -> Mapping[str, int]:
            return {"n": 1}

        @task
        def typed() -> Totals:
            return {"n": 2}

        @task
        def listed() -> list[int]:
            return [3]

        def unknown() -> NotImported:  # type: ignore[name-defined]  # noqa: F821
            return {"n": 4}

        @task(multiple_outputs=True)
        def not_a_dict() -> Any:
            return [5]

        mapping(), typed(), listed(), task(unknown)(), not_a_dict()
    inferred = {t: as_operator(d.get_task(t)).multiple_outputs for t in d.task_ids}
    assert inferred == {
        "mapping": True,
        "typed": True,
        "listed": False,
        "unknown": False,  # as in Airflow: an annotation that does not resolve says no
        "not_a_dict": True,
    }
    failed = run_task(d, attempt(db, "inference", "not_a_dict"))
    assert (failed.state, dict(failed.xcom)) == ("failed", {})  # nothing pushed, as Airflow
    assert failed.cause == "TypeError: multiple_outputs needs a dict return value, got list"


def test_operator_output_and_str_of_an_xcom_arg(db: Path) -> None:
    with DAG("outputs") as d:
        first = PythonOperator(task_id="first", python_callable=lambda: {"k": "v"})
        second = PythonOperator(
            task_id="second",
            python_callable=lambda whole, part, text: [whole, part, text],
            op_args=[first.output, first.output["k"], f"got {first.output}"],
        )
    assert isinstance(first.output, XComArg)
    assert second.upstream_task_ids == {"first"}  # the XComArgs wire it; the string does not
    assert str(first.output["k"]) == (
        "{{ task_instance.xcom_pull(task_ids='first', dag_id='outputs', key='k') }}"
    )
    pushed = {"return_value": {"k": "v"}, "k": "v"}
    store_outcome(db, "outputs", "first", AttemptOutcome(TaskState.SUCCESS, xcom=pushed))
    assert run_task(d, attempt(db, "outputs", "second")).xcom["return_value"] == [
        {"k": "v"},
        "v",
        "got {'k': 'v'}",
    ]


def test_missing_return_value_is_none_and_missing_key_is_an_error(db: Path) -> None:
    with DAG("missing") as d:

        @task
        def quiet() -> None:
            return None

        @task
        def take(value: Any) -> Any:
            return value if value is not None else "got None"

        q = quiet()
        take.override(task_id="plain")(q)
        take.override(task_id="keyed")(q["absent"])
    assert run_and_store(db, d, "plain").xcom == {"return_value": "got None"}
    outcome = run_task(d, attempt(db, "missing", "keyed"))
    assert outcome.state == "failed"
    assert "needs XCom 'absent' of task 'quiet'" in (outcome.cause or "")


def test_wrong_call_arguments_fail_when_the_dag_is_built() -> None:
    with DAG("args"):

        @task
        def one(x: int) -> int:
            return x

        with pytest.raises(InvalidArgument, match="DAG 'args', task 'one'"):
            one(1, 2)


def test_task_bash_runs_the_returned_command(db: Path) -> None:
    with DAG("b") as d:

        @task
        def name() -> str:
            return "flowtui"

        @task.bash(env={"A": "1"})
        def greet(who: str) -> str:
            return "echo hello " + who + " {{ ds }}"

        greet(name())
    run_and_store(db, d, "name")
    argv, env, _, _xcom, _rendered = bash_invocation(d, attempt(db, "b", "greet"))
    assert argv == ["bash", "-c", "echo hello flowtui 2024-01-02"]
    assert env == {"A": "1"}
    assert run_task(d, attempt(db, "b", "greet")).xcom == {
        "return_value": "hello flowtui 2024-01-02"
    }


def test_task_bash_function_errors_are_one_line(db: Path) -> None:
    with DAG("bad_bash") as d:

        @task.bash
        def empty() -> str:
            return ""

        @task.bash
        def broken() -> str:
            raise KeyError("cfg")

        empty()
        broken()
    with pytest.raises(TaskCallableFailed, match="must return a non-empty string"):
        bash_invocation(d, attempt(db, "bad_bash", "empty"))
    with pytest.raises(TaskCallableFailed, match="task 'broken': KeyError: 'cfg'"):
        bash_invocation(d, attempt(db, "bad_bash", "broken"))


def test_task_branch_and_short_circuit(db: Path) -> None:
    with DAG("flow") as d:

        @task.branch
        def choose(n: int) -> str:
            return "big" if n > 5 else "small"

        @task.short_circuit
        def worth_it() -> bool:
            return False

        big, small, later = (EmptyOperator(task_id=t) for t in ("big", "small", "later"))
        choose(10) >> [big, small]
        worth_it() >> big >> later
    assert run_task(d, attempt(db, "flow", "choose")).skip_task_ids == ("small",)
    assert run_task(d, attempt(db, "flow", "worth_it")).skip_task_ids == ("big", "later")
    assert dag_spec(d, "f.py").tasks["choose"].operator == "@task.branch"


def test_dag_function_parameters_are_params_resolved_at_run_time(db: Path) -> None:
    @dag(schedule="@daily", start_date=datetime(2024, 1, 1))
    def report(limit: int = 5) -> None:
        @task
        def show(value: int) -> int:
            return value

        show(limit)

    built = report()
    assert built.params == {"limit": 5}
    default = run_task(built, attempt(db, "report", "show"))
    assert default.xcom == {"return_value": 5}
    overridden = run_task(built, attempt(db, "report", "show", conf={"limit": 9}))
    assert overridden.xcom == {"return_value": 9}
