"""Jinja2 rendering of templated task fields. Jinja2 is imported only when a string holds a
template, so that importing flowtui stays cheap; which fields are templated is the operators'."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowtui.clock import parse_datetime
from flowtui.errors import FlowtuiError, TemplateRenderError, TemplateUndefined

if TYPE_CHECKING:
    import jinja2

_MARKERS = ("{{", "{%", "{#")


class Resolvable:
    """A value known only at run time (an XCom, a DAG param); rendering resolves it."""

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """Return the run-time value for the attempt described by `context`."""
        raise NotImplementedError


def is_template(value: object) -> bool:
    """Whether `value` is a string that Jinja2 would change."""
    return isinstance(value, str) and any(marker in value for marker in _MARKERS)


def render(value: Any, context: Mapping[str, Any], *, task_id: str = "?", field: str = "?") -> Any:
    """Render `value` against `context`, recursing into lists, tuples, sets and dict values.

    Strings without `{{`, `{%` or `{#` come back unchanged; `Resolvable` values are resolved and
    not rendered further; other objects come back as they are.

    Raises:
        TemplateUndefined: the template uses a name the context lacks.
        TemplateRenderError: any other failure while rendering, naming task and field.
    """
    if isinstance(value, str):
        return _render_string(value, context, task_id, field) if is_template(value) else value
    if isinstance(value, Resolvable):
        return value.resolve(context)
    if isinstance(value, list):
        return [render(item, context, task_id=task_id, field=field) for item in value]
    if isinstance(value, tuple):
        return tuple(render(item, context, task_id=task_id, field=field) for item in value)
    if isinstance(value, set | frozenset):
        return type(value)(render(item, context, task_id=task_id, field=field) for item in value)
    if isinstance(value, dict):
        return {k: render(v, context, task_id=task_id, field=field) for k, v in value.items()}
    return value


def prepare(value: Any) -> None:
    """Compile the templates in `value` (recursing as `render` does) so that a process forked
    after this renders them without compiling. A template that does not compile is left for
    `render` to report."""
    if isinstance(value, str):
        if is_template(value):
            with contextlib.suppress(Exception):
                _compile(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            prepare(item)
    elif isinstance(value, dict):
        for item in value.values():
            prepare(item)


def _render_string(source: str, context: Mapping[str, Any], task_id: str, field: str) -> str:
    import jinja2

    try:
        return _compile(source).render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateUndefined(task_id, field, exc.message or "undefined name") from exc
    except jinja2.TemplateSyntaxError as exc:
        detail = f"syntax error on line {exc.lineno}: {exc.message}"
        raise TemplateRenderError(task_id, field, detail) from exc
    except FlowtuiError as exc:
        raise TemplateRenderError(task_id, field, str(exc)) from exc
    except Exception as exc:
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise TemplateRenderError(task_id, field, detail) from exc


@functools.lru_cache(maxsize=512)
def _compile(source: str) -> jinja2.Template:
    return _environment().from_string(source)


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(
        ds=lambda d: _as_datetime(d).strftime("%Y-%m-%d"),
        ds_nodash=lambda d: _as_datetime(d).strftime("%Y%m%d"),
        ts=lambda d: _as_datetime(d).isoformat(),
        ts_nodash=lambda d: _as_datetime(d).strftime("%Y%m%dT%H%M%S"),
        ts_nodash_with_tz=lambda d: _as_datetime(d).isoformat().replace("-", "").replace(":", ""),
    )
    return env


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_datetime(str(value))
