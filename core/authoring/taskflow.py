"""TaskFlow: the `@dag` decorator, the `@task` family and `XComArg`, the handle a decorated call
returns. Passing an XComArg to another task wires the dependency and hands over the value via
XCom."""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, overload

from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.authoring.dag import DAG
from flowtui.authoring.dag_context import current_dag
from flowtui.authoring.group_context import current_group
from flowtui.authoring.operators.bash import BashOperator
from flowtui.authoring.operators.branch import BranchPythonOperator, ShortCircuitOperator
from flowtui.authoring.operators.python import PythonOperator, call_with_context
from flowtui.authoring.templating import Resolvable, render
from flowtui.authoring.xcom_arg import XComArg
from flowtui.errors import InvalidArgument, TaskCallableFailed, TaskOutsideDag

if TYPE_CHECKING:
    from flowtui.authoring.mapping import MapInput


class DagParam(Resolvable):
    """A parameter of a `@dag` function: the run's `params[name]` at run time."""

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self.default = default

    def __repr__(self) -> str:
        return f"DagParam({self.name!r})"

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """The run's value of the param (trigger conf wins), else the default."""
        return context["params"].get(self.name, self.default)


class _PythonDecoratedOperator(PythonOperator):
    operator_name: ClassVar[str | None] = "@task"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = bool(multiple_outputs)


class _BranchDecoratedOperator(BranchPythonOperator):
    operator_name: ClassVar[str | None] = "@task.branch"


class _ShortCircuitDecoratedOperator(ShortCircuitOperator):
    operator_name: ClassVar[str | None] = "@task.short_circuit"


