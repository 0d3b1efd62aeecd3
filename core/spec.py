"""Plain-data descriptions of DAGs and tasks: what the loader sends from the child that imported
a DAG file to the store and the scheduler, which never import user code themselves, and what
the dashboard draws. The shared contract between loading, store, scheduling and dashboard, so it
sits below all of them and imports nothing of flowtui.

Named tuples, not frozen dataclasses: making the two classes costs ~0.3 ms at start-up instead
of ~2.5 ms, and making a value is cheaper too (one per task of every DAG parsed). Nothing
compares a spec with another tuple; `_replace` stands for `dataclasses.replace`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, NamedTuple

DEFAULT_QUEUE = "default"
"""A task's `queue` unless it names one (Airflow's `default_queue`): no worker resource."""

CALLBACKS = ("on_success_callback", "on_failure_callback", "on_retry_callback")
"""The callbacks the scheduler runs as callback jobs (`execution.callbacks`); a DAG has the
first two. `on_execute_callback` runs in the attempt itself."""


class TaskSpec(NamedTuple):
    """What the scheduler needs to know of one task; durations are in seconds."""

    task_id: str
    operator: str
    upstream: tuple[str, ...] = ()
    downstream: tuple[str, ...] = ()
    trigger_rule: str = "all_success"
    retries: int = 0
    retry_delay: float = 300.0
    retry_exponential_backoff: bool = False
    max_retry_delay: float | None = None
    execution_timeout: float | None = None
    depends_on_past: bool = False
    pool: str = "default_pool"
    pool_slots: int = 1
    """Slots of `pool` an attempt of the task holds while it runs."""
    priority_weight: int = 1
    queue: str = DEFAULT_QUEUE
    """The Dask worker resource an attempt of the task needs; DEFAULT_QUEUE: none."""
    executor: str | None = None
    """"local" or "dask": where the task's attempts run, whatever the home's executor; None:
    the home's."""
    runs_bash: bool = False
    """True when the attempt execs bash and its exit code is the outcome (BashOperator)."""
    skip_exit_codes: tuple[int, ...] = ()
    """Exit codes of a bash task that make it skipped (Airflow's skip_on_exit_code)."""
    outlets: tuple[str, ...] = ()
    """URIs of the assets among the task's outlets: their events are recorded when it succeeds
    (a Python task reports them itself, with extras and alias events, in its outcome)."""
    doc_md: str | None = None
    email: tuple[str, ...] = ()
    """Addresses that get the task's failure and retry mail (Airflow's `email`)."""
    email_on_failure: bool = True
    email_on_retry: bool = True
    callbacks: tuple[str, ...] = ()
    """Which of on_success/on_failure/on_retry_callback the task has (the scheduler runs
    them, `execution.callbacks`)."""
    sla: float | None = None
    """Seconds after a scheduled run's data interval ends by which the task should be done."""
    sensor_mode: str | None = None
    """A sensor's mode ("poke" or "reschedule"); None for any other task."""
    map_over: tuple[int | tuple[str, str], ...] | None = None
    """A mapped task (`.expand()`, `.expand_kwargs()`): what its instances are counted from, a
    literal's length or an upstream's (task_id, XCom key); it gets one instance per element of
    their cross product. None for an unmapped task."""
    max_active_tis_per_dag: int | None = None
    """At most this many of the task's instances run at once, across runs (Airflow's)."""
    max_active_tis_per_dagrun: int | None = None
    """At most this many of the task's instances run at once in one run (Airflow's)."""
    is_setup: bool = False
    is_teardown: bool = False
    on_failure_fail_dagrun: bool = False
    """A teardown whose failure fails the run (teardowns are no leaves of the run otherwise)."""
    indirect_setups: tuple[str, ...] = ()
    """The relevant setups above a task that are not its direct upstream (Airflow's setup
    constraint: it waits for them to succeed); () for a teardown."""
    external_task_marker: tuple[str, str, int] | None = None
    """An `ExternalTaskMarker`'s (external_dag_id, external_task_id, recursion_depth):
    clearing it clears that task of the other DAG's run of the same logical date."""
    owner: str = "flowtui"
    """Who owns the task (Airflow's `owner`); a DAG's owners are its tasks' (its screen)."""
    display_name: str | None = None
    """Airflow's `task_display_name`, shown instead of the id (which stays the key); None when
    the task has none."""
    task_groups: tuple[str, ...] = ()
    """The task groups the task is in, outermost first, by full group id (`("extract",
    "extract.nested")`); () for a task in none. The dashboard groups its rows by them (a group
    without `prefix_group_id` gives no dotted id to read); the scheduler never reads it."""

    @property
    def is_mapped(self) -> bool:
        return self.map_over is not None

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, in definition order (what `dataclasses.asdict` gave: every
        value is immutable, so none is copied)."""
        return dict(zip(self._fields, self, strict=True))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        data = dict(data)
        data["upstream"] = tuple(data.get("upstream", ()))
        data["downstream"] = tuple(data.get("downstream", ()))
        data["skip_exit_codes"] = tuple(data.get("skip_exit_codes", ()))
        data["outlets"] = tuple(data.get("outlets", ()))
        data["email"] = tuple(data.get("email", ()))
        data["callbacks"] = tuple(data.get("callbacks", ()))
        if data.get("map_over") is not None:
            data["map_over"] = tuple(s if type(s) is int else tuple(s) for s in data["map_over"])
        data["indirect_setups"] = tuple(data.get("indirect_setups", ()))
        data["task_groups"] = tuple(data.get("task_groups", ()))
        if data.get("external_task_marker") is not None:
            dag_id, task_id, depth = data["external_task_marker"]
            data["external_task_marker"] = (dag_id, task_id, depth)
        return cls(**data)


class _DagFields(NamedTuple):
    dag_id: str
    fileloc: str
    tasks: dict[str, TaskSpec]
    schedule: Any
    """None, a preset or cron string, or {"timedelta": seconds}, or assets: {"datasets": [uri,
    ...]} (all of them), or with a "condition" and, for AssetOrTimeSchedule, a "timetable"
    (`scheduling.timetables.assets`)."""
    start_date: str | None
    end_date: str | None
    timezone: str
    catchup: bool
    max_active_runs: int
    max_active_tasks: int
    dagrun_timeout: float | None
    description: str
    tags: tuple[str, ...]
    params: dict[str, Any]
    doc_md: str | None
    callbacks: tuple[str, ...]
    """Which of on_success/on_failure_callback the DAG has."""
    labels: dict[str, dict[str, str]]
    """Edge labels (`Label`): upstream task id -> downstream task id -> text."""
    param_schemas: dict[str, dict[str, Any]]
    """The JSON schema of each DAG param given as a `Param` (`params` holds the defaults; a
    param here but not there is required); plain-value params have none. {} for older specs."""
    display_name: str | None
    """Airflow's `dag_display_name`, shown instead of the id (which stays the key); None when
    the DAG has none."""


class DagSpec(_DagFields):
    """What the scheduler needs to know of one DAG; `tasks` keeps definition order. Its
    `__new__` gives the defaults, a new dict each for `tasks`, `params`, `labels` and
    `param_schemas` (a named tuple's own defaults would be one dict shared by every spec)."""

    __slots__ = ()

    def __new__(
        cls,
        dag_id: str,
        fileloc: str,
        tasks: dict[str, TaskSpec] | None = None,
        schedule: Any = None,
        start_date: str | None = None,
        end_date: str | None = None,
        timezone: str = "UTC",
        catchup: bool = False,
        max_active_runs: int = 1,
        max_active_tasks: int = 16,
        dagrun_timeout: float | None = None,
        description: str = "",
        tags: tuple[str, ...] = (),
        params: dict[str, Any] | None = None,
        doc_md: str | None = None,
        callbacks: tuple[str, ...] = (),
        labels: dict[str, dict[str, str]] | None = None,
        param_schemas: dict[str, dict[str, Any]] | None = None,
        display_name: str | None = None,
    ) -> DagSpec:
        return tuple.__new__(
            cls,
            (
                dag_id,
                fileloc,
                {} if tasks is None else tasks,
                schedule,
                start_date,
                end_date,
                timezone,
                catchup,
                max_active_runs,
                max_active_tasks,
                dagrun_timeout,
                description,
                tags,
                {} if params is None else params,
                doc_md,
                callbacks,
                {} if labels is None else labels,
                {} if param_schemas is None else param_schemas,
                display_name,
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gave, written out: asdict deep-copies every value of
        every task (0.40 s for the 10,000-task W4 DAG); this copies only the values that may be
        mutable, the schedule, the params, the labels and the param schemas (29 ms)."""
        data = dict(zip(self._fields, self, strict=True))
        data["tasks"] = {task_id: task.to_dict() for task_id, task in self.tasks.items()}
        data["schedule"] = _deep_copy(self.schedule)
        data["params"] = _deep_copy(self.params)
        data["labels"] = {up: dict(downs) for up, downs in self.labels.items()}
        data["param_schemas"] = _deep_copy(self.param_schemas)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DagSpec:
        data = dict(data)
        data["tasks"] = {k: TaskSpec.from_dict(v) for k, v in data.get("tasks", {}).items()}
        data["tags"] = tuple(data.get("tags", ()))
        data["callbacks"] = tuple(data.get("callbacks", ()))
        return cls(**data)

    @property
    def leaves(self) -> list[str]:
        """The tasks whose states decide the run's, as Airflow's effective leaves: a task that
        is no teardown (or one with `on_failure_fail_dagrun`) and has no downstream but
        teardowns without it; the tasks with no downstream when there is none such (a DAG of
        teardowns only)."""
        tasks = self.tasks

        def counts(task_id: str) -> bool:
            task = tasks.get(task_id)
            return task is None or not task.is_teardown or task.on_failure_fail_dagrun

        leaves = [
            t.task_id
            for t in tasks.values()
            if counts(t.task_id) and not any(counts(d) for d in t.downstream)
        ]
        return leaves or [t.task_id for t in tasks.values() if not t.downstream]

    def setup_scope(self, task_id: str) -> list[str]:
        """Airflow's relevant setups of a task and their teardowns: each setup above it that
        has no teardown or has one below the task, followed by that setup's teardowns (the
        task itself excepted); what clearing the task clears with it."""
        below = self.relatives([task_id], "downstream")
        teardowns_below = {t for t in below if self.tasks[t].is_teardown}
        found: dict[str, None] = {}
        for setup in self.relatives([task_id], "upstream"):
            if not self.tasks[setup].is_setup:
                continue
            teardowns = [d for d in self.tasks[setup].downstream if self._is_teardown(d)]
            if not teardowns or teardowns_below.intersection(teardowns):
                found[setup] = None
                found.update((t, None) for t in teardowns if t != task_id)
        return list(found)

    def _is_teardown(self, task_id: str) -> bool:
        task = self.tasks.get(task_id)
        return task is not None and task.is_teardown

    def relatives(
        self, task_ids: Iterable[str], direction: Literal["upstream", "downstream"]
    ) -> list[str]:
        """The tasks reachable from `task_ids` in one or more steps along `direction`, in
        definition order; ids the DAG does not have are ignored."""
        found: set[str] = set()
        todo = [t for t in task_ids if t in self.tasks]
        while todo:
            task = self.tasks[todo.pop()]
            for other in task.upstream if direction == "upstream" else task.downstream:
                if other not in found and other in self.tasks:
                    found.add(other)
                    todo.append(other)
        return [t for t in self.tasks if t in found]

    def markers(self) -> dict[str, tuple[str, str]]:
        """The `ExternalTaskMarker`s: task id -> (the other DAG, its task) that clearing the
        marker clears too."""
        return {
            task_id: task.external_task_marker[:2]
            for task_id, task in self.tasks.items()
            if task.external_task_marker is not None
        }


def _deep_copy(value: Any) -> Any:
    """`copy.deepcopy(value)`, importing `copy` only for a value that needs it: most DAGs have
    no params and a schedule of None or a string, and `dags test` need not import it."""
    if value is None or type(value) is str:
        return value  # what deepcopy gives for them
    if type(value) is dict and not value:
        return {}
    import copy

    return copy.deepcopy(value)
