"""`DAG` (a context manager), the `@dag` decorator, `chain`, `Dataset`, DAG validation and
`DAG.to_spec`; `capture_dags` lets the loader collect the DAGs a module builds."""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

from flowtui.authoring.baseoperator import (
    BaseOperator,
    DependencyMixin,
    check_id,
    check_trigger_rule,
    check_whole_number,
    to_timedelta,
    where,
)
from flowtui.errors import DagCycle, DuplicateTaskId, InvalidArgument, TaskNotFound

if TYPE_CHECKING:
    from flowtui.spec import DagSpec, TaskSpec

_dag_stack: list[DAG] = []
_captures: list[list[DAG]] = []


class Dataset:
    """A data set a task updates (`outlets=[...]`) and a DAG may be scheduled on.

    Immutable and compared by `uri`, like a frozen dataclass; written by hand because
    `dataclasses` would double the cost of `import flowtui`.
    """

    __slots__ = ("uri",)
    uri: str

    def __init__(self, uri: str) -> None:
        if not isinstance(uri, str) or not uri:
            raise InvalidArgument("Dataset", f"uri must be a non-empty string, got {uri!r}")
        object.__setattr__(self, "uri", uri)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Dataset is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"Dataset(uri={self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(("Dataset", self.uri))


def current_dag() -> DAG | None:
    """The DAG of the innermost active `with DAG(...)` block, or None."""
    return _dag_stack[-1] if _dag_stack else None


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
        params: dict[str, Any] | None = None,
        max_active_runs: int = 1,
        max_active_tasks: int = 16,
        dagrun_timeout: timedelta | float | None = None,
        doc_md: str | None = None,
        *,
        schedule_interval: Any = None,
    ) -> None:
        self.dag_id: str = check_id("dag_id", dag_id)
        place = f"DAG {dag_id!r}"
        self.default_args: dict[str, Any] = dict(default_args or {})
        if schedule_interval is not None:  # Airflow 2's older name
            if schedule is not None:
                raise InvalidArgument(place, "give schedule or schedule_interval, not both")
            schedule = schedule_interval
        self.schedule: Any = _check_schedule(schedule, place, dag_id)
        self.start_date = _to_datetime(
            start_date if start_date is not None else self.default_args.get("start_date"),
            place,
            "start_date",
        )
        self.end_date = _to_datetime(
            end_date if end_date is not None else self.default_args.get("end_date"),
            place,
            "end_date",
        )
        self.timezone: str = _tz_name(self.start_date.tzinfo, place) if self.start_date else "UTC"
        self._check_dates(place)
        self.catchup = bool(catchup)
        self.description = description or ""
        self.tags: list[str] = [str(tag) for tag in tags or ()]
        self.params: dict[str, Any] = dict(params or {})
        self.max_active_runs = _at_least_one(max_active_runs, place, "max_active_runs")
        self.max_active_tasks = _at_least_one(max_active_tasks, place, "max_active_tasks")
        self.dagrun_timeout = to_timedelta(dagrun_timeout, place, "dagrun_timeout")
        self.doc_md = doc_md
        self.fileloc: str | None = None
        self.task_dict: dict[str, BaseOperator] = {}
        self.task_order: dict[str, int] = {}
        """Task id -> definition position, filled by `validate`."""
        """Tasks by id, in definition order."""
        for found in _captures:
            found.append(self)

    def _check_dates(self, place: str) -> None:
        needs_start = isinstance(self.schedule, str | timedelta)
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

    def __enter__(self) -> DAG:
        _dag_stack.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if _dag_stack and _dag_stack[-1] is self:
            _dag_stack.pop()
        if exc_type is None:
            self.validate()

    @property
    def tasks(self) -> list[BaseOperator]:
        """The tasks, in definition order."""
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        """The task ids, in definition order."""
        return list(self.task_dict)

    @property
    def roots(self) -> list[BaseOperator]:
        """Tasks with no upstream."""
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        """Tasks with no downstream."""
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    def has_task(self, task_id: str) -> bool:
        """Whether the DAG has a task `task_id`."""
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> BaseOperator:
        """Return task `task_id`.

        Raises:
            TaskNotFound: the DAG has no such task.
        """
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise TaskNotFound(self.dag_id, task_id) from None

    def add_task(self, task: BaseOperator) -> None:
        """Add `task` to this DAG.

        Raises:
            DuplicateTaskId: another task of this DAG has the same id.
            InvalidArgument: the task already belongs to another DAG.
        """
        known = self.task_dict.get(task.task_id)
        if known is task:
            return
        if known is not None:
            raise DuplicateTaskId(self.dag_id, task.task_id)
        if task.dag is not None:
            raise InvalidArgument(
                where(task.task_id, self), f"already belongs to DAG {task.dag.dag_id!r}"
            )
        self.task_dict[task.task_id] = task
        task._dag = self

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
        """Check trigger rules, retries and the absence of cycles.

        Raises:
            UnknownTriggerRule, InvalidArgument, DagCycle: one line naming the DAG and task.
        """
        for task in self.task_dict.values():
            task.trigger_rule = check_trigger_rule(task.trigger_rule, task.task_id, self)
            check_whole_number(task.retries, where(task.task_id, self), "retries", 0)
        cycle = self._find_cycle()
        if cycle:
            raise DagCycle(self.dag_id, cycle)
        self.task_order = {task_id: i for i, task_id in enumerate(self.task_dict)}

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

    def to_spec(self, fileloc: str) -> DagSpec:
        """The plain-data description the scheduler works from; durations in seconds."""
        import json

        from flowtui.spec import DagSpec

        order = {task_id: i for i, task_id in enumerate(self.task_dict)}
        return DagSpec(
            dag_id=self.dag_id,
            fileloc=fileloc,
            tasks={
                task_id: self._task_spec(task, order) for task_id, task in self.task_dict.items()
            },
            schedule=_schedule_spec(self.schedule),
            start_date=self.start_date.isoformat() if self.start_date else None,
            end_date=self.end_date.isoformat() if self.end_date else None,
            timezone=self.timezone,
            catchup=self.catchup,
            max_active_runs=self.max_active_runs,
            max_active_tasks=self.max_active_tasks,
            dagrun_timeout=_seconds(self.dagrun_timeout),
            description=self.description,
            tags=tuple(self.tags),
            params=json.loads(json.dumps(self.params, default=str)),
            doc_md=self.doc_md,
        )

    def _task_spec(self, task: BaseOperator, order: dict[str, int]) -> TaskSpec:
        from flowtui.spec import TaskSpec

        return TaskSpec(
            task_id=task.task_id,
            operator=task.operator_name or type(task).__name__,
            upstream=tuple(sorted(task.upstream_task_ids, key=order.__getitem__)),
            downstream=tuple(sorted(task.downstream_task_ids, key=order.__getitem__)),
            trigger_rule=task.trigger_rule,
            retries=task.retries,
            retry_delay=task.retry_delay.total_seconds(),
            retry_exponential_backoff=task.retry_exponential_backoff,
            max_retry_delay=_seconds(task.max_retry_delay),
            execution_timeout=_seconds(task.execution_timeout),
            depends_on_past=task.depends_on_past,
            pool=task.pool,
            priority_weight=task.priority_weight,
            runs_bash=task.runs_bash,
            skip_exit_codes=tuple(sorted(getattr(task, "skip_exit_codes", ()) or ())),
            outlets=tuple(o.uri for o in task.outlets if isinstance(o, Dataset)),
            doc_md=task.doc_md,
        )


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _schedule_spec(schedule: Any) -> Any:
    if isinstance(schedule, timedelta):
        return {"timedelta": schedule.total_seconds()}
    if isinstance(schedule, list):
        return {"datasets": [dataset.uri for dataset in schedule]}
    return schedule