class _BashDecoratedOperator(BashOperator):
    """@task.bash: the function (called at run time) returns the command, which is rendered."""

    operator_name: ClassVar[str | None] = "@task.bash"
    template_fields: ClassVar[Sequence[str]] = ("env", "cwd", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(bash_command=f"# @task.bash {python_callable.__name__}", **kwargs)
        self.python_callable = python_callable
        self.op_args: list[Any] = list(op_args or [])
        self.op_kwargs: dict[str, Any] = dict(op_kwargs or {})

    def bash_invocation(self, context: Context) -> tuple[list[str], dict[str, str], str | None]:
        """Call the function for the command, render it, and return (argv, env, cwd)."""
        command = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if not isinstance(command, str) or not command.strip():
            raise TaskCallableFailed(
                self.task_id,
                TypeError(f"a @task.bash function must return a non-empty string, got {command!r}"),
            )
        self.bash_command = render(
            command,
            context,
            task_id=self.task_id,
            field="bash_command",
            files=self.template_files(),
        )
        return super().bash_invocation(context)


def _sensor_operator(**kwargs: Any) -> BaseOperator:
    """@task.sensor's operator, its module imported only by DAG files that have one."""
    from flowtui.authoring.sensors.python import DecoratedSensor

    return DecoratedSensor(**kwargs)


def _virtualenv_operator(**kwargs: Any) -> BaseOperator:
    """@task.virtualenv's operator, its module imported only by DAG files that have one."""
    from flowtui.authoring.operators.virtualenv import VirtualenvDecoratedOperator

    return VirtualenvDecoratedOperator(**kwargs)


def _external_python_operator(**kwargs: Any) -> BaseOperator:
    from flowtui.authoring.operators.virtualenv import ExternalPythonDecoratedOperator

    return ExternalPythonDecoratedOperator(**kwargs)


_KINDS: dict[str, Callable[..., BaseOperator]] = {
    "python": _PythonDecoratedOperator,
    "branch": _BranchDecoratedOperator,
    "short_circuit": _ShortCircuitDecoratedOperator,
    "bash": _BashDecoratedOperator,
    "sensor": _sensor_operator,
    "virtualenv": _virtualenv_operator,
    "external_python": _external_python_operator,
}


def _returns_mapping(fn: Callable[..., Any]) -> bool:
    """Whether `fn`'s return annotation is a mapping (`dict[str, int]`, `Mapping`, a TypedDict):
    Airflow's default for `multiple_outputs`. An annotation that does not evaluate (a name
    imported only under TYPE_CHECKING) says no, as in Airflow."""
    annotations = getattr(fn, "__annotations__", {})
    if "return" not in annotations:
        return False

    def returns() -> None: ...

    returns.__annotations__ = {"return": annotations["return"]}
    try:
        hint = typing.get_type_hints(returns, getattr(fn, "__globals__", None))["return"]
    except (NameError, TypeError, SyntaxError):
        return False
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _unique_task_id(is_taken: Callable[[str], bool], task_id: str) -> str:
    if not is_taken(task_id):
        return task_id
    base = re.sub(r"__\d+$", "", task_id)
    number = 1
    while is_taken(f"{base}__{number}"):
        number += 1
    return f"{base}__{number}"


class TaskFunction:
    """A `@task`-decorated function: calling it inside a DAG adds a task, returning an XComArg."""

    is_setup = False
    """Its tasks are setup tasks (`@setup`)."""
    is_teardown = False
    """Its tasks are teardown tasks (`@teardown`), failing the run with
    `on_failure_fail_dagrun`."""
    on_failure_fail_dagrun = False

    def __init__(self, function: Callable[..., Any], kind: str, options: dict[str, Any]) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.kind = kind
        self.options = options

    def override(self, **options: Any) -> TaskFunction:
        """The same task function with some operator arguments changed (e.g. task_id)."""
        new = TaskFunction(self.function, self.kind, {**self.options, **options})
        new.is_setup, new.is_teardown = self.is_setup, self.is_teardown
        new.on_failure_fail_dagrun = self.on_failure_fail_dagrun
        return new

    def partial(self, **kwargs: Any) -> _TaskPartial:
        """The arguments every instance of a mapped call shares (dynamic task mapping)."""
        return _TaskPartial(self, kwargs)

    def expand(self, **mapped: Any) -> XComArg:
        """A mapped task: one instance per element of the cross product of `mapped`."""
        return self.partial().expand(**mapped)

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        """A mapped task: one instance per dict of arguments in `kwargs`."""
        return self.partial().expand_kwargs(kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        return self._call(args, kwargs)

    def _call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], mapping: MapInput | None = None
    ) -> XComArg:
        options = dict(self.options)
        task_id = options.pop("task_id", self.function.__name__)
        group = options.get("task_group")
        dag = options.get("dag") or (group.dag if group is not None else None) or current_dag()
        if dag is None:
            raise TaskOutsideDag(task_id)
        group = group or current_group(dag)
        if group is None:
            task_id = _unique_task_id(dag.has_task, task_id)
        else:  # Airflow numbers a task in a group by its full id: g.t, g.t__1, ...
            task_id = _unique_task_id(lambda local: dag.has_task(group.child_id(local)), task_id)
        import inspect  # here: it costs 10 ms, and `import flowtui` is paid by every DAG file

        try:
            inspect.signature(self.function).bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise InvalidArgument(f"DAG {dag.dag_id!r}, task {task_id!r}", str(exc)) from None
        if self.kind == "python" and "multiple_outputs" not in options:
            options["multiple_outputs"] = _returns_mapping(self.function)
        if mapping is not None:
            options["_mapping"] = mapping
        if self.is_teardown and "trigger_rule" in options:
            raise InvalidArgument(
                f"DAG {dag.dag_id!r}, task {task_id!r}",
                "a teardown's trigger_rule is all_done_setup_success, as in Airflow; "
                "remove trigger_rule",
            )
        operator = _KINDS[self.kind](
            task_id=task_id,
            python_callable=self.function,
            op_args=list(args),
            op_kwargs=kwargs,
            **options,
        )
        if mapping is not None:
            from flowtui.authoring.mapping import wire

            wire(operator, mapping)
        if self.is_setup:
            operator.as_setup()
        if self.is_teardown:
            operator.as_teardown(on_failure_fail_dagrun=self.on_failure_fail_dagrun)
        return XComArg(operator)


class _TaskPartial:
    """`task_function.partial(**kwargs)`: `.expand(...)` / `.expand_kwargs(...)` make the
    mapped task, its function called with these arguments and its own mapped ones."""

    def __init__(self, function: TaskFunction, kwargs: dict[str, Any]) -> None:
        self.function = function
        self.kwargs = kwargs

    def expand(self, **mapped: Any) -> XComArg:
        from flowtui.authoring.mapping import MapInput, check_expand, placeholder

        check_expand(self.function.function.__name__, mapped, self.kwargs)
        mapping = MapInput("expand", mapped, {}, dict(self.kwargs))
        shown = {**self.kwargs, **{name: placeholder(v) for name, v in mapped.items()}}
        return self.function._call((), shown, mapping)

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        from flowtui.authoring.mapping import MapInput, check_kwargs_source

        check_kwargs_source(self.function.function.__name__, kwargs)
        mapping = MapInput("expand_kwargs", kwargs, {}, dict(self.kwargs))
        return self.function._call((), dict(self.kwargs), mapping)


