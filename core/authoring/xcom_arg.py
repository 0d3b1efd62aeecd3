"""`XComArg`: a task's XCom (its return value, or another key) as an argument of another task,
as `operator.output`, a TaskFlow call or `xcom_arg["key"]` give it; passing one wires the
dependency and hands the value over at run time. `MapXComArg` is its `.map(fn)`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flowtui.authoring.dependencies import DependencyMixin
from flowtui.authoring.templating import Resolvable
from flowtui.authoring.xcom import RETURN_KEY
from flowtui.errors import XComNotFound


class _Task(Protocol):
    """What an XComArg uses of its task (a `BaseOperator`, whose module sits above this one)."""

    task_id: str

    @property
    def dag_id(self) -> str | None: ...


_MISSING: Any = object()


class XComArg(Resolvable, DependencyMixin):
    """The XCom `key` of `operator`, as an argument of another task.

    `xcom_arg["k"]` is the same task's XCom `k` (see `multiple_outputs`).
    """

    def __init__(self, operator: _Task, key: str = RETURN_KEY) -> None:
        self.operator = operator
        self.key = key

    def __repr__(self) -> str:
        return f"XComArg({self.operator.task_id!r}, key={self.key!r})"

    def __str__(self) -> str:
        """A template pulling the value, as Airflow's: `f"echo {task.output}"` in a templated
        field renders the XCom (wire the dependency yourself: a string holds no task)."""
        ids = f"task_ids='{self.operator.task_id}', dag_id='{self.operator.dag_id}'"
        return f"{{{{ task_instance.xcom_pull({ids}, key='{self.key}') }}}}"

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def _operators(self) -> list[_Task]:
        return [self.operator]

    def map(self, fn: Callable[[Any], Any]) -> MapXComArg:
        """Each element of the value passed through `fn` (lazily, as Airflow's `.map()`)."""
        return MapXComArg(self, (fn,))

    def map_source(self) -> tuple[str, str]:
        """What a task mapping over it counts its instances from: (task_id, key)."""
        return self.operator.task_id, self.key

    def raw(self, context: Mapping[str, Any]) -> Any:
        return self.resolve(context)

    def apply(self, item: Any) -> Any:
        return item

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """Pull the value; a missing `return_value` is None, another missing key an error. A
        mapped task's value is the list of its instances' values, by map index."""
        ti = context["ti"]
        value = ti.xcom_pull(task_ids=self.operator.task_id, key=self.key, default=_MISSING)
        if value is not _MISSING:
            return value
        if self.key == RETURN_KEY:
            return None
        raise XComNotFound(ti.task_id, self.operator.task_id, self.key, ti.run_id)


class MapXComArg(Resolvable, DependencyMixin):
    """`xcom_arg.map(fn)`: the upstream's value with `fn` applied to each element, lazily (a
    mapped instance calls it for its own element only), as Airflow's."""

    def __init__(self, arg: XComArg, callables: tuple[Callable[[Any], Any], ...]) -> None:
        self.arg = arg
        self.callables = callables

    def __repr__(self) -> str:
        return f"MapXComArg({self.arg!r}, {len(self.callables)} callable(s))"

    def map(self, fn: Callable[[Any], Any]) -> MapXComArg:
        return MapXComArg(self.arg, (*self.callables, fn))

    def _operators(self) -> list[_Task]:
        return self.arg._operators()

    def map_source(self) -> tuple[str, str]:
        return self.arg.map_source()

    def raw(self, context: Mapping[str, Any]) -> Any:
        return self.arg.resolve(context)

    def apply(self, item: Any) -> Any:
        for fn in self.callables:
            item = fn(item)
        return item

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """The whole list (passed to an unmapped task): each element mapped."""
        from flowtui.authoring.mapping import elements

        return elements(self, self.raw(context))
