"""The executor contract. The scheduler hands an executor a plain-data `AttemptRequest` and
learns what became of it from events: `AttemptStarted`, then exactly one `AttemptExited`
(with the child's `AttemptOutcome`, when it reported one), or `ExecutorDied` when the executor
itself is gone. The local fork-server executor implements it; the scheduler never knows which
executor runs an attempt.

The values are named tuples: immutable like frozen dataclasses, and several times cheaper to
make, which shows on the path between one task's end and the next one's start."""

from __future__ import annotations

import signal
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from flowtui.loading.parse import Preload
from flowtui.spec import DEFAULT_QUEUE
from flowtui.states import TaskState

_PRELOADS: dict[object, Preload] = {"server": "server", "template": "template"}


class AttemptKey(NamedTuple):
    """One try of one task instance: unique for the life of a home. A named tuple: it is a
    dict key made and hashed several times on the path from one task's end to the next one's
    start."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    map_index: int = -1
    """Which instance of a mapped task; -1 for an unmapped task, as in Airflow."""

    def __str__(self) -> str:
        mapped = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}.{self.task_id}{mapped} {self.run_id} try {self.try_number}"


class AttemptInfo(NamedTuple):
    """Which attempt to run and what its context is built from; the scheduler builds it, the
    child reads it. Dates are ISO-8601 text, as the store keeps them."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    max_tries: int
    logical_date: str
    data_interval_start: str | None
    data_interval_end: str | None
    run_type: str
    conf: dict[str, Any]
    db_path: str
    prev_success: tuple[str | None, str | None] | None = None
    """Data interval (start, end) of the DAG's latest earlier successful run, when the
    scheduler already looked it up ((None, None): there is none); None: look it up here."""
    sensing_since: str | None = None
    """A sensor rescheduled before in this try: when its first poke started (its `timeout`
    counts from there); None for its first poke and for every other task."""
    map_index: int = -1
    """Which instance of a mapped task (`ti.map_index`); -1 for an unmapped task."""

    @property
    def key(self) -> AttemptKey:
        return AttemptKey(self.dag_id, self.run_id, self.task_id, self.try_number, self.map_index)

    def to_json(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttemptInfo:
        data = dict(data)
        if data.get("prev_success") is not None:
            data["prev_success"] = tuple(data["prev_success"])
        return cls(**data)


class AttemptRequest(NamedTuple):
    """Everything an executor needs to run one attempt, as plain data."""

    info: AttemptInfo
    file: str
    """The DAG file to import."""
    log_path: str
    """Where the attempt's stdout and stderr go."""
    runs_bash: bool = False
    """The attempt execs bash and its exit code is the outcome (BashOperator)."""
    preload: Preload = ""
    """Where the DAG file is imported before the attempt forks (see `Preload`)."""
    queued_at: str = ""
    """When the scheduler queued this try (as stored): with the log path, it names the try's
    ticket (`execution.ticket`), so that an earlier run with the same id is not mistaken for
    it."""
    kill_grace: float = 5.0
    """Seconds between SIGTERM and SIGKILL for processes the task leaves behind."""
    queue: str = DEFAULT_QUEUE
    """The task's `queue`: the Dask worker resource the attempt needs (DEFAULT_QUEUE: none)."""
    executor: str | None = None
    """The task's `executor` ("local" or "dask"), None for the home's. This and `queue` say
    where the attempt runs: read on the scheduler's side, not sent with the attempt."""

    @property
    def key(self) -> AttemptKey:
        return self.info.key

    def to_json(self) -> dict[str, Any]:
        return {
            "info": self.info.to_json(),
            "file": self.file,
            "log_path": self.log_path,
            "runs_bash": self.runs_bash,
            "preload": self.preload,
            "queued_at": self.queued_at,
            "kill_grace": self.kill_grace,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttemptRequest:
        return cls(
            AttemptInfo.from_json(data["info"]),
            data["file"],
            data["log_path"],
            bool(data["runs_bash"]),
            _PRELOADS.get(data["preload"], ""),
            data.get("queued_at", ""),
            float(data.get("kill_grace", 5.0)),
        )


class AttemptOutcome(NamedTuple):
    """How an attempt ended: what the child reports, or what the scheduler concludes from the
    exit of a child that reported nothing (bash, a crash, a kill)."""

    state: TaskState
    """success, skipped, failed, or up_for_reschedule (a sensor in reschedule mode)."""
    cause: str | None = None
    """One line for the store; a traceback went to the attempt's log."""
    no_retry: bool = False
    """True after FailTask: the task fails now, whatever retries remain."""
    xcom: Mapping[str, Any] = MappingProxyType({})
    """key -> JSON-able value: ti.xcom_push calls and the return value ("return_value")."""
    skip_task_ids: tuple[str, ...] = ()
    """Tasks to set to skipped (branching, short-circuit)."""
    exit_code: int | None = None
    """The process's exit code (< 0: the signal that killed it); None inside the child."""
    reschedule_at: str | None = None
    """up_for_reschedule: when the sensor pokes again (ISO-8601, UTC)."""
    wake: tuple[tuple[str, str], ...] = ()
    """up_for_reschedule: what may wake it earlier, as (kind, what) pairs: ("path", a glob
    whose match appearing ends its wait), ("dag", a DAG id whose state changes do)."""
    asset_events: tuple[tuple[str, dict[str, Any] | None, tuple[str, ...]], ...] = ()
    """success: the asset events to record, as (uri, extra, aliases it came through), when the
    child reported them; empty: the spec's outlets, without extra."""
    rendered: Mapping[str, Any] = MappingProxyType({})
    """The task's templated fields as this attempt rendered them, masked
    (`execution.rendered_fields`); empty when rendering did not happen or failed."""
    retry_delay: float | None = None
    """failed: seconds before the retry, when the task's `retry_policy` chose them; None: the
    task's `retry_delay` and backoff."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "state": self.state.value,
            "cause": self.cause,
            "no_retry": self.no_retry,
            "xcom": dict(self.xcom),
            "skip_task_ids": list(self.skip_task_ids),
            "exit_code": self.exit_code,
        }
        if self.reschedule_at is not None:
            data["reschedule_at"] = self.reschedule_at
            data["wake"] = [list(pair) for pair in self.wake]
        if self.asset_events:
            data["asset_events"] = [[u, x, list(a)] for u, x, a in self.asset_events]
        if self.rendered:
            data["rendered"] = dict(self.rendered)
        if self.retry_delay is not None:
            data["retry_delay"] = self.retry_delay
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], exit_code: int | None = None) -> AttemptOutcome:
        """The outcome a child wrote; `exit_code`, when given, is how its process ended."""
        return cls(
            TaskState(data["state"]),
            data.get("cause"),
            bool(data.get("no_retry", False)),
            dict(data.get("xcom") or {}),
            tuple(data.get("skip_task_ids") or ()),
            data.get("exit_code") if exit_code is None else exit_code,
            data.get("reschedule_at"),
            tuple((str(kind), str(what)) for kind, what in data.get("wake") or ()),
            tuple((str(u), x, tuple(a)) for u, x, a in data.get("asset_events") or ()),
            dict(data.get("rendered") or {}),
            data.get("retry_delay"),
        )


def bash_exit_outcome(code: int, skip_exit_codes: Collection[int]) -> AttemptOutcome:
    """A bash task's outcome from its exit code: 0 success, a skip code skipped, else failed."""
    if code == 0:
        return AttemptOutcome(TaskState.SUCCESS, exit_code=code)
    if code in skip_exit_codes:
        return AttemptOutcome(
            TaskState.SKIPPED, f"bash exited with {code}: skipped", exit_code=code
        )
    return AttemptOutcome(TaskState.FAILED, f"bash {describe_exit(code)}", exit_code=code)


def describe_exit(code: int | None) -> str:
    """ "exited with code 3", "was killed by SIGKILL"."""
    if code is None:
        return "ended"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


class AttemptStarted(NamedTuple):
    key: AttemptKey
    pid: int
    """The attempt's first process; it leads its own session and process group."""
    at: datetime


class AttemptExited(NamedTuple):
    key: AttemptKey
    at: datetime
    exit_code: int
    """< 0: the signal that killed it."""
    outcome: AttemptOutcome | None
    """What the child reported, with `exit_code`; None when it reported nothing (bash, a
    crash, a kill)."""


class ExecutorDied(NamedTuple):
    """The executor gave up (its fork server keeps dying): the scheduler stops. The attempts
    it had are not reported: they run on, durable, for the next scheduler to adopt."""

    reason: str


ExecutorEvent = AttemptStarted | AttemptExited | ExecutorDied


class Executor(Protocol):
    """Runs attempts, each in a process group of its own, and reports on them."""

    def listen(self, on_event: Callable[[ExecutorEvent], None]) -> None:
        """Deliver every event to `on_event` (called on the executor's own thread)."""

    def start(self) -> None:
        """Get ready to run attempts (again, after `ExecutorDied`)."""

    @property
    def is_started(self) -> bool: ...

    def submit(self, request: AttemptRequest) -> None:
        """Start one attempt; its events follow."""

    def stop_attempt(self, key: AttemptKey, *, force: bool) -> bool:
        """Ask a live attempt's whole process group to stop (SIGTERM; SIGKILL with `force`).
        Returns False when the executor has no such attempt (it ended, or was never its)."""

    def stop(self, *, leave_attempts: bool = False) -> None:
        """Stop the executor; attempts still running are killed (callers stop them first),
        or left running with `leave_attempts` (they are durable: a new scheduler adopts
        them)."""
