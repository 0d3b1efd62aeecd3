"""An attempt handed to the Dask executor: what the executor knows of it until its exit is
reported, and how that exit reads as an `AttemptOutcome`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowtui.execution.base import AttemptKey, AttemptOutcome, AttemptRequest
from flowtui.execution.dask.worker import RemoteExit
from flowtui.execution.ticket import TicketState
from flowtui.states import TaskState

if TYPE_CHECKING:
    from distributed import Client, Future


class HandedAttempt:
    """One attempt handed to this executor, until its exit is reported."""

    __slots__ = (
        "client",
        "dataset",
        "future",
        "is_started",
        "log_name",
        "name",
        "pid",
        "request",
        "started_at",
        "stop_signal",
    )

    def __init__(self, request: AttemptRequest, dataset: str) -> None:
        self.request = request
        self.dataset = dataset
        self.name = ""
        """Its Dask key once submitted (also the prefix of its stop events)."""
        self.future: Future[RemoteExit] | None = None
        """Held until the exit: Dask forgets (and cancels) a task whose futures are all gone."""
        self.client: Client | None = None
        """The client its future belongs to (the connection it was handed over on, which may
        still be handing over others)."""
        self.is_started = False
        self.log_name = ""
        """The Dask key whose log pieces `LogSink` writes to its log ("": none)."""
        self.pid: int | None = None
        self.started_at = 0.0
        self.stop_signal: int | None = None
        """The strongest stop asked for (SIGTERM, SIGKILL): its stop events were set, or are
        set once it is connected again."""

    @property
    def key(self) -> AttemptKey:
        return self.request.key


def unreported_exit(
    signum: int, result: dict[str, Any] | None = None, *, log_pieces: int | None = 0
) -> RemoteExit:
    """The exit of an attempt no worker reported one for: stopped by `signum` before it was
    handed over or while its future was cancelled, or failed here (`result`; its log pieces
    then unknown)."""
    return RemoteExit("", None, 0, 0, -signum, result, log_pieces)


def exit_outcome(ended: RemoteExit) -> AttemptOutcome | None:
    """The outcome the attempt reported, with how its process ended; a try its ticket declined
    (it ran, or runs, elsewhere) fails with what the ticket says."""
    result = ended.result
    if result is None:
        return None
    if "declined" not in result:
        return AttemptOutcome.from_json(result, ended.exit_code)
    state = TicketState.from_json(result["declined"])
    if not result["conflict"] and not state.held and state.outcome is not None:
        return AttemptOutcome.from_json(state.outcome)
    cause = result["conflict"] or "this try already runs elsewhere (its ticket is held)"
    return AttemptOutcome(TaskState.FAILED, cause, exit_code=ended.exit_code)
