"""`PythonOperator`: call a Python function with `op_args`, `op_kwargs` and the context keys
its signature asks for (or the whole context with `**kwargs`), as in Airflow."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.errors import InvalidArgument

if TYPE_CHECKING:
    import inspect

_signatures: dict[Callable[..., Any], inspect.Signature] = {}
"""Signatures found ahead (`remember_signatures`)."""


def remember_signatures(callables: Iterable[Callable[..., Any]]) -> None:
    """Find the signatures of `callables` now, in place of those found before, for
    `call_with_context` in this process and those it forks: the fork server does it for the
    callables of the DAGs it holds, so that its children do not each inspect them. A callable
    remembered before keeps its signature (the server passes every DAG's at each import)."""
    import inspect

    global _signatures
    found: dict[Callable[..., Any], inspect.Signature] = {}
    for fn in callables:
        with contextlib.suppress(Exception):  # unhashable, or no signature: found at the call
            if fn not in found:  # 10,000 tasks may share one function
                known = _signatures.get(fn)
                found[fn] = known if known is not None else inspect.signature(fn)
    _signatures = found


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    import inspect

    try:
        return _signatures[fn]
    except (KeyError, TypeError):  # not remembered; unhashable
        return inspect.signature(fn)


def call_with_context(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any], context: Context
) -> Any:
    """Call `fn(*args, **kwargs)`, adding the context keys `fn` names (all with `**kwargs`).

    Keys in `kwargs` win over context keys of the same name; names filled by `args` are left out.
    An `async def` function is awaited (in an event loop of its own), as Airflow 3 does.
    """
    import inspect

    params = list(_signature(fn).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    taken = {p.name for p in params[: len(args)] if p.kind in positional}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        merged = {**context, **kwargs}
        chosen = {k: v for k, v in merged.items() if k not in taken}
    else:  # only the names it takes: no copy of the whole context
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        chosen = {}
        for p in params:
            if p.kind in named and p.name not in taken:
                if p.name in kwargs:
                    chosen[p.name] = kwargs[p.name]
                elif p.name in context:
                    chosen[p.name] = context[p.name]
    result = fn(*args, **chosen)
    if inspect.iscoroutine(result):
        import asyncio

        return asyncio.run(result)
    return result


class PythonOperator(BaseOperator):
    """Run `python_callable`; its return value becomes XCom `return_value`.

    Args:
        python_callable: the function to call.
        op_args: positional arguments (templated).
        op_kwargs: keyword arguments (templated); they win over context keys.
        templates_dict: rendered and handed to the callable as context key `templates_dict`.
        show_return_value_in_logs: print "Returned value was: ..." to the task log.
        templates_exts: extensions of template files in the templated fields (e.g. [".sql"]):
            a string ending in one is the file's text, rendered (`BaseOperator.template_ext`).
    """

    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")
    __slots__ = (
        "op_args",
        "op_kwargs",
        "python_callable",
        "show_return_value_in_logs",
        "templates_dict",
    )

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        show_return_value_in_logs: bool = True,
        templates_exts: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if templates_exts:
            self.template_ext = tuple(templates_exts)
        if not callable(python_callable):
            raise InvalidArgument(self._where(), "python_callable must be callable")
        self.python_callable = python_callable
        self.op_args: list[Any] = list(op_args or [])
        self.op_kwargs: dict[str, Any] = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        self.show_return_value_in_logs = bool(show_return_value_in_logs)

    def execute(self, context: Context) -> Any:
        """Call the callable with its arguments and the context it asks for."""
        context["templates_dict"] = self.templates_dict
        return call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