def _check_schedule(schedule: Any, place: str, dag_id: str) -> Any:
    if schedule is None:
        return schedule
    if isinstance(schedule, str):
        from flowtui.cron import validate_schedule  # croniter is imported on first use

        validate_schedule(schedule, dag_id=dag_id)
        return schedule
    if isinstance(schedule, timedelta) and schedule > timedelta(0):
        return schedule
    if isinstance(schedule, Dataset):
        return [schedule]
    is_list = isinstance(schedule, list | tuple) and bool(schedule)
    if is_list and all(isinstance(item, Dataset) for item in schedule):
        return list(schedule)
    raise InvalidArgument(
        place,
        f"schedule {schedule!r} is not valid; use None, a preset such as '@daily', a cron "
        f"string, a positive timedelta, or a list of Dataset",
    )


def _to_datetime(value: object, place: str, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidArgument(place, f"{name} {value!r} is not an ISO date") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise InvalidArgument(place, f"{name} must be a datetime, got {value!r}")
    # Naive means UTC, as in Airflow's default configuration.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _tz_name(tz: tzinfo | None, place: str) -> str:
    key = getattr(tz, "key", None) or getattr(tz, "name", None)  # zoneinfo, pendulum
    if isinstance(key, str) and key:
        return key
    offset = tz.utcoffset(None) if tz is not None else timedelta(0)
    if offset == timedelta(0):
        return "UTC"
    if offset is not None and offset % timedelta(hours=1) == timedelta(0):
        return f"Etc/GMT{-(offset // timedelta(hours=1)):+d}"  # Etc/GMT signs are inverted
    raise InvalidArgument(
        place, "start_date has a time zone without a name; use zoneinfo.ZoneInfo('Area/City')"
    )


def _at_least_one(value: object, place: str, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgument(place, f"{name} must be a whole number >= 1, got {value!r}")
    return value


def chain(*tasks: DependencyMixin | Sequence[DependencyMixin]) -> None:
    """Set `tasks[0] >> tasks[1] >> ...`; two adjacent lists are joined pairwise.

    Raises:
        InvalidArgument: two adjacent lists differ in length.
    """
    for upstream, downstream in itertools.pairwise(tasks):
        if isinstance(upstream, DependencyMixin):
            upstream.set_downstream(downstream)
        elif isinstance(downstream, DependencyMixin):
            downstream.set_upstream(upstream)
        else:
            if len(upstream) != len(downstream):
                raise InvalidArgument(
                    "chain()",
                    f"adjacent lists must have the same length, got {len(upstream)} "
                    f"and {len(downstream)}",
                )
            for up, down in zip(upstream, downstream, strict=True):
                up.set_downstream(down)


@overload
def dag(func: Callable[..., Any], /) -> Callable[..., DAG]: ...
@overload
def dag(
    func: None = None, /, **dag_kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., DAG]]: ...
def dag(
    func: Callable[..., Any] | None = None, /, **dag_kwargs: Any
) -> Callable[..., DAG] | Callable[[Callable[..., Any]], Callable[..., DAG]]:
    """Turn a function into a DAG factory, as Airflow's `@dag` does.

    The DAG id is the function's name (or `dag_id=`); calling the function builds the DAG and
    returns it. The function's parameters become DAG params (call arguments override their
    defaults), and inside the function they stand for the run's param values.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., DAG]:
        @functools.wraps(fn)
        def build(*args: Any, **kwargs: Any) -> DAG:
            return _build_dag(fn, dag_kwargs, args, kwargs)

        return build

    return decorate(func) if func is not None else decorate


def _build_dag(
    fn: Callable[..., Any], options: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> DAG:
    import inspect

    from flowtui.authoring.taskflow import DagParam

    options = dict(options)
    dag_id = options.pop("dag_id", fn.__name__)
    signature = inspect.signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise InvalidArgument(f"@dag {dag_id!r}", str(exc)) from None
    bound.apply_defaults()
    params = dict(options.pop("params", None) or {})
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            params[name] = value
            bound.arguments[name] = DagParam(name, value)
    if options.get("doc_md") is None and fn.__doc__:
        options["doc_md"] = inspect.cleandoc(fn.__doc__)
    with DAG(dag_id, params=params, **options) as new:
        fn(*bound.args, **bound.kwargs)
    return new
