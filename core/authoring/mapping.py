"""Dynamic task mapping on the authoring side, as Airflow's: `Operator.partial(...).expand(...)`
and `.expand_kwargs(...)` (the TaskFlow forms are `taskflow`'s), `XComArg.map(fn)`, what a mapped
task maps over for the spec, and the concrete operator one instance of it runs (`unmap`).
Expanding it into instances is the scheduler's job (`scheduling.expansion`)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from flowtui.authoring.templating import Resolvable
from flowtui.errors import FlowtuiError, InvalidArgument

_NOT_MAPPABLE = ("task_id", "dag", "task_group")


@runtime_checkable
class Output(Protocol):
    """An upstream task's output a task maps over: an `XComArg`, or a `MapXComArg` (its
    `.map(fn)`); `flowtui.authoring.taskflow` has both."""

    def map_source(self) -> tuple[str, str]:
        """The (task_id, XCom key) it comes from."""
        ...

    def raw(self, context: Mapping[str, Any]) -> Any:
        """The upstream's value, before any `.map()` function."""
        ...

    def apply(self, item: Any) -> Any:
        """One element as the task gets it (after the `.map()` functions)."""
        ...


class UnmappableXCom(FlowtuiError):
    """A task's value that a mapped task maps over is not a list or dict (Airflow's
    `UnmappableXComTypePushed` / `XComForMappingNotPushed`): the task fails."""

    def __init__(self, task_id: str, key: str, value: Any) -> None:
        what = "nothing" if value is None else f"a {type(value).__name__}"
        super().__init__(
            f"task {task_id!r} pushed {what} as XCom {key!r}, which a mapped task maps over; "
            f"return a list or a dict"
        )


class MapInput:
    """What a mapped operator maps over and the arguments it was built with: `expand` maps
    each named argument (their cross product), `expand_kwargs` a list of argument dicts."""

    def __init__(
        self,
        kind: str,
        value: Any,
        init_kwargs: dict[str, Any],
        op_kwargs: dict[str, Any] | None,
    ) -> None:
        self.kind = kind
        self.value = value
        """`expand`: name -> list, dict or XComArg; `expand_kwargs`: a list or XComArg."""
        self.init_kwargs = init_kwargs
        """The operator's own arguments (default_args applied), mapped ones as placeholders."""
        self.op_kwargs = op_kwargs
        """A TaskFlow function's partial arguments: the mapped ones go there; None for a
        classic operator (they are its own arguments)."""

    def sources(self) -> list[Any]:
        return list(self.value.values()) if self.kind == "expand" else [self.value]

    def map_over(self) -> tuple[int | tuple[str, str], ...]:
        """For the spec: each source's literal length, or its upstream (task_id, key)."""
        return tuple(_source_spec(source) for source in self.sources())

    def arguments_at(self, index: int, context: Mapping[str, Any]) -> dict[str, Any]:
        """The mapped arguments of instance `index`."""
        if self.kind == "expand_kwargs":
            chosen = _element(self.value, index, context)
            if not isinstance(chosen, dict):
                raise TypeError(f"expand_kwargs() needs dicts, got a {type(chosen).__name__}")
            return {k: _resolved(v, context) for k, v in chosen.items()}
        lengths = [len(_elements(_sequence(v, context), v)) for v in self.value.values()]
        # Airflow's order: the last argument varies fastest, as itertools.product's.
        combination = next(itertools.islice(itertools.product(*map(range, lengths)), index, None))
        return {
            name: _element(value, i, context)
            for (name, value), i in zip(self.value.items(), combination, strict=True)
        }


def _source_spec(source: Any) -> int | tuple[str, str]:
    return source.map_source() if isinstance(source, Output) else len(source)


def _sequence(source: Any, context: Mapping[str, Any]) -> Any:
    return source.raw(context) if isinstance(source, Output) else source


def _elements(value: Any, source: Any) -> Sequence[Any]:
    """The elements of what `source` gave: a list's, a dict's (key, value) pairs (Airflow's)."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list | tuple):
        return value
    task_id, key = source.map_source()
    raise UnmappableXCom(task_id, key, value)


def _element(source: Any, index: int, context: Mapping[str, Any]) -> Any:
    item = _elements(_sequence(source, context), source)[index]
    return source.apply(item) if isinstance(source, Output) else item


def elements(source: Output, value: Any) -> list[Any]:
    """Every element of an upstream's `value` as the task gets it (`MapXComArg.resolve`)."""
    return [source.apply(item) for item in _elements(value, source)]


def _resolved(value: Any, context: Mapping[str, Any]) -> Any:
    return value.resolve(context) if isinstance(value, Resolvable) else value