_Decorator = Callable[[Callable[..., Any]], TaskFunction]


class _TaskDecorator:
    """`@task`, `@task(...)`, `@task.bash`, `@task.branch`, `@task.short_circuit`,
    `@task.sensor`, `@task.virtualenv`, `@task.external_python`."""

    @overload
    def __call__(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def __call__(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def __call__(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        return self._make("python", python_callable, options)

    @overload
    def python(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def python(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def python(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        """Same as `@task`."""
        return self._make("python", python_callable, options)

    @overload
    def bash(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def bash(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def bash(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        """The function returns a bash command (templated), which the task runs."""
        return self._make("bash", python_callable, options)

    @overload
    def branch(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def branch(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def branch(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        """The function returns the task id(s) to follow, as `BranchPythonOperator`."""
        return self._make("branch", python_callable, options)

    @overload
    def short_circuit(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def short_circuit(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def short_circuit(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        """A falsy return value skips downstream, as `ShortCircuitOperator`."""
        return self._make("short_circuit", python_callable, options)

    @overload
    def sensor(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def sensor(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def sensor(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        """The function is a sensor's poke: it returns a bool or a `PokeReturnValue`; the
        options take the sensor's arguments (poke_interval, timeout, mode, ...)."""
        return self._make("sensor", python_callable, options)

    @overload
    def virtualenv(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def virtualenv(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def virtualenv(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        """The function runs in a virtualenv with `requirements`, as
        `PythonVirtualenvOperator`."""
        return self._make("virtualenv", python_callable, options)

    @overload
    def external_python(self, python_callable: Callable[..., Any], /) -> TaskFunction: ...
    @overload
    def external_python(self, python_callable: None = None, /, **options: Any) -> _Decorator: ...
    def external_python(
        self, python_callable: Callable[..., Any] | None = None, /, **options: Any
    ) -> TaskFunction | _Decorator:
        """The function runs with the interpreter `python=`, as `ExternalPythonOperator`."""
        return self._make("external_python", python_callable, options)

    @staticmethod
    def _make(
        kind: str, python_callable: Callable[..., Any] | None, options: dict[str, Any]
    ) -> TaskFunction | _Decorator:
        if python_callable is not None:
            return TaskFunction(python_callable, kind, options)
        return lambda fn: TaskFunction(fn, kind, options)


task = _TaskDecorator()
"""Turn a function into a task factory, as Airflow's TaskFlow `@task`."""


@overload
def dag(func: Callable[..., Any], /) -> Callable[..., DAG]: ...
@overload
def dag(
    func: None = None, /, **dag_kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., DAG]]: ...
def dag(
    func: Callable[..., Any] | None = None, /, **dag_kwargs: Any
) -> Callable[..., DAG] | Callable[[Callable[..., Any]], Callable[..., DAG]]:
    """Turn a function into a DAG factory, as Airflow's `@dag` does.

    The DAG id is the function's name (or `dag_id=`); calling the function builds the DAG and
    returns it. The function's parameters become DAG params (call arguments override their
    defaults), and inside the function they stand for the run's param values.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., DAG]:
        @functools.wraps(fn)
        def build(*args: Any, **kwargs: Any) -> DAG:
            return _build_dag(fn, dag_kwargs, args, kwargs)

        return build

    return decorate(func) if func is not None else decorate


def _build_dag(
    fn: Callable[..., Any], options: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> DAG:
    import inspect

    options = dict(options)
    dag_id = options.pop("dag_id", fn.__name__)
    signature = inspect.signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise InvalidArgument(f"@dag {dag_id!r}", str(exc)) from None
    bound.apply_defaults()
    params = dict((options.pop("params", None) or {}).items())  # a ParamsDict's Params
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            params[name] = value
            bound.arguments[name] = DagParam(name, value)
    if options.get("doc_md") is None and fn.__doc__:
        options["doc_md"] = inspect.cleandoc(fn.__doc__)
    with DAG(dag_id, params=params, **options) as new:
        fn(*bound.args, **bound.kwargs)
    return new
