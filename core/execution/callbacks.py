"""A callback job, as plain data: run a task's or a DAG's `on_success_callback`,
`on_failure_callback` or `on_retry_callback` for a state change the scheduler recorded, in a
process of its own (so that a callback that hangs, crashes or exits hurts neither the scheduler
nor an attempt), with a time limit; what the callables did comes back as a `CallbackReport`.

As in Airflow, the callables get the context of a task instance (for a DAG's callback, the one
that decided the run's state), with `exception` (an exception carrying the failure's one-line
cause) for a failure or a retry, and `reason` for a DAG's callback. Running them is
`callback_runner`'s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from flowtui.execution.base import AttemptInfo
from flowtui.loading.parse import Preload


class CallbackRequest(NamedTuple):
    """Run the `kind` callables of the task `info.task_id` (or, `dag_level`, of its DAG)."""

    file: str
    """The DAG file to import."""
    kind: str
    """One of `spec.CALLBACKS`."""
    info: AttemptInfo
    """The task instance whose context the callables get (its latest try)."""
    log_path: str
    """Where the callables' output goes (appended): the attempt's log, or the run's."""
    dag_level: bool = False
    error: str | None = None
    """The failure's one-line cause (`context["exception"]`), for a failure or a retry."""
    reason: str | None = None
    """A DAG's callback: why the run ended ("success", "task_failure", "timed_out")."""
    preload: Preload = ""
    timeout: float = 60.0
    """Seconds before the callback's process is killed."""

    @property
    def name(self) -> str:
        """How the callback is named in events and logs: `task.on_failure_callback`."""
        return f"{'dag' if self.dag_level else self.info.task_id}.{self.kind}"

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["info"] = self.info.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallbackRequest:
        return cls(**{**data, "info": AttemptInfo.from_json(data["info"])})


class CallbackReport(NamedTuple):
    """What the callables did: how many were called, and one line per one that raised."""

    called: int = 0
    errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"called": self.called, "errors": list(self.errors)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallbackReport:
        return cls(int(data.get("called", 0)), tuple(data.get("errors", ())))


class CallbackExit(NamedTuple):
    """How a callback job ended: its report (None when its process reported none: killed at
    the time limit, crashed, or lost with a fork server that died), its exit code."""

    report: CallbackReport | None
    exit_code: int | None
    timed_out: bool = False

    def describe(self, request: CallbackRequest) -> str:
        """One line for the events and the log: what became of the callback."""
        if self.timed_out:
            return f"{request.name} was stopped after {request.timeout:g} s"
        if self.report is None:
            code = "" if self.exit_code is None else f" (exit code {self.exit_code})"
            return f"{request.name} ended without reporting{code}"
        if self.report.errors:
            return f"{request.name} raised: {'; '.join(self.report.errors)}"
        return f"{request.name} ran ({self.report.called} callable(s))"


class CallbackRunner(Protocol):
    """Runs a callback job and calls `done` once it ended (the local fork server does)."""

    def run_callback(
        self, request: CallbackRequest, done: Callable[[CallbackExit], None]
    ) -> None: ...
