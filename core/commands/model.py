"""The commands: value types for everything a user may ask of a home (trigger, clear, mark,
pause, variables, pools), their JSON wire form, and the client protocol a dashboard or the CLI
sends them through; and what the home's scheduler says about itself (`SchedulerStatus`) with the
protocol the dashboard starts and stops it through. No engine imports: carrying them out is
`flowtui.scheduling.apply`'s job, running the scheduler `flowtui.scheduling.background`'s.
Named tuples, not frozen dataclasses: making one costs ~0.13 ms at start-up instead of ~1 ms, and
`dags test` imports them all. Nothing compares commands of two kinds (as tuples, equal values
would be equal); `_replace` and `_asdict` stand for `dataclasses.replace` and `asdict`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from flowtui.clock import parse_datetime
from flowtui.errors import CommandRejected, InvalidInput


class Trigger(NamedTuple):
    """Create a run of a DAG now (it starts when the scheduler has room for it)."""

    dag_id: str
    conf: dict[str, Any] | None = None
    logical_date: str | None = None
    """ISO date or datetime; None: now."""
    run_id: str | None = None
    """None: `<run_type>__<logical date>`."""
    run_type: str = "manual"
    """manual, or for the foreground commands: test, backfill."""
    data_interval_start: str | None = None
    data_interval_end: str | None = None
    """The run's data interval; None: what a manual run at `logical_date` covers."""
    runner_pid: int | None = None
    """The foreground process (`dags test`, `dags backfill`) that drives the run; None: the
    home's scheduler does."""
    replace: bool = False
    """Replace the run with the same id (`dags test` of a date tested before) if it finished,
    or if its foreground process died; never one whose attempts may still run."""


class Clear(NamedTuple):
    """Reset task instances so that they run again; run_id None means every run."""

    dag_id: str
    run_id: str | None = None
    task_regex: str | None = None
    downstream: bool = False
    upstream: bool = False
    only_failed: bool = False
    runner_pid: int | None = None
    """The foreground process (`dags backfill`) that drives the cleared runs; None: the home's
    scheduler does."""
    map_index: int | None = None
    """Only this instance of the mapped tasks `task_regex` matches (their upstream and
    downstream, and the unmapped tasks it matches, are cleared whole); None: every instance."""


class Mark(NamedTuple):
    """Set a task instance to success, failed or skipped by hand."""

    dag_id: str
    run_id: str
    task_id: str
    state: str
    map_index: int = -1
    """Which instance of a mapped task; -1 for an unmapped task."""


class MarkRun(NamedTuple):
    """Set a whole run to success or failed by hand, as Airflow's "mark run as": success marks
    every task instance that is not success or skipped success; failed marks the running ones
    failed and those not started skipped."""

    dag_id: str
    run_id: str
    state: str


class SetPaused(NamedTuple):
    """Pause (no new runs or tasks start) or unpause a DAG."""

    dag_id: str
    is_paused: bool


class SetVariable(NamedTuple):
    """Store a variable; a None description keeps the one it had."""

    key: str
    value: str
    description: str | None = None


class DeleteVariable(NamedTuple):
    """Remove a variable from the store."""

    key: str


class SetPool(NamedTuple):
    """Create a pool or change its slots; a None description keeps the one it had."""

    name: str
    slots: int
    description: str | None = None


class DeletePool(NamedTuple):
    """Remove a pool (never `default_pool`); tasks that name it fail when they would queue."""

    name: str


Command = (
    Trigger
    | Clear
    | Mark
    | MarkRun
    | SetPaused
    | SetVariable
    | DeleteVariable
    | SetPool
    | DeletePool
)
_KINDS: dict[str, type[Command]] = {
    "trigger": Trigger,
    "clear": Clear,
    "mark": Mark,
    "mark_run": MarkRun,
    "set_paused": SetPaused,
    "set_variable": SetVariable,
    "delete_variable": DeleteVariable,
    "set_pool": SetPool,
    "delete_pool": DeletePool,
}


def to_wire(command: Command) -> dict[str, Any]:
    name = next(k for k, v in _KINDS.items() if isinstance(command, v))
    return {"command": name, "args": command._asdict()}


def from_wire(data: dict[str, Any]) -> Command:
    kind = _KINDS.get(data.get("command", ""))
    if kind is None:
        raise CommandRejected(f"unknown command {data.get('command')!r}")
    try:
        return kind(**data.get("args", {}))
    except TypeError as exc:
        raise CommandRejected(f"malformed {data['command']} command: {exc}") from None


def user_date(text: str, what: str = "logical date") -> datetime:
    """A date or ISO datetime a user gave (naive means UTC), for a command or an option.

    Raises:
        InvalidInput: naming `what` and the form to use.
    """
    try:
        return parse_datetime(text)
    except ValueError:
        raise InvalidInput(
            what, text, "use an ISO date such as 2024-03-01 or 2024-03-01T06:00:00"
        ) from None


def default_actor(via: str) -> str:
    """Who is acting, for the audit trail: the interface and the OS user."""
    import getpass  # only for the audit trail of a command that is sent

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{via}:{user}"


class CommandClient(Protocol):
    """Something that carries a command to whoever applies it and returns its result."""

    def send(self, command: Command) -> dict[str, Any]: ...


class SchedulerState(StrEnum):
    """Why the home's scheduler gives no status: none runs, or it does not answer yet / any more."""

    NOT_RUNNING = "not running"
    STARTING = "starting"
    """It holds the home's lock and loads the DAG folder before it answers commands."""
    STOPPING = "stopping"
    """It was sent SIGTERM and stops its attempts."""


class SchedulerStatus(NamedTuple):
    """What the home's running scheduler says about itself (`flowtui scheduler status`)."""

    pid: int
    started_at: str
    """ISO datetime, UTC."""
    running_attempts: int
    home: str
    dags_folder: str
    executor: str = "local"
    """Where attempts run: "local" or "dask"."""
    dask_address: str | None = None
    """With "dask": the cluster's scheduler address."""
    dask_workers: int | None = None
    """With "dask": how many workers the cluster has now (None: it did not answer)."""
    dask_problem: str | None = None
    """With "dask": why attempts cannot go to the cluster now (unreachable, refused: one line
    naming the address); None when they can."""

    def executor_text(self) -> str:
        """ "local", or "dask at tcp://10.0.0.5:8786, 2 worker(s)", or what keeps attempts
        from the cluster."""
        if self.executor != "dask":
            return self.executor
        if self.dask_problem:
            return f"dask, not connected: {self.dask_problem}"
        workers = "not answering" if self.dask_workers is None else f"{self.dask_workers} worker(s)"
        return f"dask at {self.dask_address}, {workers}"


class SchedulerControl(Protocol):
    """The home's scheduler as a dashboard sees it: which one serves the home, starting one
    when none does, stopping it. Each call may block (processes, sockets): call from a worker."""

    @property
    def started_here(self) -> bool:
        """This process started the scheduler that runs now."""
        ...

    def probe(self) -> SchedulerStatus | SchedulerState: ...

    def ensure_running(self) -> None:
        """Start a scheduler in the background unless one runs, and wait until it answers."""
        ...

    def stop(self) -> int:
        """Stop the home's scheduler (its attempts too), wait until it exited; its PID."""
        ...
