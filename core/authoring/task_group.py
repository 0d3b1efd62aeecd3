"""Task groups, with Airflow's semantics: `TaskGroup` (a context manager or an object, nested)
gives the tasks created in it the ids `<group_id>.<task_id>` (with `prefix_group_id`), its
`default_args` over the DAG's, and stands in `>>` for its roots or leaves; `@task_group` builds
one from a function. Grouping in the dashboard reads the dotted ids; the scheduler never sees
a group."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, overload

from flowtui.authoring import group_context
from flowtui.authoring.arguments import check_id
from flowtui.authoring.baseoperator import BaseOperator
from flowtui.authoring.dag_context import DagRef, current_dag
from flowtui.authoring.dependencies import DependencyMixin
from flowtui.errors import DuplicateGroupId, InvalidArgument

__all__ = ["TaskGroup", "root_group", "task_group"]


class TaskGroup(DependencyMixin):
    """A group of tasks of one DAG, as Airflow's `airflow.utils.task_group.TaskGroup`.

    Tasks (and groups) created inside `with TaskGroup("g"):`, or with `task_group=g`, join it;
    with `prefix_group_id` their ids are `g.<task_id>` (and a nested group's `g.<group_id>`).
    `group >> other` sets the dependency from the group's leaves (tasks with no downstream in
    the group), `other >> group` to its roots, as in Airflow: wire the group's own tasks first.

    Raises:
        InvalidId: a group_id that is not letters, digits, '_' and '-' (a '.' is refused: it
            joins a group's id to its children's).
        DuplicateGroupId: a group or task of the DAG already has the id, and
            `add_suffix_on_collision` is False (else `g__1`, `g__2`, ...).
        InvalidArgument: no DAG, or a parent group of another DAG.
    """

    def __init__(
        self,
        group_id: str,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DagRef | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        add_suffix_on_collision: bool = False,
    ) -> None:
        found = dag or (parent_group.dag if parent_group is not None else None) or current_dag()
        if found is None:
            raise InvalidArgument(
                f"task group {group_id!r}",
                "a TaskGroup belongs to a DAG: create it inside `with DAG(...)` or pass dag=",
            )
        parent = parent_group if parent_group is not None else group_context.current_group(found)
        if parent is not None and parent.dag is not found:
            raise InvalidArgument(
                f"DAG {found.dag_id!r}, task group {group_id!r}",
                "its parent_group belongs to another DAG",
            )
        self._group_id: str | None = check_id("group_id", group_id, found.dag_id)
        self.prefix_group_id = bool(prefix_group_id)
        self.dag: DagRef = found
        self.task_group: TaskGroup | None = parent if isinstance(parent, TaskGroup) else None
        """The parent group (None at the top), as Airflow names it."""
        own = copy.deepcopy(default_args or {})
        self.default_args: dict[str, Any] = (
            {**self.task_group.default_args, **own} if self.task_group else own
        )
        """The group's default_args over its parents' (tasks apply them over the DAG's)."""
        self.tooltip = tooltip
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        self.children: dict[str, BaseOperator | TaskGroup] = {}
        """The tasks and groups directly in this one, by their full ids."""
        self._claim_id(add_suffix_on_collision)
        if self.task_group is not None:
            self.task_group.add(self)

    def _claim_id(self, add_suffix_on_collision: bool) -> None:
        dag, full = self.dag, self.group_id
        if full in dag.task_group_dict or dag.has_task(full):
            if not add_suffix_on_collision:
                raise DuplicateGroupId(dag.dag_id, full)
            # Airflow's numbering: one more than the highest `<base>__<n>` in use.
            base = re.sub(r"__\d+$", "", self._group_id or "")
            pattern = re.compile(rf"{re.escape(self._full_id(base))}__(\d+)")
            used = [int(m[1]) for key in dag.task_group_dict if (m := pattern.fullmatch(key))]
            self._group_id = f"{base}__{max(used, default=0) + 1}"
            full = self.group_id
        dag.task_group_dict[full] = self

    def _full_id(self, label: str) -> str:
        return self.task_group.child_id(label) if self.task_group is not None else label

    @property
    def group_id(self) -> str:
        """The full id: `<parent's group_id>.<own id>` when the parent prefixes its children."""
        return self._full_id(self._group_id or "")

    @property
    def node_id(self) -> str:
        return self.group_id

    @property
    def label(self) -> str | None:
        """The group's own id, without its parents'."""
        return self._group_id

    @property
    def parent_group(self) -> TaskGroup | None:
        return self.task_group

    @property
    def is_root(self) -> bool:
        return self._group_id is None

    def child_id(self, label: str) -> str:
        """The full id of a child whose own id is `label`."""
        if self.prefix_group_id and self._group_id is not None:
            return f"{self.group_id}.{label}"
        return label

    def add(self, node: BaseOperator | TaskGroup) -> None:
        """`node` is now a child of this group (tasks and groups call it as they are made)."""
        key = node.group_id if isinstance(node, TaskGroup) else node.task_id
        self.children[key] = node

    def get_child_by_label(self, label: str) -> BaseOperator | TaskGroup:
        """The child whose own id is `label`."""
        return self.children[self.child_id(label)]

    def __iter__(self) -> Iterator[BaseOperator]:
        """The group's tasks, those of its groups included, in the order they joined."""
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child
            else:
                yield child

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"

    def __enter__(self) -> TaskGroup:
        group_context.enter(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group_context.leave(self)

    @property
    def roots(self) -> list[BaseOperator]:
        """The group's tasks with no upstream task inside the group."""
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if t.upstream_task_ids.isdisjoint(ids)]

    @property
    def leaves(self) -> list[BaseOperator]:
        """The group's tasks with no downstream task inside the group."""
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if t.downstream_task_ids.isdisjoint(ids)]

    def get_roots(self) -> list[BaseOperator]:
        return self.roots

    def get_leaves(self) -> list[BaseOperator]:
        return self.leaves

    def _operators(self) -> list[BaseOperator]:
        return list(self)

    def _marked_operators(self) -> list[BaseOperator]:
        raise InvalidArgument(
            f"task group {self.group_id!r}",
            "task groups cannot be marked as setup or teardown (as in Airflow); mark its tasks",
        )

    def _ends(self, *, as_upstream: bool, source: BaseOperator | None) -> list[BaseOperator]:
        return self.leaves if as_upstream else self.roots


