"""What arrives in the scheduler's inbox: executor events, commands, timers that came due,
changed DAG files, and the request to stop. The loop handles them in batches, one store
transaction per batch."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from flowtui.commands.model import Command
from flowtui.execution.base import AttemptKey, ExecutorEvent


@dataclass(frozen=True)
class CommandSent:
    """A command to apply; its result or error goes back through `reply`."""

    command: Command
    actor: str
    reply: Future[dict[str, Any]]


@dataclass(frozen=True)
class RetryDue:
    """The retry delay after `attempt` failed has passed."""

    attempt: AttemptKey


@dataclass(frozen=True)
class TimeoutDue:
    """The attempt's execution_timeout, `seconds`, has passed (carried here: a hot reload
    may have taken the task out of the DAG since)."""

    attempt: AttemptKey
    seconds: float


@dataclass(frozen=True)
class EscalateDue:
    """The attempt got SIGTERM a grace period ago: SIGKILL it if it still runs."""

    attempt: AttemptKey


@dataclass(frozen=True)
class ScheduleDue:
    """A DAG's timetable says a run may be due."""

    dag_id: str


@dataclass(frozen=True)
class FilesChanged:
    paths: frozenset[str]


@dataclass(frozen=True)
class Stop:
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
