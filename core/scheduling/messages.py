"""What arrives in the scheduler's inbox: executor events, commands, timers that came due,
changed DAG files, and the request to stop. The loop handles them in batches, one store
transaction per batch. Named tuples, as the executor's events are: making one costs ~0.13 ms
at start-up, a frozen dataclass ~1 ms. Nothing compares messages of two kinds (as tuples,
equal values would be equal)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, NamedTuple

from flowtui.commands.model import Command
from flowtui.execution.base import AttemptKey, ExecutorEvent


class CommandSent(NamedTuple):
    """A command to apply; its result or error goes back through `reply`."""

    command: Command
    actor: str
    reply: Future[dict[str, Any]]


class RetryDue(NamedTuple):
    """The retry delay after `attempt` failed has passed."""

    attempt: AttemptKey


class TimeoutDue(NamedTuple):
    """The attempt's execution_timeout, `seconds`, has passed (carried here: a hot reload
    may have taken the task out of the DAG since)."""

    attempt: AttemptKey
    seconds: float


class EscalateDue(NamedTuple):
    """The attempt got SIGTERM a grace period ago: SIGKILL it if it still runs."""

    attempt: AttemptKey


class ScheduleDue(NamedTuple):
    """A DAG's timetable says a run may be due."""

    dag_id: str


class FilesChanged(NamedTuple):
    paths: frozenset[str]


class Stop(NamedTuple):
    pass


Message = (
    ExecutorEvent
    | CommandSent
    | RetryDue
    | TimeoutDue
    | EscalateDue
    | ScheduleDue
    | FilesChanged
    | Stop
)
