"""`DagSpec.to_dict`, written out by hand for speed, gives what `dataclasses.asdict` gave."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import flowtui.sample_dags
from flowtui.loading.dag_file import parse_here
from flowtui.spec import DagSpec, TaskSpec

SAMPLES = sorted(Path(flowtui.sample_dags.__file__).parent.glob("*.py"))


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
        priority_weight=7,
        runs_bash=True,
        skip_exit_codes=(99, 100),
        outlets=("s3://bucket/key",),
        doc_md="# doc",
    )
    return DagSpec(
        dag_id="every",
        fileloc="/dags/every.py",
        tasks={"u": TaskSpec("u", "EmptyOperator"), "t": task},
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
    )


def _check(spec: DagSpec) -> None:
    data = spec.to_dict()
    expected = dataclasses.asdict(spec)
    assert data == expected
    assert json.dumps(data) == json.dumps(expected)  # the same keys in the same order
    assert DagSpec.from_dict(data) == spec


def test_a_spec_with_every_field_set_gives_what_asdict_gives() -> None:
    spec = _every_field_set()
    _check(spec)
    data = spec.to_dict()
    data["params"]["nested"]["list"].append(2)
    data["schedule"]["datasets"].append("s3://c")
    assert spec.params["nested"]["list"] == [1, {"x": None}]  # copies, as asdict made
    assert spec.schedule == {"datasets": ["s3://a", "s3://b"]}


def test_a_spec_with_defaults_only_gives_what_asdict_gives() -> None:
    _check(DagSpec("bare", "/dags/bare.py"))
    _check(DagSpec("cron", "/dags/cron.py", schedule="0 3 * * *"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_sample_dags_give_what_asdict_gives(path: Path) -> None:
    report = parse_here(path)
    assert report.problem is None
    for spec in report.specs:
        _check(spec)
