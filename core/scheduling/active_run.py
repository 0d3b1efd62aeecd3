"""The scheduler's in-memory copy of the runs it drives: each `ActiveRun` with its task
instances (`TI`) and how many are in each state. The store holds the truth; these mirror it
so that a transition needs no query."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, NamedTuple

from flowtui.execution.base import AttemptKey
from flowtui.records import Record
from flowtui.spec import DagSpec
from flowtui.states import FAILED_STATES, UNFINISHED, RunState, TaskState


class RunKey(NamedTuple):
    dag_id: str
    run_id: str


class TI(Record):
    """The scheduler's copy of one task instance."""

    __slots__ = _fields = (
        "task_id",
        "state",
        "try_number",
        "max_tries",
        "pid",
        "start_date",
        "log_path",
        "queued_at",
        "kill_cause",
        "sensing_since",
        "map_index",
    )

    def __init__(
        self,
        task_id: str,
        state: TaskState,
        try_number: int,
        max_tries: int,
        pid: int | None = None,
        start_date: str | None = None,
        log_path: str | None = None,
        queued_at: str | None = None,
        kill_cause: str | None = None,
        sensing_since: str | None = None,
        map_index: int = -1,
    ) -> None:
        self.task_id = task_id
        self.state = state
        self.try_number = try_number
        self.max_tries = max_tries
        self.pid = pid
        self.start_date = start_date
        self.log_path = log_path
        self.queued_at = queued_at
        """When the current try was queued: with the log path it names the try's ticket."""
        self.kill_cause = kill_cause
        """Why the scheduler is stopping the live attempt (timeout, clear, mark); None
        otherwise."""
        self.sensing_since = sensing_since
        """A sensor in reschedule mode: when its try's first poke started (its next poke is the
        same try); None otherwise."""
        self.map_index = map_index
        """Which instance of a mapped task; -1 for an unmapped one (or one not expanded yet)."""


class ActiveRun(Record):
    """A run that is queued or running, with its task instances and their state counts."""

    __slots__ = _fields = (
        "dag_id",
        "run_id",
        "run_type",
        "state",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "conf",
        "spec",
        "tis",
        "counts",
        "prev_success",
        "runner_pid",
        "waiting_on_past",
        "mapped",
    )

    def __init__(
        self,
        dag_id: str,
        run_id: str,
        run_type: str,
        state: RunState,
        logical_date: str,
        data_interval_start: str | None,
        data_interval_end: str | None,
        conf: dict[str, Any],
        spec: DagSpec,
        tis: dict[str, TI],
        counts: Counter[TaskState] | None = None,
        prev_success: tuple[str | None, str | None] | None = None,
        runner_pid: int | None = None,
        waiting_on_past: set[str] | None = None,
        mapped: dict[str, list[TI]] | None = None,
    ) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.run_type = run_type
        self.state = state
        self.logical_date = logical_date
        self.data_interval_start = data_interval_start
        self.data_interval_end = data_interval_end
        self.conf = conf
        self.spec = spec
        self.tis = tis
        self.counts: Counter[TaskState] = Counter() if counts is None else counts
        self.prev_success = prev_success
        """Data interval of the DAG's latest earlier successful run, looked up once per run."""
        self.runner_pid = runner_pid
        """For a run of `dags test` or `dags backfill`: the process that drives it."""
        self.waiting_on_past: set[str] = set() if waiting_on_past is None else waiting_on_past
        """Tasks held by depends_on_past until the previous run's instance succeeds."""
        self.mapped: dict[str, list[TI]] = {} if mapped is None else mapped
        """The instances of each expanded mapped task, by map_index (`tis` holds a mapped task
        only until it expands, as its instance -1)."""

    @property
    def key(self) -> RunKey:
        return RunKey(self.dag_id, self.run_id)

    def attempt_key(self, ti: TI) -> AttemptKey:
        """The key of the task instance's current attempt."""
        return AttemptKey(self.dag_id, self.run_id, ti.task_id, ti.try_number, ti.map_index)

    def ti_key(self, ti: TI) -> tuple[str, str, str, int]:
        """How the store's writes name a task instance: (dag_id, run_id, task_id, map_index)."""
        return self.dag_id, self.run_id, ti.task_id, ti.map_index

    def ti(self, task_id: str, map_index: int = -1) -> TI | None:
        """One task instance, or None."""
        if map_index < 0:
            return self.tis.get(task_id)
        instances = self.mapped.get(task_id)
        return instances[map_index] if instances and map_index < len(instances) else None

    def instances(self, task_id: str) -> list[TI]:
        """The task's instances: its expanded ones, else its one (none when it has none)."""
        ti = self.tis.get(task_id)
        return [ti] if ti is not None else self.mapped.get(task_id, [])

    def task_ids(self) -> list[str]:
        """The ids of the tasks the run has instances of."""
        return [*self.tis, *self.mapped]

    def all_tis(self) -> Iterator[TI]:
        """Every task instance of the run."""
        yield from self.tis.values()
        for instances in self.mapped.values():
            yield from instances

    @property
    def unfinished(self) -> int:
        return sum(self.counts[s] for s in UNFINISHED)

    def judge(self) -> RunState:
        """A finished run failed when a leaf task failed or is upstream_failed (DESIGN.md);
        each instance of a mapped leaf counts."""
        leaves = (ti.state for t in self.spec.leaves for ti in self.instances(t))
        return RunState.FAILED if any(s in FAILED_STATES for s in leaves) else RunState.SUCCESS
