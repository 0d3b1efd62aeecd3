"""`BaseOperator`: the arguments every task shares, DAG and task-group `default_args`,
dependencies (`>>`, `<<`, lists, groups, labels) and templated fields. What a task does is each
operator's `execute`."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from flowtui.authoring.arguments import (
    callbacks,
    check_id,
    check_trigger_rule,
    check_whole_number,
    email_addresses,
    task_executor,
    to_timedelta,
    where,
)
from flowtui.authoring.dag_context import DagRef, current_dag
from flowtui.authoring.dependencies import DependencyMixin, flatten, xcom_args
from flowtui.authoring.group_context import GroupRef, current_group
from flowtui.authoring.templating import TemplateFiles, render
from flowtui.authoring.xcom_arg import XComArg
from flowtui.errors import CrossDagDependency, InvalidArgument
from flowtui.spec import DEFAULT_QUEUE

Context = dict[str, Any]
"""What a task receives at run time: `ds`, `ti`, `params`, ... (see `flowtui.authoring.context`)."""

_PARAMS: dict[type, frozenset[str]] = {}


def _accepted_params(cls: type) -> frozenset[str]:
    names = _PARAMS.get(cls)
    if names is None:
        import inspect

        found: set[str] = set()
        for klass in cls.__mro__:
            if "__init__" in vars(klass) and issubclass(klass, BaseOperator):
                for param in inspect.signature(vars(klass)["__init__"]).parameters.values():
                    if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                        found.add(param.name)
        found.discard("self")
        names = _PARAMS[cls] = frozenset(found)
    return names


class _OperatorMeta(type):
    """Applies DAG and task-group `default_args` before `__init__`, gives a task in a group its
    `<group_id>.<task_id>`, and joins the DAG and the group after it, like Airflow."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise InvalidArgument(cls.__name__, "pass arguments by keyword, e.g. task_id='...'")
        mapping = kwargs.pop("_mapping", None)  # `.expand()` builds a mapped operator
        group: GroupRef | None = kwargs.get("task_group")
        dag = kwargs.get("dag") or (group.dag if group is not None else None) or current_dag()
        if group is None and dag is not None:
            group = current_group(dag)
        accepted = _accepted_params(cls)
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise InvalidArgument(
                where(kwargs.get("task_id"), dag.dag_id if dag else None),
                f"{cls.__name__} takes no argument {names}",
            )
        if "task_id" in kwargs:  # else __init__ says it is missing
            task_id = check_id("task_id", kwargs["task_id"], dag.dag_id if dag else None)
            if group is not None:
                kwargs["task_id"] = group.child_id(task_id)
        if dag is not None:
            # Airflow's apply_defaults: default_args fill what the call did not say, a group's
            # (its parents' below them) over the DAG's.
            defaults = dag.default_args
            if group is not None and group.default_args:
                defaults = {**defaults, **group.default_args}
            for key, value in defaults.items():
                if key in accepted and key not in kwargs and key != "task_id":
                    kwargs[key] = value
            kwargs["dag"] = dag
        kwargs["task_group"] = group
        operator = super().__call__(**kwargs)
        if mapping is not None:
            mapping.init_kwargs = kwargs  # what each instance is built with (`mapping.unmap`)
            operator.mapping = mapping
        operator._finish_init()
        return operator


