"""Dependencies between tasks: `>>`, `<<`, `set_upstream`/`set_downstream` and lists of them,
for every node that stands for tasks (a task, an XComArg, a task group, an edge label), and the
tasks behind such a node (`flatten`). Kept apart from `baseoperator` so that XComArgs, which are
nodes too, can sit below it (`operator.output` makes one)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Self, TypeVar

from flowtui.authoring.templating import Resolvable
from flowtui.errors import InvalidArgument

D = TypeVar("D", bound="DependencyMixin | Sequence[DependencyMixin]")


class DependencyMixin:
    """`>>`, `<<` and `set_upstream/set_downstream` for tasks, XComArgs, task groups and edge
    labels; lists work too."""

    __slots__ = ()

    # The tasks are `BaseOperator`s; typed Any here, as this module sits below theirs.
    def _operators(self) -> list[Any]:
        raise NotImplementedError

    def _ends(self, *, as_upstream: bool, source: Any) -> list[Any]:
        """The tasks an edge with this node reaches: its leaves when it runs before the other
        side (`as_upstream`), its roots when after (a task or XComArg: itself). `source` is
        the task on the other side, for a node that must know it (an edge label)."""
        return self._operators()

    def set_upstream(
        self, other: DependencyMixin | Sequence[DependencyMixin], edge_modifier: Any = None
    ) -> None:
        """Make `other` (a task, XComArg, group or list of them) run before this; an
        `edge_modifier` (a `Label`) names the edges."""
        label = getattr(edge_modifier, "label", None)
        for operator in self._ends(as_upstream=False, source=None):
            operator._relate(other, upstream=True, label=label)

    def set_downstream(
        self, other: DependencyMixin | Sequence[DependencyMixin], edge_modifier: Any = None
    ) -> None:
        """Make `other` (a task, XComArg, group or list of them) run after this; an
        `edge_modifier` (a `Label`) names the edges."""
        label = getattr(edge_modifier, "label", None)
        for operator in self._ends(as_upstream=True, source=None):
            operator._relate(other, upstream=False, label=label)

    def __rshift__(self, other: D) -> D:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: D) -> D:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Sequence[DependencyMixin]) -> DependencyMixin:
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Sequence[DependencyMixin]) -> DependencyMixin:
        self.set_downstream(other)
        return self

    def _marked_operators(self) -> list[Any]:
        """The tasks `as_setup` and `as_teardown` mark."""
        return self._operators()

    def as_setup(self) -> Self:
        """Make the task a setup task (Airflow 2.7's setup/teardown): the tasks below it wait
        for it to succeed, and clearing one of them clears it too."""
        for operator in self._marked_operators():
            operator.is_setup = True
        return self

    def as_teardown(
        self,
        *,
        setups: DependencyMixin | Sequence[DependencyMixin] | None = None,
        on_failure_fail_dagrun: bool | None = None,
    ) -> Self:
        """Make the task a teardown task: it runs once its upstream are done, whatever their
        outcome, if one of its setups succeeded (trigger rule all_done_setup_success); its
        failure fails the run only with `on_failure_fail_dagrun`. `setups` become setup tasks
        directly upstream of it."""
        for operator in self._marked_operators():
            operator.is_teardown = True
            operator.trigger_rule = "all_done_setup_success"
            if on_failure_fail_dagrun is not None:
                operator.on_failure_fail_dagrun = on_failure_fail_dagrun
            if setups is not None:
                for setup in [setups] if isinstance(setups, DependencyMixin) else setups:
                    setup.as_setup()
                    setup >> operator
        return self


def flatten(other: object, *, as_upstream: bool = False, source: Any = None) -> list[Any]:
    """The tasks behind a task, an XComArg, a group (its leaves `as_upstream`, else its roots),
    or a (nested) list/tuple/set of them; `source` is the task on the edge's other side."""
    if isinstance(other, DependencyMixin):
        return other._ends(as_upstream=as_upstream, source=source)
    if isinstance(other, list | tuple | set | frozenset):
        return [o for item in other for o in flatten(item, as_upstream=as_upstream, source=source)]
    raise InvalidArgument(
        "dependency", f"cannot depend on a {type(other).__name__}; use tasks or lists of tasks"
    )


def xcom_args(value: object) -> Iterator[DependencyMixin]:
    """The XComArgs (and other resolvable nodes) in a templated field's value, at any depth."""
    if isinstance(value, Resolvable) and isinstance(value, DependencyMixin):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from xcom_args(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from xcom_args(item)
