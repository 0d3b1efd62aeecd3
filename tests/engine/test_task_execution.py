"""One attempt in-process: outcomes for success, skip, fail, exceptions and non-JSON values,
context keys reaching callables, XCom pull, branching, bash and the store's dag_runs."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flowtui import (
    DAG,
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    FailTask,
    PythonOperator,
    ShortCircuitOperator,
    SkipTask,
)
from flowtui.authoring.operators import python as python_operator
from flowtui.errors import FlowtuiError, TemplateUndefined
from flowtui.execution.base import AttemptInfo, AttemptOutcome
from flowtui.execution.task_runner import bash_invocation, run_task
from flowtui.states import TaskState
from flowtui.store.schema import open_connection
from tests.conftest import attempt_info


def one_task_dag(fn: Any, **kwargs: Any) -> DAG:
    with DAG("d", params={"n": 1}) as d:
        PythonOperator(task_id="t", python_callable=fn, **kwargs)
    return d


def test_return_value_becomes_xcom_and_is_logged(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = run_task(one_task_dag(lambda: {"rows": [1, 2]}), attempt_info(db, "d", "t"))
    expected = AttemptOutcome(TaskState.SUCCESS, xcom={"return_value": {"rows": [1, 2]}})
    assert outcome._replace(rendered=expected.rendered) == expected
    assert outcome.rendered == {"templates_dict": None, "op_args": [], "op_kwargs": {}}
    assert "Returned value was: {'rows': [1, 2]}" in capsys.readouterr().out


def test_none_return_pushes_nothing_and_do_xcom_push_false_neither(db: Path) -> None:
    assert run_task(one_task_dag(lambda: None), attempt_info(db, "d", "t")).xcom == {}
    outcome = run_task(one_task_dag(lambda: 5, do_xcom_push=False), attempt_info(db, "d", "t"))
    assert outcome.xcom == {}


def test_skip_task_gives_skipped(db: Path) -> None:
    def skip() -> None:
        raise SkipTask("nothing to do")

    outcome = run_task(one_task_dag(skip), attempt_info(db, "d", "t"))
    assert (outcome.state, outcome.cause) == ("skipped", None)


def test_fail_task_fails_without_retry(db: Path) -> None:
    def fail() -> None:
        raise FailTask("bad input")

    outcome = run_task(one_task_dag(fail), attempt_info(db, "d", "t"))
    assert (outcome.state, outcome.cause, outcome.no_retry) == (
        "failed",
        "FailTask: bad input",
        True,
    )


def test_exception_fails_with_one_line_and_traceback_on_stderr(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        raise ValueError("no rows\nin table")

    outcome = run_task(one_task_dag(boom), attempt_info(db, "d", "t"))
    assert (outcome.state, outcome.cause, outcome.no_retry) == (
        "failed",
        "ValueError: no rows in table",
        False,
    )
    assert "Traceback" in capsys.readouterr().err


def test_sys_exit_is_a_failure(db: Path) -> None:
    outcome = run_task(one_task_dag(lambda: sys.exit(0)), attempt_info(db, "d", "t"))
    assert (outcome.state, outcome.cause) == ("failed", "task called sys.exit(0)")


def test_non_json_return_fails_naming_the_type(db: Path) -> None:
    outcome = run_task(one_task_dag(lambda: {1, 2}), attempt_info(db, "d", "t"))
    assert outcome.state == "failed"
    assert outcome.cause == (
        "task 't': return value of type 'set' is not JSON-serializable; "
        "return lists, dicts, strings, numbers, booleans or None"
    )
    nested = run_task(
        one_task_dag(lambda: {"when": datetime(2024, 1, 1)}), attempt_info(db, "d", "t")
    )
    assert "of type 'dict' holds a value of type 'datetime'" in (nested.cause or "")


def test_xcom_push_is_checked_and_kept(db: Path) -> None:
    def push(ti: Any) -> None:
        ti.xcom_push("count", 3)
        ti.xcom_push("bad", object())

    outcome = run_task(one_task_dag(push), attempt_info(db, "d", "t"))
    assert outcome.state == "failed"
    assert outcome.xcom == {"count": 3}
    assert "XCom 'bad' of type 'object' is not JSON-serializable" in (outcome.cause or "")


def test_callable_gets_named_context_keys_and_op_arguments(db: Path) -> None:
    seen: dict[str, Any] = {}

    def named(
        a: int, ds: str, params: dict[str, Any], b: int = 0, ti: Any = None, run_id: str = ""
    ) -> None:
        seen.update(a=a, ds=ds, params=params, b=b, ti=ti.task_id, try_number=ti.try_number)
        seen.update(run_id=run_id)

    d = one_task_dag(named, op_args=[1], op_kwargs={"b": 2, "run_id": "op_kwargs win"})
    assert run_task(d, attempt_info(db, "d", "t", try_number=2)).state == "success"
    assert seen == {
        "a": 1,
        "ds": "2024-03-05",
        "params": {"n": 1},
        "b": 2,
        "ti": "t",
        "try_number": 2,
        "run_id": "op_kwargs win",
    }


def test_callables_with_signatures_found_ahead_get_their_own_keys(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the fork server's children, which take the signatures the server found: one
    callable is unhashable and one has no signature, so theirs are found at the call."""
    monkeypatch.setattr(python_operator, "_signatures", {})  # restored after the test
    seen: list[tuple[str, Any]] = []

    def by_ds(ds: str) -> None:
        seen.append(("ds", ds))

    def by_run_id(run_id: str) -> None:
        seen.append(("run_id", run_id))

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]  # what is tested: it cannot be a key

        def __call__(self, try_number: int) -> None:
            seen.append(("try_number", try_number))

    callables: list[Any] = [by_ds, by_run_id, Unhashable()]
    python_operator.remember_signatures([*callables, type])
    assert set(python_operator._signatures) == {by_ds, by_run_id}
    for fn in callables:
        assert run_task(one_task_dag(fn), attempt_info(db, "d", "t")).state == "success"
    assert seen == [("ds", "2024-03-05"), ("run_id", "manual__2024-03-05"), ("try_number", 1)]


