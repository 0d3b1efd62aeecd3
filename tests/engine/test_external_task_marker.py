"""`ExternalTaskMarker` as Airflow's: clearing the marker clears the other DAG's task and its
downstream in the run of the same logical date, recursively up to `recursion_depth`; in process
with the command the command line and the dashboard send, then once through the real command
line. The DAGs come from the Airflow-style file in tests/airflow_dags/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from flowtui import DAG, ExternalTaskMarker, PythonOperator
from flowtui.commands.model import Clear, Trigger
from flowtui.errors import CommandRejected, InvalidArgument
from flowtui.loading.dag_file import parse_here
from flowtui.loading.serialization import dag_spec
from flowtui.scheduling.run_book import RunBook
from flowtui.spec import DagSpec
from flowtui.store import writes
from tests.conftest import Home
from tests.engine.conftest import open_copy
from tests.engine.test_apply import NOW, CommandWorld

FOLDER = Path(__file__).parent.parent / "airflow_dags"
PARENT, CHILD, GRANDCHILD = (
    "airflow_marker_parent",
    "airflow_marker_child",
    "airflow_marker_grandchild",
)


@pytest.fixture(scope="module")
def marker_specs() -> list[DagSpec]:
    """The Airflow-style marker file, parsed here (its `airflow` hook taken out after)."""
    before = list(sys.meta_path)
    report = parse_here(FOLDER / "airflow_external_marker.py")
    sys.meta_path[:] = before
    for name in [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]:
        del sys.modules[name]
    assert report.problem is None, report.problem
    return list(report.specs)


def _chain_of_markers(depth: int) -> list[DagSpec]:
    """m0 marks m1's t, m1's t is followed by a marker of m2's t, and so on, each with
    `recursion_depth=depth`."""
    specs = []
    for n in range(3):
        with DAG(f"m{n}", schedule=None) as dag:
            work = PythonOperator(task_id="t", python_callable=print)
            work >> ExternalTaskMarker(
                task_id="mark",
                external_dag_id=f"m{n + 1}",
                external_task_id="t",
                recursion_depth=depth,
            )
        specs.append(dag_spec(dag, f"/dags/m{n}.py"))
    return specs


@pytest.fixture
def world(tmp_path: Path, migrated_store: Path, marker_specs: list[DagSpec]) -> Any:
    store = open_copy(migrated_store, tmp_path)
    for spec in [*marker_specs, *_chain_of_markers(1)]:
        writes.upsert_dag(store.conn, spec, "2024-03-05T06:00:00+00:00")
    yield CommandWorld(store, RunBook(lambda: NOW))
    store.close()


def test_a_marker_is_stored_with_what_it_marks(marker_specs: list[DagSpec]) -> None:
    tasks = {spec.dag_id: spec.tasks for spec in marker_specs}
    assert tasks[PARENT]["clear_child"].external_task_marker == (CHILD, "wait_for_parent", 10)
    assert tasks[CHILD]["clear_grandchild"].external_task_marker == (GRANDCHILD, "receive", 3)
    assert tasks[CHILD]["process"].external_task_marker is None


def test_clearing_the_marker_clears_the_other_dags_task_and_downstream_recursively(
    world: CommandWorld,
) -> None:
    for dag_id, run_id in ((PARENT, "p1"), (CHILD, "c1"), (GRANDCHILD, "g1")):
        world.run_to_end(dag_id, run_id)
    world.apply(Trigger(CHILD, run_id="other_day", logical_date="2024-03-04"))
    # What the dashboard's clear dialog sends for the marker alone.
    result = world.apply(Clear(PARENT, "p1", "^(clear_child)$"))
    assert result["cleared"] == {"p1": ["clear_child"]}
    assert result["external"] == [
        {
            "dag_id": CHILD,
            "run_id": "c1",
            "task_ids": ["wait_for_parent", "process", "clear_grandchild"],
        },
        {"dag_id": GRANDCHILD, "run_id": "g1", "task_ids": ["receive", "finish"]},
    ]
    assert world.states(PARENT, "p1") == {"start": "success", "clear_child": "none"}
    assert set(world.states(CHILD, "c1").values()) == {"none"}
    assert set(world.states(GRANDCHILD, "g1").values()) == {"none"}
    assert world.run_row(CHILD, "c1")["state"] == "queued"
    assert set(world.states(CHILD, "other_day").values()) == {"none"}  # another date: untouched
    assert world.run_row(CHILD, "other_day")["state"] == "queued"


def test_clearing_other_tasks_or_only_failed_ones_leaves_the_other_dag_alone(
    world: CommandWorld,
) -> None:
    world.run_to_end(PARENT, "p1")
    world.run_to_end(CHILD, "c1")
    assert "external" not in world.apply(Clear(PARENT, "p1", "^start$"))
    assert "external" not in world.apply(Clear(PARENT, "p1", "clear_child", only_failed=True))
    assert set(world.states(CHILD, "c1").values()) == {"success"}


def test_a_chain_of_markers_deeper_than_recursion_depth_is_refused_whole(
    world: CommandWorld,
) -> None:
    """m0's marker reaches m1, whose own marker would reach m2: two DAGs deep with
    recursion_depth 1, refused as Airflow refuses it, and nothing is cleared."""
    for dag_id in ("m0", "m1", "m2"):
        world.run_to_end(dag_id, "r")
    before = world.snapshot()
    with pytest.raises(CommandRejected, match="'mark' of DAG 'm1': the clear reaches further"):
        world.apply(Clear("m0", "r", "^mark$"))
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"logical_date": "{{ ds }}"}, "logical_date='{{ ds }}' is not supported"),
        ({"external_task_id": "{{ params.t }}"}, "external_task_id must be a plain id"),
        ({"recursion_depth": 0}, "recursion_depth must be a whole number >= 1"),
    ],
)
def test_what_flowtui_cannot_honour_is_refused_at_load(
    arguments: dict[str, Any], message: str
) -> None:
    given: dict[str, Any] = {"external_dag_id": "x", "external_task_id": "t", **arguments}
    with DAG("d", schedule=None), pytest.raises(InvalidArgument, match=message.replace("{", ".")):
        ExternalTaskMarker(task_id="m", **given)


def test_the_command_line_clears_through_the_marker(home: Home) -> None:
    """Both DAGs run with `dags test` (the child's sensor waits for the parent's run), then
    `tasks clear --dry-run` of the marker lists the child's tasks it would clear, and `tasks
    clear` names and clears them; the grandchild has no run
    of that date, so nothing of it is cleared."""
    folder = ("--dags-folder", str(FOLDER))
    for dag_id in (PARENT, CHILD):
        done = home.run(
            *folder, "dags", "test", dag_id, "--logical-date", "2024-01-15", timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
    run_id = "test__2024-01-15T00:00:00+00:00"
    elsewhere = f"  and in DAG {CHILD}, {run_id}: wait_for_parent, process, clear_grandchild"
    preview = home.run(*folder, "tasks", "clear", PARENT, "--task", "clear_child", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.splitlines() == [
        "would clear 1 task instance(s) in 1 run(s)",
        f"  {run_id}: clear_child",
        elsewhere,
    ]
    done = home.run(*folder, "tasks", "clear", PARENT, "--run", run_id, "--task", "clear_child")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "cleared 1 task instance(s) in 1 run(s)",
        f"  {run_id}: clear_child",
        elsewhere,
    ]
    shown = json.loads(home.run(*folder, "runs", "show", CHILD, "--output", "json").stdout)
    assert {t: ti["state"] for t, ti in shown["tasks"].items()} == dict.fromkeys(
        ("wait_for_parent", "process", "clear_grandchild"), "none"
    )
