"""Airflow 3.3's retry policies in process (the states they lead to under `dags test` are in
tests/airflow_dags/airflow_details.py), and Airflow's ParamsDict."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from flowtui import DAG, PythonOperator
from flowtui.authoring.params import Param, ParamsDict, ParamValidationError
from flowtui.authoring.retry_policy import (
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
)
from flowtui.errors import InvalidArgument
from flowtui.execution.task_runner import run_task
from tests.conftest import attempt_info


def test_rules_match_classes_paths_and_lists_first_match_wins() -> None:
    policy = ExceptionRetryPolicy(
        rules=[
            RetryRule(exception=OSError, match_subclasses=False, action=RetryAction.FAIL),
            RetryRule(exception=["builtins.KeyError", "no_such_module.Error"], reason="keys"),
            RetryRule(exception=LookupError, retry_delay=timedelta(seconds=7)),
        ],
        default=RetryAction.FAIL,
    )
    assert policy.evaluate(OSError("x"), 1, 3).action is RetryAction.FAIL
    assert policy.evaluate(KeyError("k"), 1, 3) == RetryDecision(RetryAction.RETRY, None, "keys")
    assert policy.evaluate(IndexError(), 1, 3) == RetryDecision(
        RetryAction.RETRY, timedelta(seconds=7), "Matched rule for IndexError"
    )
    assert policy.evaluate(ConnectionError(), 1, 3) == RetryDecision(RetryAction.FAIL)  # default
    with pytest.raises(InvalidArgument, match="dotted import path"):
        RetryRule(exception="ValueError")
    with pytest.raises(InvalidArgument, match="is not an exception class"):
        RetryRule(exception=int)  # type: ignore[arg-type]


class _Broken(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):  # type: ignore[no-untyped-def]
        raise RuntimeError("policy bug")


def _boom() -> None:
    raise ValueError("boom")


def test_the_attempt_applies_the_decision(db: Path) -> None:
    later = ExceptionRetryPolicy([RetryRule(ValueError, retry_delay=timedelta(minutes=2))])
    with DAG("policies") as d:
        PythonOperator(
            task_id="fail",
            python_callable=_boom,
            retries=3,
            retry_policy=ExceptionRetryPolicy([RetryRule(ValueError, RetryAction.FAIL)]),
        )
        PythonOperator(task_id="later", python_callable=_boom, retries=3, retry_policy=later)
        PythonOperator(task_id="broken", python_callable=_boom, retries=3, retry_policy=_Broken())
        PythonOperator(task_id="plain", python_callable=_boom, retries=3)
    ends = {
        t: run_task(d, attempt_info(db, "policies", t, max_tries=3))
        for t in ("fail", "later", "broken", "plain")
    }
    assert {t: (o.state, o.no_retry, o.retry_delay) for t, o in ends.items()} == {
        "fail": ("failed", True, None),
        "later": ("failed", False, 120.0),
        "broken": ("failed", False, None),  # a policy that raises leaves the task's retries
        "plain": ("failed", False, None),
    }
    assert {o.cause for o in ends.values()} == {"ValueError: boom"}
    with pytest.raises(InvalidArgument, match="retry_policy must be a RetryPolicy"):
        PythonOperator(task_id="bad", python_callable=_boom, retry_policy="fail")


def test_params_dict_reads_values_and_keeps_params() -> None:
    params = ParamsDict({"n": Param(3, type="integer", minimum=1), "label": "plain"})
    assert (params["n"], params["label"], len(params), list(params)) == (
        3,
        "plain",
        2,
        ["n", "label"],
    )
    assert params.get_param("n").schema == {"type": "integer", "minimum": 1}
    params["n"] = 5
    with pytest.raises(ParamValidationError, match="Invalid input for param n"):
        params["n"] = 0
    assert params.dump() == {"n": 5, "label": "plain"} == params.validate()
    with DAG("with_params_dict", params=params) as d:
        pass
    assert isinstance(d.params["n"], Param)  # the DAG keeps the Params and their schemas