def test_callable_with_kwargs_gets_the_whole_context(db: Path) -> None:
    seen: dict[str, Any] = {}

    def everything(x: int, **context: Any) -> None:
        seen.update(context)
        seen["x"] = x

    d = one_task_dag(everything, op_args=[7], templates_dict={"day": "{{ ds_nodash }}"})
    assert run_task(d, attempt_info(db, "d", "t")).state == "success"
    assert seen["x"] == 7
    assert seen["templates_dict"] == {"day": "20240305"}
    assert seen["ts"] == "2024-03-05T00:00:00+00:00"
    assert seen["ts_nodash"] == "20240305T000000"
    assert seen["ts_nodash_with_tz"] == "20240305T000000+0000"
    assert seen["ds_nodash"] == "20240305"
    assert seen["task_instance_key_str"] == "d__t__20240305"
    assert seen["logical_date"] == seen["ti"].logical_date
    assert seen["var"].value.get("absent", "dflt") == "dflt"
    assert seen["data_interval_start"] == datetime.fromisoformat("2024-03-04T00:00:00+00:00")
    assert seen["logical_date"] is seen["execution_date"]
    assert seen["run_id"] == "manual__2024-03-05"
    assert seen["dag_run"].run_type == "manual"
    assert seen["dag"].dag_id == "d"
    assert seen["task"].task_id == "t"
    assert seen["ti"] is seen["task_instance"]
    assert seen["macros"].ds_add("2024-03-05", -5) == "2024-02-29"
    assert seen["prev_data_interval_start_success"] is None


def test_params_dag_then_task_then_conf(db: Path) -> None:
    seen: dict[str, Any] = {}
    with DAG("p", params={"a": 1, "b": 1, "c": 1}) as d:
        PythonOperator(
            task_id="t", python_callable=lambda params: seen.update(params), params={"b": 2, "c": 2}
        )
    run_task(d, attempt_info(db, "p", "t", conf={"c": 3}))
    assert seen == {"a": 1, "b": 2, "c": 3}


