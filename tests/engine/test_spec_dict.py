"""`DagSpec.to_dict`, written out by hand for speed, gives what `dataclasses.asdict` gave when
the specs were frozen dataclasses: every field in definition order, every value copied deeply.
And the specs, named tuples now, behave as those dataclasses did."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import flowtui.sample_dags
from flowtui.loading.dag_file import parse_here
from flowtui.spec import DagSpec, TaskSpec

SAMPLES = sorted(Path(flowtui.sample_dags.__file__).parent.glob("*.py"))

TASK_FIELDS = (
    "task_id",
    "operator",
    "upstream",
    "downstream",
    "trigger_rule",
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "depends_on_past",
    "pool",
    "pool_slots",
    "priority_weight",
    "queue",
    "executor",
    "runs_bash",
    "skip_exit_codes",
    "outlets",
    "doc_md",
    "email",
    "email_on_failure",
    "email_on_retry",
    "callbacks",
    "sla",
    "sensor_mode",
    "map_over",
    "max_active_tis_per_dag",
    "max_active_tis_per_dagrun",
    "is_setup",
    "is_teardown",
    "on_failure_fail_dagrun",
    "indirect_setups",
    "external_task_marker",
    "owner",
    "display_name",
    "task_groups",
)
DAG_FIELDS = (
    "dag_id",
    "fileloc",
    "tasks",
    "schedule",
    "start_date",
    "end_date",
    "timezone",
    "catchup",
    "max_active_runs",
    "max_active_tasks",
    "dagrun_timeout",
    "description",
    "tags",
    "params",
    "doc_md",
    "callbacks",
    "labels",
    "param_schemas",
    "display_name",
)
"""The dataclasses' fields, in their order (the order of the stored JSON's keys)."""


def _asdict(spec: DagSpec) -> dict[str, Any]:
    """What `dataclasses.asdict` gave: the fields in order, tasks as dicts, all deep copies."""
    data = {name: copy.deepcopy(getattr(spec, name)) for name in DAG_FIELDS}
    data["tasks"] = {
        task_id: {name: copy.deepcopy(getattr(task, name)) for name in TASK_FIELDS}
        for task_id, task in spec.tasks.items()
    }
    return data


def _every_field_set() -> DagSpec:
    task = TaskSpec(
        task_id="t",
        operator="BashOperator",
        upstream=("u",),
        downstream=("d1", "d2"),
        trigger_rule="all_done",
        retries=3,
        retry_delay=12.5,
        retry_exponential_backoff=True,
        max_retry_delay=600.0,
        execution_timeout=30.0,
        depends_on_past=True,
        pool="p",
        pool_slots=2,
        priority_weight=7,
        queue="gpu",
        executor="local",
        runs_bash=True,
        skip_exit_codes=(99, 100),
        outlets=("s3://bucket/key",),
        doc_md="# doc",
        email=("ops@example.com", "oncall@example.com"),
        email_on_failure=True,
        email_on_retry=False,
        callbacks=("on_failure_callback", "on_retry_callback"),
        sla=3600.0,
        sensor_mode="reschedule",
        map_over=(3, ("u", "return_value")),
        max_active_tis_per_dag=2,
        max_active_tis_per_dagrun=1,
        is_teardown=True,
        on_failure_fail_dagrun=True,
        indirect_setups=("s1", "s2"),
        external_task_marker=("other", "wait_here", 3),
        owner="data-team",
        display_name="Load the orders",
        task_groups=("etl", "etl.load"),
    )
    return DagSpec(
        dag_id="every",
        fileloc="/dags/every.py",
        tasks={"u": TaskSpec("u", "EmptyOperator"), "t": task, "d1": TaskSpec("d1", "x")},
        schedule={"datasets": ["s3://a", "s3://b"]},
        start_date="2024-01-01T00:00:00+01:00",
        end_date="2024-12-31T00:00:00+01:00",
        timezone="Europe/Amsterdam",
        catchup=True,
        max_active_runs=2,
        max_active_tasks=4,
        dagrun_timeout=3600.0,
        description="desc",
        tags=("etl", "daily"),
        params={"n": 3, "nested": {"list": [1, {"x": None}]}, "when": "2024-01-01"},
        doc_md="dag doc",
        callbacks=("on_success_callback",),
        labels={"u": {"t": "on success"}, "t": {"d1": "first"}},
        param_schemas={"n": {"type": "integer", "enum": [1, 3]}, "need": {"type": "string"}},
        display_name="Orders, daily",
    )


def _check(spec: DagSpec) -> None:
    data = spec.to_dict()
    expected = _asdict(spec)
    assert data == expected
    assert json.dumps(data) == json.dumps(expected)  # the same keys in the same order
    assert DagSpec.from_dict(data) == spec


def test_a_spec_with_every_field_set_gives_what_asdict_gives() -> None:
    spec = _every_field_set()
    _check(spec)
    data = spec.to_dict()
    data["params"]["nested"]["list"].append(2)
    data["schedule"]["datasets"].append("s3://c")
    data["labels"]["u"]["t"] = "changed"
    data["param_schemas"]["n"]["enum"].append(4)
    assert spec.params["nested"]["list"] == [1, {"x": None}]  # copies, as asdict made
    assert spec.param_schemas["n"]["enum"] == [1, 3]
    assert spec.schedule == {"datasets": ["s3://a", "s3://b"]}
    assert spec.labels["u"] == {"t": "on success"}


def test_a_spec_with_defaults_only_gives_what_asdict_gives() -> None:
    _check(DagSpec("bare", "/dags/bare.py"))
    _check(DagSpec("cron", "/dags/cron.py", schedule="0 3 * * *"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_sample_dags_give_what_asdict_gives(path: Path) -> None:
    report = parse_here(path)
    assert report.problem is None
    for spec in report.specs:
        _check(spec)


def test_the_fields_and_defaults_are_the_dataclasses_ones() -> None:
    assert TaskSpec._fields == TASK_FIELDS
    assert DagSpec._fields == DAG_FIELDS
    task = TaskSpec("t", "EmptyOperator")
    assert (task.upstream, task.trigger_rule, task.retries, task.retry_delay) == (
        (),
        "all_success",
        0,
        300.0,
    )
    assert (task.pool, task.priority_weight, task.doc_md) == ("default_pool", 1, None)
    dag = DagSpec("d", "/dags/d.py")
    assert (dag.tasks, dag.schedule, dag.timezone, dag.catchup, dag.tags, dag.params) == (
        {},
        None,
        "UTC",
        False,
        (),
        {},
    )
    assert (dag.max_active_runs, dag.max_active_tasks, dag.description) == (1, 16, "")
    assert dag.labels == {}
    assert dag.param_schemas == {}


def test_a_spec_stored_before_param_schemas_reads_with_none() -> None:
    data = _every_field_set().to_dict()
    del data["param_schemas"]
    spec = DagSpec.from_dict(data)
    assert spec.param_schemas == {}
    assert spec.params == _every_field_set().params


def test_a_task_stored_before_task_groups_reads_in_none() -> None:
    data = _every_field_set().to_dict()
    assert json.loads(json.dumps(data))["tasks"]["t"]["task_groups"] == ["etl", "etl.load"]
    assert DagSpec.from_dict(json.loads(json.dumps(data))).tasks["t"].task_groups == (
        "etl",
        "etl.load",
    )
    del data["tasks"]["t"]["task_groups"]
    assert DagSpec.from_dict(data).tasks["t"].task_groups == ()


def test_each_spec_gets_its_own_tasks_and_params() -> None:
    one, two = DagSpec("one", "/dags/one.py"), DagSpec("two", "/dags/two.py")
    one.tasks["t"] = TaskSpec("t", "EmptyOperator")
    one.params["n"] = 1
    one.labels["t"] = {"u": "x"}
    one.param_schemas["n"] = {"type": "integer"}
    assert two.tasks == {} and two.params == {}  # noqa: PT018  # one check: both stay empty
    assert two.labels == {}
    assert two.param_schemas == {}
    assert DagSpec("three", "/dags/three.py").tasks == {}


def test_specs_compare_hash_and_print_as_the_dataclasses_did() -> None:
    spec = _every_field_set()
    assert spec == DagSpec.from_dict(spec.to_dict())
    assert spec != spec._replace(catchup=False)
    task = spec.tasks["t"]
    assert hash(task) == hash(TaskSpec.from_dict(task.to_dict()))
    with pytest.raises(TypeError):
        hash(spec)  # its tasks and params are dicts, as with the frozen dataclass
    with pytest.raises(AttributeError):
        spec.catchup = False  # type: ignore[misc]
    assert repr(TaskSpec("t", "EmptyOperator")).startswith(
        "TaskSpec(task_id='t', operator='EmptyOperator', upstream=(), downstream=(),"
    )
    assert repr(DagSpec("d", "f")) == (
        "DagSpec(dag_id='d', fileloc='f', tasks={}, schedule=None, start_date=None, "
        "end_date=None, timezone='UTC', catchup=False, max_active_runs=1, max_active_tasks=16, "
        "dagrun_timeout=None, description='', tags=(), params={}, doc_md=None, callbacks=(), "
        "labels={}, param_schemas={}, display_name=None)"
    )


def test_a_spec_survives_copy_and_pickle() -> None:
    spec = _every_field_set()
    assert copy.deepcopy(spec) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert type(copy.copy(spec)) is DagSpec


def test_to_dict_copies_even_empty_params() -> None:
    spec = DagSpec("bare", "/dags/bare.py")
    data = spec.to_dict()
    assert data["params"] == {}
    assert data["params"] is not spec.params
    data["params"]["n"] = 1
    assert spec.params == {}
