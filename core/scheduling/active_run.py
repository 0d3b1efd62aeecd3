"""The scheduler's in-memory copy of the runs it drives: each `ActiveRun` with its task
instances (`TI`) and how many are in each state. The store holds the truth; these mirror it
so that a transition needs no query."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flowtui.execution.base import AttemptKey
from flowtui.spec import DagSpec
from flowtui.states import FAILED_STATES, UNFINISHED, RunState, TaskState


class RunKey(NamedTuple):
    dag_id: str
    run_id: str


@dataclass
class TI:
    """The scheduler's copy of one task instance."""

    task_id: str
    state: TaskState
    try_number: int
    max_tries: int
    pid: int | None = None
    start_date: str | None = None
    log_path: str | None = None
    queued_at: str | None = None
    """When the current try was queued: with the log path it names the try's ticket."""
    kill_cause: str | None = None
    """Why the scheduler is stopping the live attempt (timeout, clear, mark); None otherwise."""


@dataclass
class ActiveRun:
    """A run that is queued or running, with its task instances and their state counts."""

    dag_id: str
    run_id: str
    run_type: str
    state: RunState
    logical_date: str
    data_interval_start: str | None
    data_interval_end: str | None
    conf: dict[str, Any]
    spec: DagSpec
    tis: dict[str, TI]
    counts: Counter[TaskState] = field(default_factory=Counter)
    prev_success: tuple[str | None, str | None] | None = None
    """Data interval of the DAG's latest earlier successful run, looked up once per run."""
    runner_pid: int | None = None
    """For a run of `dags test` or `dags backfill`: the process that drives it."""
    waiting_on_past: set[str] = field(default_factory=set)
    """Tasks held by depends_on_past until the previous run's instance succeeds."""

    @property
    def key(self) -> RunKey:
        return RunKey(self.dag_id, self.run_id)

    def attempt_key(self, ti: TI) -> AttemptKey:
        """The key of the task instance's current attempt."""
        return AttemptKey(self.dag_id, self.run_id, ti.task_id, ti.try_number)

    def ti_key(self, task_id: str) -> tuple[str, str, str]:
        """How the store's writes name a task instance: (dag_id, run_id, task_id)."""
        return self.dag_id, self.run_id, task_id

    @property
    def unfinished(self) -> int:
        return sum(self.counts[s] for s in UNFINISHED)

    def judge(self) -> RunState:
        """A finished run failed when a leaf task failed or is upstream_failed (DESIGN.md)."""
        leaves = [self.tis[t].state for t in self.spec.leaves if t in self.tis]
        return RunState.FAILED if any(s in FAILED_STATES for s in leaves) else RunState.SUCCESS