class OperatorPartial:
    """`SomeOperator.partial(**kwargs)`: the arguments shared by every mapped instance."""

    def __init__(self, operator_class: Any, kwargs: dict[str, Any]) -> None:
        if "map_index_template" in kwargs:
            raise InvalidArgument(
                f"task {kwargs.get('task_id')!r}",
                'map_index_template is not supported yet; see README "Airflow compatibility"',
            )
        self.operator_class = operator_class
        self.kwargs = kwargs

    def expand(self, **mapped: Any) -> Any:
        """One instance per element of the cross product of `mapped`'s lists (or dicts, or
        upstream outputs), each with these arguments and `partial`'s."""
        check_expand(self.kwargs.get("task_id"), mapped, self.kwargs)
        placeholders = {name: placeholder(value) for name, value in mapped.items()}
        return self._build(MapInput("expand", mapped, {}, None), placeholders)

    def expand_kwargs(self, kwargs: Any) -> Any:
        """One instance per dict of `kwargs` (a list, or an upstream's output), each dict the
        arguments that instance adds to `partial`'s."""
        check_kwargs_source(self.kwargs.get("task_id"), kwargs)
        return self._build(MapInput("expand_kwargs", kwargs, {}, None), {})

    def _build(self, mapping: MapInput, placeholders: dict[str, Any]) -> Any:
        # The operators' metaclass takes `_mapping` (their __init__ does not).
        operator = self.operator_class(**self.kwargs, **placeholders, _mapping=mapping)
        wire(operator, mapping)
        return operator


def check_expand(task_id: Any, mapped: dict[str, Any], partial: Mapping[str, Any]) -> None:
    """Refuse what Airflow refuses at `expand()`, in one line naming the task and argument."""
    place = f"task {task_id!r}"
    if not mapped:
        raise InvalidArgument(place, "expand() needs at least one argument to map over")
    for name, value in mapped.items():
        if name in _NOT_MAPPABLE:
            raise InvalidArgument(place, f"expand() cannot map {name}")
        if name in partial:
            raise InvalidArgument(place, f"{name} is given to both partial() and expand()")
        if not _is_source(value):
            raise InvalidArgument(
                place,
                f"expand() maps over a list, a dict or a task's output, got a "
                f"{type(value).__name__} for {name}",
            )


def check_kwargs_source(task_id: Any, kwargs: Any) -> None:
    if not _is_source(kwargs) or isinstance(kwargs, dict):
        raise InvalidArgument(
            f"task {task_id!r}",
            f"expand_kwargs() takes a list of dicts or a task's output, got a "
            f"{type(kwargs).__name__}",
        )


def _is_source(value: Any) -> bool:
    return isinstance(value, list | tuple | dict | Output)


def placeholder(value: Any) -> Any:
    """What the mapped operator is built with for a mapped argument (its instances get their
    own element): an upstream's output as it is, a literal's first element."""
    if isinstance(value, Resolvable):
        return value
    items = list(value.items()) if isinstance(value, dict) else list(value)
    return items[0] if items else None


def wire(operator: Any, mapping: MapInput) -> None:
    """The mapped operator runs after what it maps over; its DAG notes that it has mapped tasks
    and which outputs they map over, so that the task pushing one checks it (`check_pushed`)."""
    for source in mapping.sources():
        if isinstance(source, Output):
            operator.set_upstream(source)
    dag = operator.dag
    if dag is not None:
        found = {s for s in mapping.map_over() if not isinstance(s, int)}
        vars(dag).setdefault("mapped_outputs", set()).update(found)


def check_pushed(dag: Any, task_id: str, pushed: Mapping[str, Any]) -> None:
    """A task whose output a mapped task maps over must push a list or dict there, as
    Airflow checks; a DAG without mapped tasks costs one attribute lookup.

    Raises:
        UnmappableXCom: it pushed something else, or nothing.
    """
    mapped_outputs: set[tuple[str, str]] | None = vars(dag).get("mapped_outputs")
    if not mapped_outputs or getattr(dag.task_dict.get(task_id), "is_mapped", False):
        return  # a mapped task's instances each push one element, as in Airflow
    for upstream, key in mapped_outputs:
        if upstream == task_id and not isinstance(pushed.get(key), list | dict):
            raise UnmappableXCom(task_id, key, pushed.get(key))


def unmap(task: Any, map_index: int, context: Mapping[str, Any]) -> Any:
    """The concrete operator instance `map_index` of the mapped `task` runs: built with its
    partial arguments and its own element of what it maps over (upstream outputs pulled
    through `context["ti"]`), in its DAG without joining it."""
    mapping: MapInput = task.mapping
    if map_index < 0:
        raise InvalidArgument(
            f"task {task.task_id!r}", "is mapped: run one of its instances (a map index)"
        )
    chosen = mapping.arguments_at(map_index, context)
    kwargs = dict(mapping.init_kwargs)
    if mapping.op_kwargs is not None:
        kwargs["op_kwargs"] = {**mapping.op_kwargs, **chosen}
    else:
        kwargs.update(chosen)
    # type.__call__, not the class: the metaclass would add the instance to the DAG again.
    concrete = type.__call__(type(task), **kwargs)
    if task.dag is not None:
        concrete.joined(task.dag)
    concrete._upstream, concrete._downstream = task._upstream, task._downstream
    return concrete
