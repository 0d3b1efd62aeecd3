"""Jinja2 rendering of templated task fields. Jinja2 is imported only when a string holds a
template, so that importing flowtui stays cheap; which fields are templated is the operators'."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.clock import parse_datetime
from flowtui.errors import (
    FlowtuiError,
    TemplateFileNotFound,
    TemplateRenderError,
    TemplateUndefined,
)

if TYPE_CHECKING:
    import jinja2

_MARKERS = ("{{", "{%", "{#")


class Resolvable:
    """A value known only at run time (an XCom, a DAG param); rendering resolves it."""

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """Return the run-time value for the attempt described by `context`."""
        raise NotImplementedError


class TemplateFiles(NamedTuple):
    """Where a task's template files are: a string ending in one of `extensions` (the operator's
    `template_ext`) names a file in one of `folders`, whose text is rendered instead."""

    extensions: tuple[str, ...]
    folders: tuple[str, ...]
    """The DAG file's folder, then the DAG's `template_searchpath`, as Airflow searches."""


def is_template(value: object) -> bool:
    """Whether `value` is a string that Jinja2 would change."""
    return isinstance(value, str) and any(marker in value for marker in _MARKERS)


def render(
    value: Any,
    context: Mapping[str, Any],
    *,
    task_id: str = "?",
    field: str = "?",
    files: TemplateFiles | None = None,
) -> Any:
    """Render `value` against `context`, recursing into lists, tuples, sets and dict values.

    Strings without `{{`, `{%` or `{#` come back unchanged, unless they end in one of `files`'
    extensions: then the file of that name is read from `files`' folders and rendered (at any
    depth, as Airflow's `template_ext`). `Resolvable` values are resolved and not rendered
    further; other objects come back as they are.

    Raises:
        TemplateFileNotFound: no folder has the file a string names.
        TemplateUndefined: the template uses a name the context lacks.
        TemplateRenderError: any other failure while rendering, naming task and field.
    """
    if isinstance(value, str):
        if files is not None and value.endswith(files.extensions):
            return _render_file(value, context, task_id, field, files.folders)
        return _render_string(value, context, task_id, field) if is_template(value) else value
    if isinstance(value, Resolvable):
        return value.resolve(context)

    def again(item: Any) -> Any:
        return render(item, context, task_id=task_id, field=field, files=files)

    if isinstance(value, list):
        return [again(item) for item in value]
    if isinstance(value, tuple):
        return tuple(again(item) for item in value)
    if isinstance(value, set | frozenset):
        return type(value)(again(item) for item in value)
    if isinstance(value, dict):
        return {k: again(v) for k, v in value.items()}
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


def _render_file(
    name: str, context: Mapping[str, Any], task_id: str, field: str, folders: tuple[str, ...]
) -> str:
    import jinja2

    def load() -> jinja2.Template:
        try:
            return _environment(folders).get_template(name)
        except jinja2.TemplateNotFound:
            raise TemplateFileNotFound(task_id, field, name, folders) from None

    return _rendered(load, context, task_id, field)


def _render_string(source: str, context: Mapping[str, Any], task_id: str, field: str) -> str:
    return _rendered(lambda: _compile(source), context, task_id, field)


def _rendered(
    load: Callable[[], jinja2.Template], context: Mapping[str, Any], task_id: str, field: str
) -> str:
    import jinja2

    try:
        return load().render(context)
    except TemplateRenderError:
        raise
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
    return _environment(()).from_string(source)


@functools.cache
def _environment(folders: tuple[str, ...]) -> jinja2.Environment:
    """Jinja2 as Airflow sets it up; with `folders`, it loads template files from them."""
    import jinja2

    loader = jinja2.FileSystemLoader(list(folders)) if folders else None
    env = jinja2.Environment(
        loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
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
