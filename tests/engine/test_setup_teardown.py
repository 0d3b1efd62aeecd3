"""Setup and teardown tasks with Airflow's rules, in process on a real store: what a clear takes
along (a task's relevant setups and their teardowns), a task below a cleared setup waiting for
it, the run's leaves ignoring teardowns, and what a DAG file may not do with them. Whole runs
of Airflow-style files are in test_airflow_dags.py."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui import DAG, EmptyOperator, PythonOperator, TaskGroup, setup, task, teardown
from flowtui.commands.model import Clear
from flowtui.errors import InvalidArgument
from flowtui.execution.base import AttemptOutcome
from flowtui.loading.dag_file import parse_here
from flowtui.loading.serialization import dag_spec
from flowtui.scheduling import attempts
from flowtui.scheduling.active_run import RunKey
from flowtui.scheduling.clearing import tasks_to_clear
from flowtui.scheduling.run_book import RunBook
from flowtui.spec import DagSpec
from flowtui.states import TaskState
from flowtui.store import writes
from tests.engine.conftest import open_copy
from tests.engine.test_apply import NOW, SUCCESS, CommandWorld

FOLDER = Path(__file__).parent.parent / "airflow_dags"
FAILED = AttemptOutcome(TaskState.FAILED, "RuntimeError: gone", no_retry=True, exit_code=1)


def _noop() -> None:
    return None


def _layers() -> DagSpec:
    """create (setup) >> extract >> transform >> load >> delete (teardown of create), and
    lock (a setup without teardown) >> load."""
    with DAG("layers", schedule=None) as dag:
        create, extract, transform, load, delete, lock = (
            PythonOperator(task_id=t, python_callable=_noop)
            for t in ("create", "extract", "transform", "load", "delete", "lock")
        )
        create >> extract >> transform >> load >> delete.as_teardown(setups=create)
        lock.as_setup() >> load
    return dag_spec(dag, "/dags/layers.py")


LAYERS = _layers()


@pytest.fixture(scope="module")
def airflow_specs() -> dict[str, DagSpec]:
    """The Airflow-style setup/teardown file, parsed here (its `airflow` hook taken out after)."""
    before = list(sys.meta_path)
    report = parse_here(FOLDER / "airflow_setup_teardown.py")
    sys.meta_path[:] = before
    for name in [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]:
        del sys.modules[name]
    assert report.problem is None, report.problem
    return {spec.dag_id: spec for spec in report.specs}


@pytest.fixture
def world(
    tmp_path: Path, migrated_store: Path, airflow_specs: dict[str, DagSpec]
) -> Iterator[CommandWorld]:
    store = open_copy(migrated_store, tmp_path)
    for spec in (LAYERS, *airflow_specs.values()):
        writes.upsert_dag(store.conn, spec, "2024-03-05T06:00:00+00:00")
    yield CommandWorld(store, RunBook(lambda: NOW))
    store.close()


def test_the_loader_marks_setups_teardowns_and_the_setups_a_task_waits_for() -> None:
    tasks = LAYERS.tasks
    assert [t for t in tasks if tasks[t].is_setup] == ["create", "lock"]
    assert [t for t in tasks if tasks[t].is_teardown] == ["delete"]
    assert tasks["delete"].trigger_rule == "all_done_setup_success"
    assert tasks["delete"].upstream == ("create", "load")
    # Relevant setups that are not direct upstream; lock has no teardown, so it counts for
    # every task below it; none for a teardown.
    assert {t: s.indirect_setups for t, s in tasks.items() if s.indirect_setups} == {
        "transform": ("create",),
        "load": ("create",),
    }


def test_the_runs_leaves_are_airflows_effective_leaves() -> None:
    """Teardowns do not decide the run unless they fail it; a task with only such teardowns
    below it does."""
    assert LAYERS.leaves == ["load"]
    fails_run = LAYERS._replace(
        tasks={
            **LAYERS.tasks,
            "delete": LAYERS.tasks["delete"]._replace(on_failure_fail_dagrun=True),
        }
    )
    assert fails_run.leaves == ["delete"]
    alone = {"delete": LAYERS.tasks["delete"]._replace(upstream=())}
    assert DagSpec("t", "/dags/t.py", alone).leaves == ["delete"]  # a DAG of teardowns only


@pytest.mark.parametrize(
    ("selected", "upstream", "downstream", "cleared"),
    [
        # A task: its relevant setups and their teardowns.
        (["transform"], False, False, {"transform", "create", "delete"}),
        # lock has no teardown: relevant to everything below it.
        (["load"], False, False, {"load", "create", "delete", "lock"}),
        # A setup: its teardowns; a teardown: itself.
        (["create"], False, False, {"create", "delete"}),
        (["delete"], False, False, {"delete"}),
        # Upstream follows each setup to its teardowns.
        (["delete"], True, False, {"delete", "create", "extract", "transform", "load", "lock"}),
        # Downstream adds the setups of what it reaches.
        (["extract"], False, True, {"extract", "transform", "load", "delete", "create", "lock"}),
    ],
)
def test_what_a_clear_takes_along_is_airflows(
    selected: list[str], upstream: bool, downstream: bool, cleared: set[str]
) -> None:
    assert tasks_to_clear(LAYERS, selected, upstream=upstream, downstream=downstream) == cleared


def test_clearing_the_work_clears_its_setup_and_teardown(world: CommandWorld) -> None:
    """From the command line and the dashboard (both send this command): the work task of a
    finished run takes its setup and teardown along, the other pair stays as it was."""
    world.run_to_end("airflow_setup_teardown", "r1", {"delete_cluster": FAILED})
    result = world.apply(Clear("airflow_setup_teardown", "r1", "^query$"))
    assert result["cleared"] == {"r1": ["create_cluster", "query", "delete_cluster"]}
    assert world.states("airflow_setup_teardown", "r1") == {
        "create_cluster": "none",
        "query": "none",
        "delete_cluster": "none",
        "maybe_lock": "success",
        "locked_work": "success",
        "unlock": "success",
    }


def _finish(world: CommandWorld, run_key: RunKey, task_id: str, outcome: AttemptOutcome) -> None:
    run = world.book.runs[run_key]
    world.queue(run, task_id, pid=4242)
    attempts.finished(world.book, world.conn, run, run.tis[task_id], outcome, NOW)


def _ready(world: CommandWorld) -> list[str]:
    found = [task_id for _, task_id, _ in world.book.ready]
    world.book.ready.clear()
    return found


def test_a_task_below_a_cleared_setup_waits_for_it_then_runs(world: CommandWorld) -> None:
    """transform's setup is two tasks up: cleared with it, transform waits for the setup, and
    runs when it succeeds although extract, between them, did not run again."""
    world.run_to_end("layers", "r1")
    world.apply(Clear("layers", "r1", "^transform$"))
    key = RunKey("layers", "r1")
    world.book.start_run(world.conn, world.book.runs[key])
    assert _ready(world) == ["create"]
    _finish(world, key, "create", SUCCESS)
    # delete runs at once too: load, its other upstream, was not cleared (as in Airflow).
    assert _ready(world) == ["transform", "delete"]


@pytest.mark.parametrize(
    ("outcome", "below"),
    [(FAILED, "upstream_failed"), (AttemptOutcome(TaskState.SKIPPED), "skipped")],
)
def test_a_task_below_a_setup_that_fails_or_skips_follows_it_whatever_its_rule(
    world: CommandWorld, outcome: AttemptOutcome, below: str
) -> None:
    world.run_to_end("layers", "r1")
    world.apply(Clear("layers", "r1", "^transform$"))
    key = RunKey("layers", "r1")
    world.book.start_run(world.conn, world.book.runs[key])
    _ready(world)
    _finish(world, key, "create", outcome)
    states = world.states("layers", "r1")
    assert (states["transform"], states["delete"]) == (
        below,
        "skipped" if below == "skipped" else "upstream_failed",
    )


def _dag_with(build: Callable[[], Any]) -> None:
    with DAG("bad", schedule=None):
        build()


def _after_setup_not_all_success() -> None:
    made = EmptyOperator(task_id="made").as_setup()
    made >> EmptyOperator(task_id="after", trigger_rule="all_done")


def _fail_dagrun_on_work() -> None:
    EmptyOperator(task_id="work").on_failure_fail_dagrun = True


def _group_as_setup() -> None:
    with TaskGroup("grp") as group:
        EmptyOperator(task_id="t")
    group.as_setup()


def _teardown_with_rule() -> None:
    @teardown
    @task(trigger_rule="all_done")
    def remove() -> None:
        return None

    remove()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (_after_setup_not_all_success, "DAG 'bad', task 'after': follows setup task 'made', so"),
        (_fail_dagrun_on_work, "on_failure_fail_dagrun=True is for teardown tasks only"),
        (_group_as_setup, "task group 'grp': task groups cannot be marked as setup or teardown"),
        (_teardown_with_rule, "a teardown's trigger_rule is all_done_setup_success"),
    ],
)
def test_what_airflow_refuses_is_one_line(build: Callable[[], None], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")) as info:
        _dag_with(build)
    assert "\n" not in str(info.value)


def test_setup_refuses_what_is_no_function() -> None:
    with pytest.raises(InvalidArgument, match="@setup: decorates a function"):
        setup(42)  # type: ignore[arg-type]


def test_a_decorated_setup_keeps_its_mark_through_override() -> None:
    @setup
    def create() -> str:
        return "x"

    with DAG("d", schedule=None) as dag:
        create.override(task_id="other")()
    assert dag.get_task("other").is_setup
