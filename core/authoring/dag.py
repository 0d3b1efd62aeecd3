"""`DAG`: a directed acyclic graph of tasks with a schedule, used as a context manager, and its
validation; `capture_dags` lets the loader collect the DAGs a module builds. Turning a DAG into
the plain-data spec the scheduler works from is `flowtui.loading.serialization`'s job."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from flowtui.authoring import dag_context
from flowtui.authoring.arguments import (
    callbacks,
    check_id,
    check_trigger_rule,
    check_whole_number,
    timezone_name,
    to_datetime,
    to_timedelta,
    where,
)
from flowtui.authoring.assets import AssetOrTimeSchedule, BaseAsset
from flowtui.authoring.cron_trigger import CronTriggerTimetable
from flowtui.authoring.param_validation import check_param_defaults, check_required_unscheduled
from flowtui.errors import DagCycle, DuplicateTaskId, InvalidArgument, TaskNotFound

_captures: list[list[DAG]] = []


class DagTask(Protocol):
    """What a DAG needs of its tasks. `BaseOperator` is the one implementation; it knows its
    DAG only as a `DagRef`, so that neither module imports the other."""

    task_id: str
    trigger_rule: str
    retries: int
    is_setup: bool
    is_teardown: bool

    @property
    def dag(self) -> dag_context.DagRef | None: ...

    @property
    def upstream_task_ids(self) -> set[str]: ...

    @property
    def downstream_task_ids(self) -> set[str]: ...

    @property
    def downstream_list(self) -> Sequence[DagTask]:
        """The direct downstream tasks, in the order the dependencies were set."""

    def joined(self, dag: dag_context.DagRef) -> None:
        """The task now belongs to `dag` (called by `DAG.add_task`)."""


@contextlib.contextmanager
def capture_dags() -> Iterator[list[DAG]]:
    """Yield a list that receives every DAG constructed while the block runs."""
    found: list[DAG] = []
    _captures.append(found)
    try:
        yield found
    finally:
        # Lists compare by value, so remove this one by identity.
        del _captures[next(i for i, c in enumerate(_captures) if c is found)]


class DAG:
    """A directed acyclic graph of tasks with a schedule, as in Airflow.

    Use it as a context manager: tasks created inside `with DAG(...):` join it. The DAG is
    validated when the block ends (ids, trigger rules, cycles).

    Raises:
        InvalidId, InvalidArgument: at construction, for bad ids or arguments.
    """

    def __init__(
        self,
        dag_id: str,
        schedule: Any = None,
        start_date: datetime | date | str | None = None,
        end_date: datetime | date | str | None = None,
        catchup: bool = False,
        default_args: dict[str, Any] | None = None,
        description: str | None = "",
        tags: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        max_active_runs: int = 1,
        max_active_tasks: int = 16,
        dagrun_timeout: timedelta | float | None = None,
        doc_md: str | None = None,
        on_success_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_failure_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        *,
        schedule_interval: Any = None,
        template_searchpath: str | Sequence[str] | None = None,
        dag_display_name: str | None = None,
    ) -> None:
        self.dag_id: str = check_id("dag_id", dag_id)
        place = f"DAG {dag_id!r}"
        self.default_args: dict[str, Any] = dict(default_args or {})
        if schedule_interval is not None:  # Airflow 2's older name
            if schedule is not None:
                raise InvalidArgument(place, "give schedule or schedule_interval, not both")
            schedule = schedule_interval
        self.schedule: Any = _check_schedule(schedule, place, dag_id)
        self.start_date = to_datetime(
            start_date if start_date is not None else self.default_args.get("start_date"),
            place,
            "start_date",
        )
        self.end_date = to_datetime(
            end_date if end_date is not None else self.default_args.get("end_date"),
            place,
            "end_date",
        )
        self.timezone: str = (
            timezone_name(self.start_date.tzinfo, place) if self.start_date else "UTC"
        )
        self._check_dates(place)
        self.catchup = bool(catchup)
        self.description = description or ""
        if dag_display_name is not None and not isinstance(dag_display_name, str):
            raise InvalidArgument(
                place, f"dag_display_name must be a string, got {dag_display_name!r}"
            )
        self._display_name = dag_display_name or None
        self.tags: list[str] = [str(tag) for tag in tags or ()]
        self.params: dict[str, Any] = dict((params or {}).items())  # a ParamsDict's Params
        self.max_active_runs = check_whole_number(max_active_runs, place, "max_active_runs", 1)
        self.max_active_tasks = check_whole_number(max_active_tasks, place, "max_active_tasks", 1)
        self.dagrun_timeout = to_timedelta(dagrun_timeout, place, "dagrun_timeout")
        self.doc_md = doc_md
        self.on_success_callback = callbacks(on_success_callback, place, "on_success_callback")
        """Called with a run's context when it succeeds (in a process of its own)."""
        self.on_failure_callback = callbacks(on_failure_callback, place, "on_failure_callback")
        """Called with a run's context when it fails (`context["reason"]` says why)."""
        paths = (
            [template_searchpath] if isinstance(template_searchpath, str) else template_searchpath
        )
        self.template_searchpath: list[str] = [str(path) for path in paths or ()]
        """Folders searched for template files after the DAG file's own, in order."""
        self.fileloc: str | None = None
        """The file that defined the DAG, set once it is imported. flowtui does not read it:
        it is Airflow's attribute, for task code that finds files beside its DAG's."""
        self.task_dict: dict[str, DagTask] = {}
        """Tasks by id, in definition order."""
        self.task_group_dict: dict[str, Any] = {}
        """Task groups (`flowtui.authoring.task_group.TaskGroup`) by their full id, as Airflow's."""
        self.edge_info: dict[str, dict[str, dict[str, str]]] = {}
        """upstream task id -> downstream task id -> {"label": text}, from `Label`s."""
        self._task_order: dict[str, int] = {}
        for found in _captures:
            found.append(self)

    def _check_dates(self, place: str) -> None:
        needs_start = isinstance(
            self.schedule, str | timedelta | AssetOrTimeSchedule | CronTriggerTimetable
        )
        if needs_start and self.start_date is None:
            raise InvalidArgument(
                place,
                f"schedule {self.schedule!r} needs a start_date, e.g. "
                f"start_date=datetime(2024, 1, 1)",
            )
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise InvalidArgument(place, "end_date is before start_date")

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"

    @property
    def dag_display_name(self) -> str:
        """The name shown for the DAG: its `dag_display_name`, else its id (as Airflow's)."""
        return self._display_name or self.dag_id

    @property
    def folder(self) -> str | None:
        """The folder of the DAG's file, as Airflow's `dag.folder`; None until it is loaded."""
        return os.path.dirname(self.fileloc) if self.fileloc else None

    def __enter__(self) -> DAG:
        dag_context.enter(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        dag_context.leave(self)
        if exc_type is None:
            self.validate()

    @property
    def tasks(self) -> list[DagTask]:
        """The tasks, in definition order."""
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        """The task ids, in definition order."""
        return list(self.task_dict)

    @property
    def roots(self) -> list[DagTask]:
        """Tasks with no upstream."""
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[DagTask]:
        """Tasks with no downstream."""
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    @property
    def task_order(self) -> dict[str, int]:
        """Task id -> definition position. Made by `validate`, so that a process forked from
        one holding a large DAG does not walk all of it; made again if a task joined since."""
        if len(self._task_order) != len(self.task_dict):
            self._task_order = {task_id: i for i, task_id in enumerate(self.task_dict)}
        return self._task_order

    @property
    def task_group(self) -> Any:
        """The DAG's root task group (id None), its children the tasks and groups in no other
        group; made when asked for, as nothing in flowtui needs it."""
        from flowtui.authoring.task_group import root_group

        return root_group(self)

    def set_edge_info(self, upstream_task_id: str, downstream_task_id: str, info: Any) -> None:
        """Keep what a `Label` says of the edge upstream -> downstream."""
        self.edge_info.setdefault(upstream_task_id, {})[downstream_task_id] = dict(info)

    def get_edge_info(self, upstream_task_id: str, downstream_task_id: str) -> dict[str, str]:
        """What a `Label` said of the edge ({"label": text}), or {}."""
        return self.edge_info.get(upstream_task_id, {}).get(downstream_task_id, {})

    def has_task(self, task_id: str) -> bool:
        """Whether the DAG has a task `task_id`."""
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> DagTask:
        """Return task `task_id`.

        Raises:
            TaskNotFound: the DAG has no such task.
        """
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise TaskNotFound(self.dag_id, task_id) from None

    def add_task(self, task: DagTask) -> None:
        """Add `task` to this DAG.

        Raises:
            DuplicateTaskId: another task of this DAG has the same id.
            InvalidArgument: the task already belongs to another DAG.
        """
        known = self.task_dict.get(task.task_id)
        if known is task:
            return
        if known is not None or task.task_id in self.task_group_dict:
            raise DuplicateTaskId(self.dag_id, task.task_id)
        if task.dag is not None:
            raise InvalidArgument(
                where(task.task_id, self.dag_id), f"already belongs to DAG {task.dag.dag_id!r}"
            )
        self.task_dict[task.task_id] = task
        task.joined(self)

    def get_downstream_task_ids(self, task_id: str, *, transitive: bool = True) -> list[str]:
        """Ids downstream of `task_id` (all of them, or only direct), in definition order."""
        seen: set[str] = set()
        todo = list(self.get_task(task_id).downstream_task_ids)
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                if transitive:
                    todo.extend(self.task_dict[current].downstream_task_ids)
        return [t for t in self.task_dict if t in seen]

    def validate(self) -> None:
        """Check trigger rules (also after setup tasks), retries, params' defaults and the
        absence of cycles.

        Raises:
            UnknownTriggerRule, InvalidArgument, DagCycle, InvalidParamDefault,
            RequiredParamScheduled: one line naming the DAG and task.
        """
        check_param_defaults(f"DAG {self.dag_id!r}", self.params)
        check_required_unscheduled(self.dag_id, self.params, self.schedule)
        for task in self.task_dict.values():
            task.trigger_rule = check_trigger_rule(task.trigger_rule, task.task_id, self.dag_id)
            check_whole_number(task.retries, where(task.task_id, self.dag_id), "retries", 0)
            task_params = getattr(task, "params", None)
            if task_params:
                check_param_defaults(where(task.task_id, self.dag_id), task_params)
        self._check_after_setups()
        cycle = self._find_cycle()
        if cycle:
            raise DagCycle(self.dag_id, cycle)
        self._task_order = {task_id: i for i, task_id in enumerate(self.task_dict)}

    def _check_after_setups(self) -> None:
        """Airflow's rule: a task right after a setup task is a teardown or has the trigger
        rule all_success (so that clearing a setup behaves the same whatever it is cleared
        with)."""
        for setup in self.task_dict.values():
            if not setup.is_setup:
                continue
            for task_id in sorted(setup.downstream_task_ids):
                down = self.task_dict[task_id]
                if not down.is_teardown and down.trigger_rule != "all_success":
                    raise InvalidArgument(
                        where(task_id, self.dag_id),
                        f"follows setup task {setup.task_id!r}, so its trigger_rule must be "
                        f"'all_success' (as in Airflow), not {down.trigger_rule!r}",
                    )

    def _find_cycle(self) -> list[str] | None:
        # Iterative depth-first search: a recursive one would overflow on long chains.
        state: dict[str, int] = {}  # 1 = on the current path, 2 = fully explored
        for root in self.task_dict:
            if root in state:
                continue
            path = [root]
            stack = [iter(self.task_dict[root].downstream_list)]
            state[root] = 1
            while stack:
                for child in stack[-1]:
                    seen = state.get(child.task_id)
                    if seen == 1:
                        return path[path.index(child.task_id) :]
                    if seen is None:
                        state[child.task_id] = 1
                        path.append(child.task_id)
                        stack.append(iter(child.downstream_list))
                        break
                else:
                    state[path.pop()] = 2
                    stack.pop()
        return None


def _check_schedule(schedule: Any, place: str, dag_id: str) -> Any:
    if schedule is None:
        return schedule
    if isinstance(schedule, str):
        from flowtui.cron import validate_schedule  # croniter is imported on first use

        validate_schedule(schedule, dag_id=dag_id)
        return schedule
    if isinstance(schedule, timedelta) and schedule > timedelta(0):
        return schedule
    if isinstance(schedule, CronTriggerTimetable):
        from flowtui.cron import validate_schedule

        validate_schedule(schedule.cron, dag_id=dag_id)
        return schedule
    if isinstance(schedule, AssetOrTimeSchedule):
        _check_schedule(schedule.timetable, place, dag_id)
        return schedule
    if isinstance(schedule, BaseAsset):
        return schedule
    is_list = isinstance(schedule, list | tuple) and bool(schedule)
    if is_list and all(isinstance(item, BaseAsset) for item in schedule):
        return list(schedule)  # all of them, as in Airflow; `dag.schedule` gives the list back
    raise InvalidArgument(
        place,
        f"schedule {schedule!r} is not valid; use None, a preset such as '@daily', a cron "
        f"string, a positive timedelta, assets (a list, `a | b`, `a & b`) or "
        f"AssetOrTimeSchedule",
    )
