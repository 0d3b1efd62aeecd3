"""Airflow's `@setup` and `@teardown` decorators. `as_setup()` and `as_teardown()` are
`BaseOperator`'s, the rule a DAG with setups keeps is `DAG.validate`'s, and what the marks mean
at run time (a teardown's trigger rule, the setups a task waits for, the run's leaves, what a
clear takes along) is the scheduler's."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from flowtui.authoring.taskflow import TaskFunction, task
from flowtui.errors import InvalidArgument


def _task_function(func: Any, decorator: str) -> TaskFunction:
    if isinstance(func, TaskFunction):  # @setup over @task.bash and the like
        return func
    if isinstance(func, types.FunctionType):
        return task(func)
    raise InvalidArgument(
        decorator, f"decorates a function or a @task function, not {type(func).__name__}"
    )


def setup(func: Callable[..., Any]) -> TaskFunction:
    """Make a function (a `@task` one, or a plain one, which becomes `@task`) a setup task."""
    marked = _task_function(func, "@setup")
    marked.is_setup = True
    return marked


def teardown(
    func: Callable[..., Any] | None = None, /, *, on_failure_fail_dagrun: bool = False
) -> Any:
    """Make a function a teardown task; with `on_failure_fail_dagrun` its failure fails the
    run. `@teardown` or `@teardown(on_failure_fail_dagrun=True)`."""

    def mark(fn: Callable[..., Any]) -> TaskFunction:
        marked = _task_function(fn, "@teardown")
        marked.is_teardown = True
        marked.on_failure_fail_dagrun = bool(on_failure_fail_dagrun)
        return marked

    return mark if func is None else mark(func)
