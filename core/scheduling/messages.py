"""What arrives in the scheduler's inbox: executor events, commands, timers that came due,
changed DAG files, callbacks that ended, and the request to stop. The loop handles them in
batches, one store transaction per batch. Named tuples, as the executor's events are: making
one costs ~0.13 ms at start-up, a frozen dataclass ~1 ms. Nothing compares messages of two
kinds (as tuples, equal values would be equal)."""

from __future__ import annotations

import json
from concurrent.futures import Future
from typing import Any, NamedTuple

from flowtui.commands.model import Command
from flowtui.execution.base import AttemptKey, ExecutorEvent
from flowtui.execution.callbacks import CallbackExit, CallbackRequest


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


class RescheduleDue(NamedTuple):
    """A sensor waiting between pokes is due: its time came, or what it waits for happened."""

    attempt: AttemptKey


class DeadlineDue(NamedTuple):
    """A run's `dagrun_timeout` passed (`task_id` None), or a task's `sla` (`scheduling.
    deadlines`)."""

    dag_id: str
    run_id: str
    task_id: str | None = None


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


class CallbackEnded(NamedTuple):
    """A message for the loop: record how a callback ended."""

    request: CallbackRequest
    exit: CallbackExit

    def event_detail(self) -> str:
        report = self.exit.report
        return json.dumps(
            {
                "callback": self.request.kind,
                "dag_level": self.request.dag_level,
                "called": report.called if report else None,
                "errors": list(report.errors) if report else None,
                "timed_out": self.exit.timed_out,
                "exit_code": self.exit.exit_code,
                "outcome": self.exit.describe(self.request),
            }
        )


Message = (
    ExecutorEvent
    | CommandSent
    | RetryDue
    | RescheduleDue
    | DeadlineDue
    | TimeoutDue
    | EscalateDue
    | ScheduleDue
    | FilesChanged
    | Stop
    | CallbackEnded
)
