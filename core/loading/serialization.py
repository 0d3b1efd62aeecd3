"""DAG objects as the plain-data specs the store and the scheduler work from: durations in
seconds, schedules and params as JSON. Runs in the child process that imported the DAG file."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flowtui.authoring.arguments import email_addresses
from flowtui.authoring.assets import Asset, AssetOrTimeSchedule, BaseAsset, as_condition
from flowtui.authoring.baseoperator import BaseOperator, as_operator
from flowtui.authoring.cron_trigger import CronTriggerTimetable
from flowtui.authoring.dag import DAG
from flowtui.authoring.operators.external_task_marker import ExternalTaskMarker
from flowtui.authoring.params import param_schemas, param_values
from flowtui.spec import CALLBACKS, DagSpec, TaskSpec


def dag_spec(dag: DAG, fileloc: str) -> DagSpec:
    """The plain-data description of `dag`, defined in `fileloc`."""
    order = dag.task_order
    spec = DagSpec(
        dag_id=dag.dag_id,
        fileloc=fileloc,
        tasks={t: _task_spec(as_operator(task), order) for t, task in dag.task_dict.items()},
        schedule=_schedule_spec(dag.schedule),
        start_date=dag.start_date.isoformat() if dag.start_date else None,
        end_date=dag.end_date.isoformat() if dag.end_date else None,
        timezone=dag.timezone,
        catchup=dag.catchup,
        max_active_runs=dag.max_active_runs,
        max_active_tasks=dag.max_active_tasks,
        dagrun_timeout=_seconds(dag.dagrun_timeout),
        description=dag.description,
        tags=tuple(dag.tags),
        params=json.loads(json.dumps(param_values(dag.params), default=str)),
        doc_md=dag.doc_md,
        callbacks=_callbacks(dag),
        labels={
            up: {down: info["label"] for down, info in downs.items() if "label" in info}
            for up, downs in dag.edge_info.items()
        },
        param_schemas=param_schemas(dag.params),
        display_name=_other_name(dag.dag_display_name, dag.dag_id),
    )
    return _with_indirect_setups(spec)


def _with_indirect_setups(spec: DagSpec) -> DagSpec:
    """Give each task that is no teardown the relevant setups above it that are not its direct
    upstream (`TaskSpec.indirect_setups`); a DAG without setups is returned as it is."""
    if not any(task.is_setup for task in spec.tasks.values()):
        return spec
    for task_id, task in spec.tasks.items():
        if task.is_teardown:
            continue
        indirect = tuple(
            t
            for t in spec.setup_scope(task_id)
            if spec.tasks[t].is_setup and t not in task.upstream
        )
        if indirect:
            spec.tasks[task_id] = task._replace(indirect_setups=indirect)
    return spec


def _task_spec(task: BaseOperator, order: dict[str, int]) -> TaskSpec:
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
        pool_slots=task.pool_slots,
        priority_weight=task.priority_weight,
        queue=task.queue,
        executor=task.executor,
        runs_bash=task.runs_bash,
        skip_exit_codes=tuple(sorted(getattr(task, "skip_exit_codes", ()) or ())),
        outlets=tuple(o.uri for o in task.outlets if isinstance(o, Asset)),
        doc_md=task.doc_md,
        email=email_addresses(task.email, task.task_id),
        email_on_failure=task.email_on_failure,
        email_on_retry=task.email_on_retry,
        callbacks=_callbacks(task),
        sla=_seconds(task.sla),
        sensor_mode=getattr(task, "mode", None) if getattr(task, "is_sensor", False) else None,
        map_over=task.mapping.map_over() if task.mapping is not None else None,
        max_active_tis_per_dag=task.max_active_tis_per_dag,
        max_active_tis_per_dagrun=task.max_active_tis_per_dagrun,
        is_setup=task.is_setup,
        is_teardown=task.is_teardown,
        on_failure_fail_dagrun=task.on_failure_fail_dagrun,
        external_task_marker=_marker(task),
        owner=str(task.owner),
        display_name=_other_name(task.task_display_name, task.task_id),
        task_groups=_task_groups(task),
    )


def _task_groups(task: BaseOperator) -> tuple[str, ...]:
    """The full ids of the groups `task` is in, outermost first."""
    groups: list[str] = []
    group = task.task_group
    while group is not None and group.group_id:  # the root group's id is empty
        groups.append(group.group_id)
        group = group.task_group
    return tuple(reversed(groups))


def _marker(task: BaseOperator) -> tuple[str, str, int] | None:
    if not isinstance(task, ExternalTaskMarker):
        return None
    return task.external_dag_id, task.external_task_id, task.recursion_depth


def _other_name(name: str, key: str) -> str | None:
    """A display name the spec keeps: None when it is the id (most tasks; specs stay small)."""
    return None if name == key else name


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _schedule_spec(schedule: Any) -> Any:
    if isinstance(schedule, timedelta):
        return {"timedelta": schedule.total_seconds()}
    if isinstance(schedule, CronTriggerTimetable):
        return schedule.as_spec()
    if isinstance(schedule, AssetOrTimeSchedule):
        return {**_asset_schedule(schedule.assets), "timetable": _schedule_spec(schedule.timetable)}
    if isinstance(schedule, BaseAsset | list):
        return _asset_schedule(as_condition(schedule, "schedule"))
    return schedule


def _asset_schedule(condition: BaseAsset) -> dict[str, Any]:
    """`{"datasets": [uri, ...]}` for all of some assets, as stores before conditions hold it;
    else the condition too (`scheduling.timetables.assets`), with the uris and aliases it
    names under "datasets" (`alias:<name>`), for the dashboard."""
    expression = condition.as_expression()
    uris = list(dict.fromkeys(asset.uri for asset in condition.iter_assets()))
    if isinstance(expression, str) or (
        set(expression) == {"all"} and all(isinstance(e, str) for e in expression["all"])
    ):
        return {"datasets": uris}
    aliases = dict.fromkeys(f"alias:{alias.name}" for alias in condition.iter_asset_aliases())
    return {"datasets": [*uris, *aliases], "condition": expression}


def _callbacks(owner: BaseOperator | DAG) -> tuple[str, ...]:
    """The callbacks `owner` has callables for."""
    return tuple(kind for kind in CALLBACKS if getattr(owner, kind, None))
