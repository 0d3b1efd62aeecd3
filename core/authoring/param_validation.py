"""When params are checked: each Param's default when its DAG file loads (and a DAG with a
required param must be manual), and a trigger's conf before its run is created; each refusal is
one line naming the param and why."""

from __future__ import annotations

import json
from typing import Any

from flowtui.authoring.params import NOTSET, Param, schema_problem
from flowtui.errors import CommandRejected, DagDefinitionError, one_line


class InvalidParamDefault(DagDefinitionError):
    def __init__(self, where: str, key: str, default: object, problem: str) -> None:
        super().__init__(
            f"{where}: param {key!r}: default {_shown(default)} is not valid: {problem}; "
            "fix the default or the schema"
        )


class RequiredParamScheduled(DagDefinitionError):
    """As Airflow: a scheduled run has no conf, so it could never give the param a value."""

    def __init__(self, dag_id: str, key: str) -> None:
        super().__init__(
            f"DAG {dag_id!r}: param {key!r} has no default, so the DAG must have schedule=None "
            "(a scheduled run has no conf to give it a value), as in Airflow; "
            "give the param a default or the DAG no schedule"
        )


class InvalidParamValue(CommandRejected):
    def __init__(self, dag_id: str, key: str, value: object, problem: str) -> None:
        super().__init__(
            f"DAG {dag_id!r}: param {key!r} = {_shown(value)} is not valid: {problem}; "
            "no run was created"
        )


class MissingParam(CommandRejected):
    def __init__(self, dag_id: str, key: str) -> None:
        super().__init__(
            f"DAG {dag_id!r}: param {key!r} is required (it has no default); give it in the "
            f"conf, e.g. --conf '{{\"{key}\": ...}}'; no run was created"
        )


def check_param_defaults(where: str, params: dict[str, Any]) -> None:
    """Check each Param's default in `params` (of the DAG or task `where` names) against its
    schema; a Param without a default (required) is not checked.

    Raises:
        InvalidParamDefault: one line naming the param and why.
    """
    for key, param in params.items():
        if not isinstance(param, Param) or param.value is NOTSET:
            continue
        try:
            json.dumps(param.value)
        except (TypeError, ValueError):
            not_json = "a param's value must be JSON (str, number, bool, null, list, dict)"
            raise InvalidParamDefault(where, key, param.value, not_json) from None
        problem = schema_problem(param.schema, param.value)
        if problem is not None:
            raise InvalidParamDefault(where, key, param.value, problem)


def check_required_unscheduled(dag_id: str, params: dict[str, Any], schedule: Any) -> None:
    """A DAG with a required param (a Param without a default) must be manual only."""
    if schedule is None:
        return
    for key, param in params.items():
        if isinstance(param, Param) and param.value is NOTSET:
            raise RequiredParamScheduled(dag_id, key)


def check_run_params(
    dag_id: str,
    defaults: dict[str, Any],
    schemas: dict[str, dict[str, Any]],
    conf: dict[str, Any],
) -> None:
    """Check what a new run's params would be (`defaults` overridden by `conf`) against the
    params' `schemas`; defaults were checked when the DAG loaded.

    Raises:
        MissingParam: a required param has no value.
        InvalidParamValue: a value from `conf` fails its param's schema.
    """
    for key, schema in schemas.items():
        if key not in conf:
            if key not in defaults:
                raise MissingParam(dag_id, key)
            continue
        problem = schema_problem(schema, conf[key])
        if problem is not None:
            raise InvalidParamValue(dag_id, key, conf[key], problem)


def _shown(value: object) -> str:
    return one_line(repr(value), 80)
