"""Branching operators: `BaseBranchOperator` follows the task ids its `choose_branch` returns,
`BranchPythonOperator` the ones its callable returns, and `ShortCircuitOperator` stops
everything downstream on a falsy result. They only report which tasks to skip
(`tasks_to_skip`); the scheduler sets those states. As in Airflow 3, a task that skips others
pushes no XCom `return_value` (Airflow 2 pushed the branch, or the condition, in any case)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.authoring.operators.python import PythonOperator


def _branch_ids(result: Any) -> str | list[str] | None:
    if result is None or isinstance(result, str):
        return result
    if isinstance(result, list | tuple | set | frozenset) and all(
        isinstance(item, str) for item in result
    ):
        return sorted(result) if isinstance(result, set | frozenset) else list(result)
    raise TypeError(
        f"a branch callable must return a task id, a list of task ids or None, "
        f"got {type(result).__name__}"
    )


def task_ids(value: str | Iterable[str]) -> list[str]:
    """One task id or several as a list (the `follow_task_ids_if_*` arguments)."""
    return [value] if isinstance(value, str) else list(value)


def _not_followed(task: BaseOperator, result: Any) -> list[str]:
    """The direct downstream task ids of `task` that the branch `result` does not follow.

    Raises:
        ValueError: the branch named a task the DAG does not have.
    """
    dag = task.dag
    assert dag is not None  # a task runs only as part of a DAG
    follow = {result} if isinstance(result, str) else set(result or ())
    unknown = sorted(t for t in follow if not dag.has_task(t))
    if unknown:
        choices = ", ".join(sorted(task.downstream_task_ids))
        raise ValueError(
            f"branch returned unknown task id(s) {', '.join(unknown)}; follow some of: {choices}"
        )
    direct = dag.get_downstream_task_ids(task.task_id, transitive=False)
    return [task_id for task_id in direct if task_id not in follow]


class BaseBranchOperator(BaseOperator):
    """A task whose `choose_branch(context)` returns the task id(s) to follow, as Airflow's:
    the other direct downstream tasks are skipped (all of them for None or an empty list).
    The branch is the task's return value (XCom `return_value` when it skips nothing)."""

    def choose_branch(self, context: Context) -> str | list[str] | None:
        raise NotImplementedError(f"{type(self).__name__} must implement choose_branch(context)")

    def execute(self, context: Context) -> Any:
        """The branch as a task id or a list of them."""
        return _branch_ids(self.choose_branch(context))

    def tasks_to_skip(self, result: Any) -> list[str]:
        return _not_followed(self, result)


class BranchPythonOperator(PythonOperator):
    """Run a callable that returns the task id(s) to follow; other direct downstream are skipped.

    Returning None skips every direct downstream task.
    """

    def execute(self, context: Context) -> Any:
        """Call the callable and return the branch as a task id or a list of them."""
        return _branch_ids(super().execute(context))

    def tasks_to_skip(self, result: Any) -> list[str]:
        """The direct downstream task ids that are not followed.

        Raises:
            ValueError: the callable named a task the DAG does not have.
        """
        return _not_followed(self, result)


class ShortCircuitOperator(PythonOperator):
    """Run a callable; a falsy result skips the tasks downstream.

    Args:
        ignore_downstream_trigger_rules: True (Airflow's default) skips every task downstream,
            however far; False skips only the direct downstream and lets the others follow
            their trigger rules.
    """

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = bool(ignore_downstream_trigger_rules)

    def execute(self, context: Context) -> Any:
        """Call the callable and return its result (the condition)."""
        result = super().execute(context)
        print(f"Condition result is {bool(result)}")
        return result

    def tasks_to_skip(self, result: Any) -> list[str]:
        """Nothing when `result` is truthy, else the downstream tasks (see the class)."""
        if result or self.dag is None:
            return []
        return self.dag.get_downstream_task_ids(
            self.task_id, transitive=self.ignore_downstream_trigger_rules
        )
