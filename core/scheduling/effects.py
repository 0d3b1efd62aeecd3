"""What a transition of the run book asks of the world beyond the store, carried out by the
scheduler service once the transaction that made it has committed: stopping an attempt, a
retry timer, a line in an attempt's log, refreshing the secret-variables marker, an alert, a
callback. Named tuples: making one costs ~0.13 ms at start-up, a frozen dataclass ~1 ms.
Nothing compares effects of two kinds (as tuples, equal values would be equal)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from flowtui.execution.base import AttemptKey
from flowtui.notify.notice import Notice

if TYPE_CHECKING:
    from flowtui.scheduling.active_run import ActiveRun


class KillAttempt(NamedTuple):
    """Stop a live attempt; its exit is then recorded with `cause`."""

    attempt: AttemptKey
    cause: str
    log_path: str | None
    pid: int | None
    """The attempt's process group, for an attempt this scheduler's executor did not start
    (one a `dags test` process runs, or one running while no scheduler does)."""
    started: str | None = None
    """When it started (as stored): a PID reused since is not signalled."""


class RetryAt(NamedTuple):
    """`attempt` failed and its task instance waits to retry: schedule it at `when`."""

    attempt: AttemptKey
    when: datetime


class RescheduleAt(NamedTuple):
    """A sensor's poke found its condition unmet: poke again at `when`, or when one of `wake`
    happens (`AttemptOutcome.wake`)."""

    attempt: AttemptKey
    when: datetime
    wake: tuple[tuple[str, str], ...] = ()
    since: datetime | None = None
    """When the poke that found the condition unmet started: what happened since wakes it."""


class LogLine(NamedTuple):
    """Append a `[flowtui]` line to an attempt's log."""

    path: str
    text: str


class RefreshSecretMarker(NamedTuple):
    """A variable was deleted: the secret-variables marker may have to go."""


class SendAlert(NamedTuple):
    """Tell whoever wants to know (the task's email, webhooks) of `notice`; delivered off the
    loop thread (`alert_delivery`), so that it cannot slow the scheduler."""

    notice: Notice


class RunCallback(NamedTuple):
    """Run the `kind` callback of task `task_id` (or, `dag_level`, of the run's DAG) with the
    context of that task instance's try `try_number`; in a process of its own
    (`scheduling.callbacks`)."""

    run: ActiveRun
    task_id: str
    try_number: int
    max_tries: int
    log_path: str | None
    """The try's log (a task's callback writes there)."""
    kind: str
    dag_level: bool = False
    error: str | None = None
    reason: str | None = None
    map_index: int = -1


Effect = (
    KillAttempt | RetryAt | RescheduleAt | LogLine | RefreshSecretMarker | SendAlert | RunCallback
)