def root_group(dag: Any) -> TaskGroup:
    """The DAG's root group (id None): its children are the tasks and groups in no group, in
    the order their first task joined the DAG (a group without tasks comes last)."""
    root = TaskGroup.__new__(TaskGroup)
    root._group_id, root.prefix_group_id, root.dag, root.task_group = None, True, dag, None
    root.default_args, root.tooltip, root.ui_color, root.ui_fgcolor = {}, "", "", ""
    root.children = {}
    for task in dag.task_dict.values():
        node: Any = task
        while getattr(node, "task_group", None) is not None:
            node = node.task_group
        root.add(node)
    for group in dag.task_group_dict.values():
        if group.task_group is None:
            root.add(group)
    return root


class TaskGroupFunction:
    """A `@task_group`-decorated function: calling it inside a DAG builds a group around what
    it creates (its id the function's name; `name__1`, ... when called again, as Airflow)
    and returns what the function returns (a task or XComArg, for `>>`), else the group."""

    def __init__(self, function: Callable[..., Any], options: dict[str, Any]) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.options = options

    def override(self, **options: Any) -> TaskGroupFunction:
        """The same function, with some of the group's arguments changed (e.g. group_id)."""
        return TaskGroupFunction(self.function, {**self.options, **options})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        options = {"group_id": self.function.__name__, "add_suffix_on_collision": True}
        with TaskGroup(**{**options, **self.options}) as group:
            if self.function.__doc__ and not group.tooltip:
                group.tooltip = self.function.__doc__
            returned = self.function(*args, **kwargs)
        return group if returned is None else returned


_Decorator = Callable[[Callable[..., Any]], TaskGroupFunction]


@overload
def task_group(python_callable: Callable[..., Any], /) -> TaskGroupFunction: ...
@overload
def task_group(python_callable: None = None, /, **tg_kwargs: Any) -> _Decorator: ...
def task_group(
    python_callable: Callable[..., Any] | None = None, /, **tg_kwargs: Any
) -> TaskGroupFunction | _Decorator:
    """Turn a function into a task group factory, as Airflow's `@task_group`; the options are
    `TaskGroup`'s arguments (group_id, prefix_group_id, default_args, tooltip, ...)."""
    if python_callable is not None:
        return TaskGroupFunction(python_callable, tg_kwargs)
    return lambda fn: TaskGroupFunction(fn, tg_kwargs)
