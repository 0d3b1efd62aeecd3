"""`get_current_context()`: the context of the task attempt (or callback) running in this
process, as Airflow's, for code that is not handed it. The attempt runner
(`flowtui.execution.task_runner`) and the callback runner set it around what they call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flowtui.authoring.exceptions import AirflowException

_contexts: list[dict[str, Any]] = []


class NoCurrentContext(AirflowException, RuntimeError):
    """`get_current_context()` outside a running task. Both Airflow 2's AirflowException and
    Airflow 3's RuntimeError, so that either `except` catches it."""

    def __init__(self) -> None:
        super().__init__(
            "Current context was requested but no context was found! "
            "Are you running within an Airflow task?"
        )


def get_current_context() -> dict[str, Any]:
    """The context of the running task (`ti`, `ds`, `params`, ...): the same dict its
    callable receives.

    Raises:
        NoCurrentContext: no task (or callback) runs in this process, e.g. at the top of a
            DAG file while it is imported.
    """
    if not _contexts:
        raise NoCurrentContext
    return _contexts[-1]


@contextlib.contextmanager
def set_current_context(context: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Make `context` the current one while the block runs."""
    _contexts.append(context)
    try:
        yield context
    finally:
        _contexts.pop()