def test_prev_data_interval_start_success_reads_dag_runs(db: Path) -> None:
    conn = open_connection(db)
    rows = [
        ("r1", "success", "2024-03-01T00:00:00+00:00", "2024-02-29T00:00:00+00:00"),
        ("r2", "success", "2024-03-03T00:00:00+00:00", "2024-03-02T00:00:00+00:00"),
        ("r3", "failed", "2024-03-04T00:00:00+00:00", "2024-03-03T00:00:00+00:00"),
        ("r4", "success", "2024-03-06T00:00:00+00:00", "2024-03-05T00:00:00+00:00"),
    ]
    for run_id, state, logical, start in rows:
        conn.execute(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
            "data_interval_start, data_interval_end) VALUES ('d', ?, 'scheduled', ?, ?, ?, ?)",
            (run_id, state, logical, start, logical),
        )
    conn.close()
    seen: dict[str, Any] = {}
    d = one_task_dag(lambda **c: seen.update(c))
    run_task(d, attempt_info(db, "d", "t"))
    assert seen["prev_data_interval_start_success"] == datetime.fromisoformat(
        "2024-03-02T00:00:00+00:00"
    )


def _insert_xcom(db: Path, task_id: str, key: str, value: Any, run_id: str = "") -> None:
    conn = open_connection(db)
    conn.execute(
        "INSERT INTO xcom (dag_id, run_id, task_id, key, value, timestamp) "
        "VALUES ('d', ?, ?, ?, ?, '2024-03-05T00:00:01+00:00')",
        (run_id or "manual__2024-03-05", task_id, key, json.dumps(value)),
    )
    conn.close()


def test_xcom_pull_forms(db: Path) -> None:
    _insert_xcom(db, "a", "return_value", 1)
    _insert_xcom(db, "b", "return_value", 2)
    _insert_xcom(db, "b", "other", "o")
    _insert_xcom(db, "a", "return_value", 9, run_id="older")
    seen: dict[str, Any] = {}

    def pull(ti: Any) -> None:
        seen["one"] = ti.xcom_pull(task_ids="b")
        seen["list"] = ti.xcom_pull(task_ids=["b", "missing", "a"])
        seen["upstream"] = ti.xcom_pull()
        seen["key"] = ti.xcom_pull(task_ids="b", key="other")
        seen["missing"] = ti.xcom_pull(task_ids="missing")
        seen["default"] = ti.xcom_pull(task_ids="missing", default="dflt")
        seen["other_run"] = ti.xcom_pull(task_ids="a", run_id="older")

    with DAG("d") as d:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        [b, a] >> PythonOperator(task_id="t", python_callable=pull)
    assert run_task(d, attempt_info(db, "d", "t")).state == "success"
    assert seen == {
        "one": 2,
        "list": [2, 1],
        "upstream": 1,
        "key": "o",
        "missing": None,
        "default": "dflt",
        "other_run": 9,
    }


def test_template_error_fails_with_its_message(db: Path) -> None:
    d = one_task_dag(lambda x: x, op_kwargs={"x": "{{ nope }}"})
    outcome = run_task(d, attempt_info(db, "d", "t"))
    assert outcome == AttemptOutcome(
        TaskState.FAILED, "task 't': template field 'op_kwargs': 'nope' is undefined"
    )


def test_unknown_task_fails_without_raising(db: Path) -> None:
    outcome = run_task(one_task_dag(lambda: None), attempt_info(db, "d", "zz"))
    assert outcome.state == "failed"
    assert "has no task 'zz'" in (outcome.cause or "")


def test_rendering_does_not_change_the_dag_object(db: Path) -> None:
    d = one_task_dag(lambda x: x, op_kwargs={"x": "{{ ds }}"})
    run_task(d, attempt_info(db, "d", "t"))
    assert d.get_task("t").op_kwargs == {"x": "{{ ds }}"}  # type: ignore[attr-defined]


def branching_dag(choice: Any) -> DAG:
    with DAG("d") as d:
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: choice)
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        pick >> [a, b, c]
        a >> EmptyOperator(task_id="after_a")
    return d


