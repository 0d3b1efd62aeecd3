"""Which DAG a task joins when it is created without `dag=`: the innermost active `with DAG(...)`
block, and what an operator may ask of its DAG (`DagRef`). Kept apart from `dag.py` so that
operators and the DAG class need not import each other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class DagRef(Protocol):
    """What a task uses of the DAG it belongs to (`flowtui.authoring.dag.DAG` is the one
    implementation)."""

    @property
    def dag_id(self) -> str: ...

    @property
    def default_args(self) -> Mapping[str, Any]: ...

    @property
    def folder(self) -> str | None:
        """The folder of the DAG's file (None before it is loaded from one)."""

    @property
    def template_searchpath(self) -> Sequence[str]: ...

    @property
    def task_group_dict(self) -> dict[str, Any]:
        """Task groups by their full id (`flowtui.authoring.task_group`)."""

    def add_task(self, task: Any) -> None: ...

    def has_task(self, task_id: str) -> bool: ...

    def get_task(self, task_id: str) -> Any: ...

    def get_downstream_task_ids(self, task_id: str, *, transitive: bool = True) -> list[str]: ...

    def set_edge_info(self, upstream_task_id: str, downstream_task_id: str, info: Any) -> None: ...


_stack: list[DagRef] = []


def current_dag() -> DagRef | None:
    """The DAG of the innermost active `with DAG(...)` block, or None."""
    return _stack[-1] if _stack else None


def enter(dag: DagRef) -> None:
    """A `with DAG(...)` block starts."""
    _stack.append(dag)


def leave(dag: DagRef) -> None:
    """A `with DAG(...)` block ends (by identity: another block may have been left open)."""
    if _stack and _stack[-1] is dag:
        _stack.pop()
