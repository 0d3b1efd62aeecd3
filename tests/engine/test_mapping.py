"""Dynamic task mapping in the scheduler, in process on a real store: a mapped task expands when
its trigger rule lets it run (in the transaction of its upstream's success), into instances
that run, retry, clear and mark one by one; downstream rules count every instance; dispatch
honours max_active_tis_per_dag(run); a schema-4 store migrates to keyed-by-map_index rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flowtui.commands.model import Clear, Mark
from flowtui.execution.base import AttemptOutcome
from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.dispatch import Dispatcher
from flowtui.spec import DagSpec
from flowtui.states import TaskState
from flowtui.store.schema import SCHEMA_VERSION, open_connection
from tests.engine.conftest import SUCCESS, World
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task

FAILED = AttemptOutcome(TaskState.FAILED, "boom", exit_code=1)


def _fan(trigger_rule: str = "all_success") -> DagSpec:
    """make -> each (mapped over make's return value) -> join."""
    return dag(
        "fan",
        task("make"),
        task("each", map_over=(("make", "return_value"),), trigger_rule=trigger_rule),
        task("join"),
        edges=[("make", "each"), ("each", "join")],
    )


def _instances(world: World, run: ActiveRun, task_id: str) -> list[tuple[int, str]]:
    rows = world.conn.execute(
        "SELECT map_index, state FROM task_instances WHERE dag_id = ? AND run_id = ? "
        "AND task_id = ? ORDER BY map_index",
        (run.dag_id, run.run_id, task_id),
    )
    return list(rows)


def _run_mapped(
    world: World, run: ActiveRun, task_id: str, outcomes: dict[int, AttemptOutcome]
) -> None:
    for ti in list(run.mapped[task_id]):
        if ti.state is TaskState.SCHEDULED:
            _attempt(world, run, ti, outcomes.get(ti.map_index, SUCCESS))


def _attempt(world: World, run: ActiveRun, ti: TI, outcome: AttemptOutcome = SUCCESS) -> None:
    from flowtui.scheduling import attempts

    log = f"/logs/{ti.task_id}/map_index={ti.map_index}/attempt={ti.try_number + 1}.log"
    attempts.queued(world.book, world.conn, run, ti, log, "host-1")
    attempts.started(world.book, world.conn, run, ti, 4242, world.clock())
    attempts.finished(world.book, world.conn, run, ti, outcome, world.clock())


def test_a_mapped_task_expands_over_its_upstream_list_in_the_same_transaction(
    world: World,
) -> None:
    """make's success turns each's instance -1 into 0..2, scheduled at once, as Airflow does."""
    run = world.start(_fan())
    assert world.take_ready() == ["make"]
    assert _instances(world, run, "each") == [(-1, "none")]
    world.attempt(run, "make", AttemptOutcome(TaskState.SUCCESS, xcom={"return_value": [5, 6, 7]}))
    assert _instances(world, run, "each") == [(0, "scheduled"), (1, "scheduled"), (2, "scheduled")]
    assert [(t, i) for _, t, i in world.book.ready] == [("each", 0), ("each", 1), ("each", 2)]
    assert "each" not in run.tis
    assert next(e["kind"] for e in world.events(run) if e["task_id"] == "each") == "expanded"


def test_join_waits_for_every_instance_and_fails_with_one(world: World) -> None:
    """Downstream's all_success counts each mapped instance: one failure is upstream_failed."""
    run = world.start(_fan())
    world.take_ready()
    world.attempt(run, "make", AttemptOutcome(TaskState.SUCCESS, xcom={"return_value": [1, 2]}))
    world.book.ready.clear()
    _attempt(world, run, run.mapped["each"][0])
    assert world.states(run)["join"] == "none"
    _attempt(world, run, run.mapped["each"][1], FAILED)
    assert world.states(run)["join"] == "upstream_failed"


def test_a_zero_length_expansion_skips_the_task_and_a_missing_value_fails_it(
    world: World,
) -> None:
    """[] skips the mapped task (and its downstream); a value that is not a list makes it
    upstream_failed with the reason, as Airflow."""
    run = world.start(_fan())
    world.take_ready()
    world.attempt(run, "make", AttemptOutcome(TaskState.SUCCESS, xcom={"return_value": []}))
    assert world.states(run) == {"make": "success", "each": "skipped", "join": "skipped"}
    other = world.start(_fan(trigger_rule="all_done"), run_id="r2")
    world.take_ready()
    world.attempt(other, "make", AttemptOutcome(TaskState.SUCCESS, xcom={"return_value": 3}))
    assert world.states(other)["each"] == "upstream_failed"
    [event] = [e for e in world.events(other) if e["new_state"] == "upstream_failed"][:1]
    assert "a int, not a list or dict" in event["detail"]


def test_literals_give_the_cross_product(world: World) -> None:
    spec = dag("lit", task("add", map_over=(2, 3)))
    run = world.start(spec)
    assert [s for _, s in _instances(world, run, "add")] == ["scheduled"] * 6


def test_clearing_one_instance_reruns_only_it_and_mark_takes_a_map_index(world: World) -> None:
    """Clear --map-index 1 resets instance 1 (and join below), not 0 or 2; mark names one."""
    run = world.start(_fan())
    world.take_ready()
    world.attempt(run, "make", AttemptOutcome(TaskState.SUCCESS, xcom={"return_value": [1, 2, 3]}))
    _run_mapped(world, run, "each", {1: FAILED})
    assert world.states(run)["join"] == "upstream_failed"
    world.book.ready.clear()
    result = world.apply(Clear("fan", run.run_id, "^each$", downstream=True, map_index=1))
    assert result["cleared"] == {run.run_id: ["each", "join"]}
    assert _instances(world, run, "each") == [(0, "success"), (1, "scheduled"), (2, "success")]
    assert [(t, i) for _, t, i in world.book.ready] == [("each", 1)]
    world.apply(Mark("fan", run.run_id, "each", "success", map_index=1))
    assert _instances(world, run, "each")[1] == (1, "success")
    assert world.states(run)["join"] == "scheduled"


def test_a_map_index_narrows_only_the_mapped_tasks_a_clear_names(world: World) -> None:
    """Clear ^(each|join)$ with map_index 1 (the dashboard's retry of each[1] and what failed
    below it): each's instance 1 and the unmapped join, not each's 0 or 2."""
    run = world.start(_fan())
    world.take_ready()
    world.attempt(run, "make", AttemptOutcome(TaskState.SUCCESS, xcom={"return_value": [1, 2, 3]}))
    _run_mapped(world, run, "each", {1: FAILED})
    result = world.apply(Clear("fan", run.run_id, "^(each|join)$", map_index=1))
    assert result["cleared"] == {run.run_id: ["each", "join"]}
    assert _instances(world, run, "each") == [(0, "success"), (1, "scheduled"), (2, "success")]
    assert world.states(run)["join"] == "none"


def test_dispatch_runs_at_most_max_active_tis_per_dag_instances(world: World) -> None:
    spec = dag("lim", task("t", map_over=(4,), max_active_tis_per_dag=2))
    run = world.start(spec)
    dispatcher = Dispatcher(parallelism=32)

    def queue(run: ActiveRun, ti: TI) -> int:
        from flowtui.scheduling import attempts

        attempts.queued(world.book, world.conn, run, ti, f"/l/{ti.map_index}", "h")
        return ti.map_index

    assert dispatcher.take(world.book, set, queue, world.conn) == [0, 1]
    assert dispatcher.take(world.book, set, queue, world.conn) == []
    assert dispatcher.ended(run.attempt_key(run.mapped["t"][0]))
    assert dispatcher.take(world.book, set, queue, world.conn) == [2]


def test_a_schema_4_store_migrates_keeping_its_rows(tmp_path: Path) -> None:
    """Task instances, attempts and XComs get map_index -1 and keep their order; events a
    map_index column; the store opens at the new version."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    from sqlite_utils import Database

    from flowtui.store import schema

    raw = sqlite3.connect(path)
    db = Database(raw)
    for step in schema._MIGRATIONS[:4]:
        step(db)
    raw.execute("PRAGMA user_version = 4")
    for task_id in ("b", "a"):
        raw.execute(
            "INSERT INTO task_instances (dag_id, run_id, task_id, state, try_number) "
            "VALUES ('d', 'r', ?, 'success', 2)",
            (task_id,),
        )
    raw.execute(
        "INSERT INTO attempts (dag_id, run_id, task_id, try_number, state) "
        "VALUES ('d', 'r', 'a', 1, 'failed')"
    )
    raw.execute(
        "INSERT INTO xcom (dag_id, run_id, task_id, key, value, timestamp) "
        "VALUES ('d', 'r', 'a', 'return_value', '[1]', 'ts')"
    )
    raw.execute(
        "INSERT INTO events (ts, kind, dag_id, actor) VALUES ('ts', 'task_state', 'd', 'x')"
    )
    raw.commit()
    raw.close()
    migrated = open_connection(path)
    assert migrated.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert migrated.execute(
        "SELECT task_id, map_index, state, try_number FROM task_instances ORDER BY rowid"
    ).fetchall() == [("b", -1, "success", 2), ("a", -1, "success", 2)]
    assert migrated.execute("SELECT task_id, map_index, state FROM attempts").fetchall() == [
        ("a", -1, "failed")
    ]
    assert migrated.execute("SELECT task_id, map_index, value FROM xcom").fetchall() == [
        ("a", -1, "[1]")
    ]
    assert migrated.execute("SELECT map_index FROM events").fetchall() == [(-1,)]
    migrated.execute(
        "INSERT INTO task_instances (dag_id, run_id, task_id, map_index) VALUES ('d', 'r', 'a', 0)"
    )  # a second instance of the same task: the key has map_index now
