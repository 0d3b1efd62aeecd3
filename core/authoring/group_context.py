"""Which task group a task joins when it is created without `task_group=`: the innermost active
`with TaskGroup(...)` block of the task's DAG, and what an operator asks of its group
(`GroupRef`). Kept apart from `task_group.py`, which builds on the operators, so that operators
need not import it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class GroupRef(Protocol):
    """What a task uses of the task group it belongs to (`flowtui.authoring.task_group.TaskGroup`
    is the one implementation)."""

    @property
    def dag(self) -> Any: ...

    @property
    def group_id(self) -> str:
        """The full id (`<parent's id>.<own id>` when the parent prefixes); "" for the root."""

    @property
    def task_group(self) -> GroupRef | None:
        """The parent group; None at the top."""

    @property
    def default_args(self) -> Mapping[str, Any]:
        """The group's default_args, its parents' merged below them."""

    def child_id(self, label: str) -> str:
        """The id a child with own id `label` gets: `<group_id>.<label>` when prefixed."""

    def add(self, node: Any) -> None:
        """`node` (a task or a group) is now a child of the group."""


_stack: list[GroupRef] = []


def current_group(dag: object) -> GroupRef | None:
    """The innermost active `with TaskGroup(...)` block, if it belongs to `dag`; else None."""
    if _stack and _stack[-1].dag is dag:
        return _stack[-1]
    return None


def enter(group: GroupRef) -> None:
    """A `with TaskGroup(...)` block starts."""
    _stack.append(group)


def leave(group: GroupRef) -> None:
    """A `with TaskGroup(...)` block ends (by identity, as `dag_context.leave`)."""
    if _stack and _stack[-1] is group:
        _stack.pop()
