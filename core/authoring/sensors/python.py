"""`PythonSensor`: wait until a Python callable returns something true (or a
`PokeReturnValue` that is done), as Airflow's does."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from flowtui.authoring.baseoperator import Context
from flowtui.authoring.operators.python import call_with_context
from flowtui.authoring.sensors.base import BaseSensorOperator, PokeReturnValue, Wake
from flowtui.errors import InvalidArgument


class PythonSensor(BaseSensorOperator):
    """Poke by calling `python_callable(*op_args, **op_kwargs)` with the context keys it names.

    Args:
        python_callable: returns a bool, or a `PokeReturnValue` (its `xcom_value` becomes the
            sensor's return value).
        op_args, op_kwargs, templates_dict: as for `PythonOperator` (templated).
        wake_on_paths: globs whose files being written wake the sensor before its next poke
            (flowtui's addition: what the callable waits for, if it is a file).
    """

    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        wake_on_paths: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise InvalidArgument(self._where(), "python_callable must be callable")
        self.python_callable = python_callable
        self.op_args: list[Any] = list(op_args or [])
        self.op_kwargs: dict[str, Any] = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        self.wake_on_paths = [str(p) for p in wake_on_paths]

    def poke(self, context: Context) -> bool | PokeReturnValue:
        context["templates_dict"] = self.templates_dict
        result = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        return result if isinstance(result, PokeReturnValue) else bool(result)

    def wake_on(self, context: Context) -> list[Wake]:
        return [("path", p) for p in self.wake_on_paths]


class DecoratedSensor(PythonSensor):
    """`@task.sensor`: the decorated function is the poke."""

    operator_name: ClassVar[str | None] = "@task.sensor"