@pytest.mark.parametrize(
    ("choice", "skipped"),
    [("a", ["b", "c"]), (["a", "c"], ["b"]), (None, ["a", "b", "c"]), ([], ["a", "b", "c"])],
)
def test_branch_skips_the_direct_downstream_not_followed(
    db: Path, choice: Any, skipped: list[str]
) -> None:
    outcome = run_task(branching_dag(choice), attempt_info(db, "d", "pick"))
    assert outcome.state == "success"
    assert list(outcome.skip_task_ids) == skipped


def test_branch_to_an_unknown_task_fails(db: Path) -> None:
    outcome = run_task(branching_dag("nowhere"), attempt_info(db, "d", "pick"))
    assert outcome.state == "failed"
    assert "unknown task id(s) nowhere; follow some of: a, b, c" in (outcome.cause or "")


@pytest.mark.parametrize(
    ("condition", "ignore", "skipped"),
    [
        (True, True, []),
        (0, True, ["a", "b", "c"]),
        (False, False, ["a"]),
    ],
)
def test_short_circuit(db: Path, condition: Any, ignore: bool, skipped: list[str]) -> None:
    with DAG("d") as d:
        gate = ShortCircuitOperator(
            task_id="gate",
            python_callable=lambda: condition,
            ignore_downstream_trigger_rules=ignore,
        )
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        gate >> a >> b >> c
    outcome = run_task(d, attempt_info(db, "d", "gate"))
    assert (outcome.state, list(outcome.skip_task_ids)) == ("success", skipped)


def bash_dag(command: str, **kwargs: Any) -> DAG:
    with DAG("d", params={"name": "world"}) as d:
        BashOperator(task_id="b", bash_command=command, **kwargs)
    return d


def test_bash_invocation_renders_and_picks_env(db: Path, tmp_path: Path) -> None:
    d = bash_dag("echo {{ params.name }} {{ ds }}", env={"X": "{{ ds_nodash }}"}, cwd=str(tmp_path))
    argv, env, cwd, _xcom, _rendered = bash_invocation(d, attempt_info(db, "d", "b"))
    assert argv == ["bash", "-c", "echo world 2024-03-05"]
    assert env == {"X": "20240305"}
    assert cwd == str(tmp_path)
    _, merged, _, _xcom, _rendered = bash_invocation(
        bash_dag("true", env={"X": "1"}, append_env=True), attempt_info(db, "d", "b")
    )
    assert merged["X"] == "1"
    assert merged["PATH"] == os.environ["PATH"]
    _, inherited, _, _xcom, _rendered = bash_invocation(
        bash_dag("true"), attempt_info(db, "d", "b")
    )
    assert inherited == dict(os.environ)


def test_bash_invocation_raises_template_errors_and_refuses_other_tasks(db: Path) -> None:
    with pytest.raises(TemplateUndefined, match="'bash_command': 'oops' is undefined"):
        bash_invocation(bash_dag("echo {{ oops }}"), attempt_info(db, "d", "b"))
    with pytest.raises(FlowtuiError, match="is not a directory"):
        bash_invocation(bash_dag("true", cwd="/no/such/dir"), attempt_info(db, "d", "b"))
    with pytest.raises(TypeError, match="not a bash task"):
        bash_invocation(one_task_dag(lambda: None), attempt_info(db, "d", "t"))


@pytest.mark.parametrize(
    ("command", "state", "error", "xcom"),
    [
        ("echo first; echo {{ ds }}", "success", None, {"return_value": "2024-03-05"}),
        ("exit 99", "skipped", None, {}),
        ("exit 3", "failed", "BashCommandFailed: bash exited with code 3", {}),
    ],
)
def test_bash_execute_in_process(
    db: Path, command: str, state: str, error: str | None, xcom: dict[str, Any]
) -> None:
    outcome = run_task(bash_dag(command), attempt_info(db, "d", "b"))
    assert (outcome.state, outcome.cause, outcome.xcom) == (state, error, xcom)


def test_outcome_and_attempt_round_trip_through_json(db: Path) -> None:
    outcome = AttemptOutcome(TaskState.FAILED, "E: x", True, {"k": [1]}, ("a",), exit_code=-9)
    assert AttemptOutcome.from_json(json.loads(json.dumps(outcome.to_json()))) == outcome
    info = attempt_info(db, "d", "t", prev_success=("2024-03-01", None))
    assert AttemptInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