class BaseOperator(DependencyMixin, metaclass=_OperatorMeta):
    """A task: one node of a DAG. Subclasses implement `execute(context)`.

    Every argument except `task_id` may come from the DAG's `default_args`; durations take a
    `timedelta` or a number of seconds. Arguments must be passed by keyword.
    """

    template_fields: ClassVar[Sequence[str]] = ()
    """Attributes rendered with Jinja2 (and XComArgs resolved) before `execute`."""
    template_ext: Sequence[str] = ()
    """A string in a templated field ending in one of these names a template file (looked for
    beside the DAG file, then in the DAG's `template_searchpath`), rendered in its place."""
    operator_name: ClassVar[str | None] = None
    """How the task's kind is shown; the class name when None."""
    runs_bash: ClassVar[bool] = False
    """True when an attempt can exec bash directly (see `BashOperator.bash_invocation`)."""
    multiple_outputs: bool = False
    """Push each key of a returned dict as its own XCom too."""
    mapping: Any = None
    """A mapped task's `flowtui.authoring.mapping.MapInput` (set by `.expand()`); None for an
    unmapped task."""
    is_setup: bool = False
    """A setup task (`as_setup`, `@setup`); set on the few tasks that are, in their `__dict__`."""
    is_teardown: bool = False
    """A teardown task (`as_teardown`, `@teardown`)."""
    _fails_dagrun: bool = False

    # The arguments every task has live in slots rather than in a dict per instance: a
    # 10,000-task DAG then takes half the memory, and the fork server that holds it forks
    # each attempt faster (a fork copies the page tables of the whole heap). `__dict__` keeps
    # any other attribute working, as before (created only when one is set).
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_dag",
        "_display_name",
        "_downstream",
        "_joining",
        "_task_group",
        "_upstream",
        "depends_on_past",
        "do_xcom_push",
        "doc_md",
        "email",
        "email_on_failure",
        "email_on_retry",
        "end_date",
        "execution_timeout",
        "executor",
        "inlets",
        "max_active_tis_per_dag",
        "max_active_tis_per_dagrun",
        "max_retry_delay",
        "on_execute_callback",
        "on_failure_callback",
        "on_retry_callback",
        "on_success_callback",
        "outlets",
        "owner",
        "params",
        "pool",
        "pool_slots",
        "priority_weight",
        "queue",
        "retries",
        "retry_delay",
        "retry_exponential_backoff",
        "retry_policy",
        "sla",
        "start_date",
        "task_id",
        "trigger_rule",
    )

    def __init__(
        self,
        *,
        task_id: str,
        dag: DagRef | None = None,
        task_group: GroupRef | None = None,
        owner: str = "flowtui",
        retries: int = 0,
        retry_delay: timedelta | float = timedelta(minutes=5),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        execution_timeout: timedelta | float | None = None,
        trigger_rule: str = "all_success",
        depends_on_past: bool = False,
        pool: str = "default_pool",
        pool_slots: int = 1,
        priority_weight: int = 1,
        email: str | list[str] | None = None,
        email_on_failure: bool = True,
        email_on_retry: bool = True,
        on_success_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_failure_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_retry_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        on_execute_callback: Callable[..., Any] | list[Callable[..., Any]] | None = None,
        sla: timedelta | float | None = None,
        params: Mapping[str, Any] | None = None,
        doc_md: str | None = None,
        outlets: list[Any] | None = None,
        inlets: list[Any] | None = None,
        do_xcom_push: bool = True,
        start_date: Any = None,
        end_date: Any = None,
        max_active_tis_per_dag: int | None = None,
        max_active_tis_per_dagrun: int | None = None,
        task_display_name: str | None = None,
        retry_policy: Any = None,
        queue: str = DEFAULT_QUEUE,
        executor: str | None = None,
    ) -> None:
        # One line per Airflow argument, each checked where it is given: long by design.
        dag_id = dag.dag_id if dag else None
        place = where(task_id, dag_id)
        self.task_id: str = task_id  # checked by the metaclass, before a group's prefix
        self._dag: DagRef | None = None
        self._task_group = task_group  # the active `with TaskGroup` when not given
        self._joining: DagRef | None = dag
        self._upstream: dict[str, None] = {}
        self._downstream: dict[str, None] = {}
        self.owner = owner
        self.retries = check_whole_number(retries, place, "retries", 0)
        self.retry_delay: timedelta = to_timedelta(retry_delay, place, "retry_delay") or timedelta()
        self.retry_exponential_backoff = bool(retry_exponential_backoff)
        self.max_retry_delay = to_timedelta(max_retry_delay, place, "max_retry_delay")
        self.execution_timeout = to_timedelta(execution_timeout, place, "execution_timeout")
        self.trigger_rule: str = check_trigger_rule(trigger_rule, task_id, dag_id)
        self.depends_on_past = bool(depends_on_past)
        if not isinstance(pool, str) or not pool:
            raise InvalidArgument(place, f"pool must be a non-empty string, got {pool!r}")
        self.pool = pool
        self.pool_slots = check_whole_number(pool_slots, place, "pool_slots", 1)
        self.priority_weight = check_whole_number(
            priority_weight, place, "priority_weight", -(2**31)
        )
        email_addresses(email, place)  # refused at load, not at the first failure
        self.email = email
        self.email_on_failure = bool(email_on_failure)
        self.email_on_retry = bool(email_on_retry)
        self.on_success_callback = callbacks(on_success_callback, place, "on_success_callback")
        self.on_failure_callback = callbacks(on_failure_callback, place, "on_failure_callback")
        self.on_retry_callback = callbacks(on_retry_callback, place, "on_retry_callback")
        self.on_execute_callback = callbacks(on_execute_callback, place, "on_execute_callback")
        self.sla = to_timedelta(sla, place, "sla")
        self.params: dict[str, Any] = dict((params or {}).items())  # a ParamsDict's Params
        self.doc_md = doc_md
        self.outlets: list[Any] = list(outlets or [])
        self.inlets: list[Any] = list(inlets or [])
        self.do_xcom_push = bool(do_xcom_push)
        self.start_date, self.end_date = start_date, end_date
        self.max_active_tis_per_dag = _limit(
            max_active_tis_per_dag, place, "max_active_tis_per_dag"
        )
        self.max_active_tis_per_dagrun = _limit(
            max_active_tis_per_dagrun, place, "max_active_tis_per_dagrun"
        )
        if task_display_name is not None and not isinstance(task_display_name, str):
            raise InvalidArgument(
                place, f"task_display_name must be a string, got {task_display_name!r}"
            )
        self._display_name = task_display_name or None
        if retry_policy is not None and not callable(getattr(retry_policy, "evaluate", None)):
            raise InvalidArgument(place, "retry_policy must be a RetryPolicy (with evaluate())")
        self.retry_policy = retry_policy
        """Airflow 3.3's retry policy (`flowtui.authoring.retry_policy`), or None."""
        if not isinstance(queue, str) or not queue:
            raise InvalidArgument(place, f"queue must be a non-empty string, got {queue!r}")
        self.queue = queue
        """The Dask worker resource an attempt needs (`resources={queue: 1}`); "default"
        needs none. Meaningless under the local executor, as under Airflow's LocalExecutor."""
        self.executor = task_executor(executor, place)
        """"local" or "dask" (Airflow's class names map to them); None: the home's."""

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """The arguments every instance of a mapped task shares; `.expand(...)` or
        `.expand_kwargs(...)` on the result makes the task (dynamic task mapping)."""
        from flowtui.authoring.mapping import OperatorPartial  # only DAGs that map need it

        return OperatorPartial(cls, kwargs)

    @property
    def is_mapped(self) -> bool:
        """Whether the task is mapped (`.partial(...).expand(...)`)."""
        return self.mapping is not None

    @property
    def on_failure_fail_dagrun(self) -> bool:
        """Whether this teardown's failure fails the run (by default a teardown's does not)."""
        return self._fails_dagrun

    @on_failure_fail_dagrun.setter
    def on_failure_fail_dagrun(self, value: bool) -> None:
        if value and not self.is_teardown:
            raise InvalidArgument(
                self._where(),
                "on_failure_fail_dagrun=True is for teardown tasks only; "
                "pass it to .as_teardown(...) or @teardown(...)",
            )
        self._fails_dagrun = bool(value)

    def _finish_init(self) -> None:
        dag, self._joining = self._joining, None
        if dag is not None:
            dag.add_task(self)
        if self._task_group is not None:
            self._task_group.add(self)
        for name in self.template_fields:
            for arg in xcom_args(getattr(self, name, None)):
                self.set_upstream(arg)

    def _where(self) -> str:
        dag = self._dag or self._joining
        return where(self.task_id, dag.dag_id if dag else None)

    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"

    @property
    def dag(self) -> DagRef | None:
        """The DAG this task belongs to; assigning adds the task to that DAG."""
        return self._dag

    @dag.setter
    def dag(self, dag: DagRef) -> None:
        if self._dag is not dag:
            dag.add_task(self)

    def joined(self, dag: DagRef) -> None:
        """The task now belongs to `dag` (called by `DAG.add_task`)."""
        self._dag = dag

    @property
    def task_group(self) -> GroupRef | None:
        """The task group the task is in, or None (Airflow gives the DAG's root group)."""
        return self._task_group

    @property
    def task_display_name(self) -> str:
        """The name shown for the task: its `task_display_name`, else its id (as Airflow's)."""
        return self._display_name or self.task_id

    @property
    def output(self) -> XComArg:
        """The task's return value as an `XComArg` (`task.output["key"]` for another key), to
        pass to another task, as Airflow's `operator.output`."""
        return XComArg(self)

    @property
    def dag_id(self) -> str | None:
        """The id of the task's DAG, or None."""
        return self._dag.dag_id if self._dag is not None else None

    @property
    def upstream_task_ids(self) -> set[str]:
        """Ids of the tasks that run directly before this one."""
        return set(self._upstream)

    @property
    def downstream_task_ids(self) -> set[str]:
        """Ids of the tasks that run directly after this one."""
        return set(self._downstream)

    @property
    def upstream_list(self) -> list[BaseOperator]:
        """The direct upstream tasks, in the order the dependencies were set."""
        return [self._dag.get_task(t) for t in self._upstream] if self._dag else []

    @property
    def downstream_list(self) -> list[BaseOperator]:
        """The direct downstream tasks, in the order the dependencies were set."""
        return [self._dag.get_task(t) for t in self._downstream] if self._dag else []

    def _operators(self) -> list[BaseOperator]:
        return [self]

    def _relate(self, other: object, *, upstream: bool, label: str | None = None) -> None:
        for operator in flatten(other, as_upstream=upstream, source=self):
            self._share_dag(operator)
            if upstream:
                self._upstream[operator.task_id] = None
                operator._downstream[self.task_id] = None
            else:
                self._downstream[operator.task_id] = None
                operator._upstream[self.task_id] = None
            if label is not None:
                self._label_edge(operator, upstream, label)

    def _label_edge(self, other: BaseOperator, upstream: bool, label: str) -> None:
        if self._dag is None:
            raise InvalidArgument(self._where(), "a Label joins tasks of a DAG; create them in one")
        up, down = (other, self) if upstream else (self, other)
        self._dag.set_edge_info(up.task_id, down.task_id, {"label": label})

    def _share_dag(self, other: BaseOperator) -> None:
        mine, theirs = self._dag, other._dag
        if mine is None and theirs is not None:
            theirs.add_task(self)
        elif theirs is None and mine is not None:
            mine.add_task(other)
        elif mine is not None and theirs is not None and mine is not theirs:
            raise CrossDagDependency(self.task_id, mine.dag_id, other.task_id, theirs.dag_id)

    def render_template_fields(self, context: Context) -> None:
        """Render every field in `template_fields` in place (and resolve XComArgs)."""
        files = self.template_files()
        for name in self.template_fields:
            value = render(
                getattr(self, name), context, task_id=self.task_id, field=name, files=files
            )
            setattr(self, name, value)

    def template_files(self) -> TemplateFiles | None:
        """Where the task's template files are, or None when it takes none (no `template_ext`)."""
        if not self.template_ext:
            return None
        folders = (self._dag.folder, *self._dag.template_searchpath) if self._dag else ()
        return TemplateFiles(tuple(self.template_ext), tuple(f for f in folders if f))

    def execute(self, context: Context) -> Any:
        """Do the task's work; the return value becomes XCom `return_value`."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute(context)")

    def tasks_to_skip(self, result: Any) -> list[str]:
        """Downstream task ids the scheduler must skip after `execute` returned `result`."""
        return []


def _limit(value: int | None, place: str, name: str) -> int | None:
    return None if value is None else check_whole_number(value, place, name, 1)


def as_operator(task: object) -> BaseOperator:
    """`task` typed as the operator it is (a DAG holds its tasks as `DagTask`s)."""
    if not isinstance(task, BaseOperator):
        raise TypeError(f"{task!r} is not an operator")
    return task


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
