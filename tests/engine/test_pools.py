"""Pools in the dispatcher (`Dispatcher.take`, in process, on a real store): the slots of a
pool bound its attempts, highest priority first; an attempt that ends frees its slots at
once; `default_pool` has `parallelism` slots until set; a pool command counts from the next
take; a task whose pool does not exist, or is too small, fails at once without retries, with
the cause in its events and its failure alert, and the run goes on by trigger rules. And the
store: the `pools` table from each older schema, `reads.pools`' used and queued counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowtui.commands.model import DeletePool, SetPool
from flowtui.errors import CommandRejected, InvalidInput
from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.dispatch import Dispatcher
from flowtui.scheduling.effects import SendAlert
from flowtui.spec import TaskSpec
from flowtui.store import reads
from flowtui.store.schema import SCHEMA_VERSION, open_connection
from tests.engine.conftest import SUCCESS, World, store_at_version
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task


def _taken(dispatcher: Dispatcher, world: World) -> list[str]:
    def queue(run: ActiveRun, ti: TI) -> str:
        world.queue(run, ti.task_id)
        return ti.task_id

    return dispatcher.take(world.book, set, queue, world.conn)


def _end(dispatcher: Dispatcher, world: World, run: ActiveRun, task_id: str) -> None:
    """The attempt of `task_id` exits with success, as the service records it."""
    assert dispatcher.ended(run.attempt_key(run.tis[task_id]))
    world.begin(run, task_id)
    world.end(run, task_id, SUCCESS)


def _in(pool: str, count: int, **fields: Any) -> list[TaskSpec]:
    return [task(f"t{i}", pool=pool, priority_weight=i, **fields) for i in range(count)]


def test_a_pool_bounds_its_attempts_and_an_ending_one_frees_its_slot(world: World) -> None:
    """Four tasks in a pool of 2 (parallelism 32): the two heaviest start; one ends, the next
    heaviest starts at once; the others wait `scheduled`."""
    world.apply(SetPool("etl", 2))
    run = world.start(dag("fan", *_in("etl", 4)))
    dispatcher = Dispatcher(parallelism=32)
    assert _taken(dispatcher, world) == ["t3", "t2"]
    assert _taken(dispatcher, world) == []
    assert world.states(run)["t1"] == "scheduled"
    _end(dispatcher, world, run, "t3")
    assert _taken(dispatcher, world) == ["t1"]


def test_pool_slots_2_in_a_pool_of_2_runs_alone(world: World) -> None:
    """A task holding both slots runs alone; a lighter task that fits goes ahead of a heavier
    one that does not (Airflow's order), and the big one starts once the pool is empty."""
    world.apply(SetPool("etl", 2))
    big = task("big", pool="etl", pool_slots=2, priority_weight=10)
    run = world.start(dag("mix", big, *_in("etl", 2)))
    dispatcher = Dispatcher(parallelism=32)
    assert _taken(dispatcher, world) == ["big"]
    assert _taken(dispatcher, world) == []
    _end(dispatcher, world, run, "big")
    assert _taken(dispatcher, world) == ["t1", "t0"]


def test_default_pool_has_parallelism_slots_until_set(world: World) -> None:
    """Tasks of default_pool needing 2 slots each, parallelism 3: one at a time (3 slots);
    with default_pool set to 4, two at a time; a task needing more than it has fails."""
    run = world.start(dag("fan", *_in("default_pool", 3, pool_slots=2)))
    dispatcher = Dispatcher(parallelism=3)
    assert _taken(dispatcher, world) == ["t2"]
    world.apply(SetPool("default_pool", 4))
    assert _taken(dispatcher, world) == ["t1"]
    world.apply(SetPool("default_pool", 1))
    assert _taken(dispatcher, world) == []
    assert world.states(run)["t0"] == "failed"
    assert world.events(run, "task_state")[-1]["detail"] == (
        "task 't0' needs 2 slots of pool 'default_pool', which has 1; lower its pool_slots "
        "or enlarge the pool: flowtui pools set default_pool 2"
    )


def test_a_pool_change_counts_at_the_next_take(world: World) -> None:
    """A pool of 0 slots holds its tasks; resized, they start without anything else moving."""
    world.apply(SetPool("gate", 0))
    run = world.start(dag("held", *_in("gate", 2)))
    dispatcher = Dispatcher(parallelism=32)
    assert _taken(dispatcher, world) == []
    assert reads.pools(world.conn, 32)[1] == reads.PoolRow("gate", 0, 0, 2, "")
    world.apply(SetPool("gate", 5, "released"))
    assert _taken(dispatcher, world) == ["t1", "t0"]
    assert world.states(run) == {"t0": "queued", "t1": "queued"}
    assert reads.pools(world.conn, 32)[1] == reads.PoolRow("gate", 5, 2, 0, "released")


def test_an_unknown_pool_fails_the_task_at_once_and_the_run_goes_on(world: World) -> None:
    """A task of a pool nobody created fails without a try and without its retries, its
    cause the one-line error; the failure alerts; below it, all_done runs, all_success is
    upstream_failed; a task beside it runs."""
    spec = dag(
        "etl",
        task("load", pool="warehouse", retries=3, email=("ops@example.com",)),
        task("cleanup", trigger_rule="all_done"),
        task("report"),
        task("beside"),
        edges=[("load", "cleanup"), ("load", "report")],
    )
    run = world.start(spec)
    dispatcher = Dispatcher(parallelism=32)
    assert sorted(_taken(dispatcher, world)) == ["beside"]
    assert sorted(_taken(dispatcher, world)) == ["cleanup"]
    cause = "pool 'warehouse' does not exist; create it with: flowtui pools set warehouse SLOTS"
    states = world.states(run)
    assert (states["load"], states["report"], states["cleanup"]) == (
        "failed",
        "upstream_failed",
        "queued",
    )
    row = world.ti_row(run, "load")
    assert (row["try_number"], row["log_path"], row["next_try_at"]) == (0, None, None)
    assert world.attempt_rows(run, "load") == []
    failed = [e for e in world.events(run, "task_state") if e["task_id"] == "load"][-1]
    assert (failed["old_state"], failed["new_state"], failed["detail"]) == (
        "scheduled",
        "failed",
        cause,
    )
    (alert,) = [e.notice for e in world.book.effects if isinstance(e, SendAlert)]
    assert (alert.event, alert.task_id, alert.error, alert.log_path) == (
        "failure",
        "load",
        cause,
        None,
    )


def test_a_deleted_pool_fails_the_next_try_and_lets_the_running_one_finish(
    world: World,
) -> None:
    world.apply(SetPool("etl", 1))
    run = world.start(dag("two", *_in("etl", 2)))
    dispatcher = Dispatcher(parallelism=32)
    assert _taken(dispatcher, world) == ["t1"]
    world.apply(DeletePool("etl"))
    assert _taken(dispatcher, world) == []
    assert world.states(run) == {"t0": "failed", "t1": "queued"}
    _end(dispatcher, world, run, "t1")
    assert world.states(run)["t1"] == "success"


def test_attempts_handed_over_by_recovery_hold_their_slots(world: World) -> None:
    """A scheduler that adopts a running attempt counts its pool slots."""
    world.apply(SetPool("etl", 2))
    run = world.start(dag("fan", *_in("etl", 3, pool_slots=1)))
    first = Dispatcher(parallelism=32)
    assert _taken(first, world) == ["t2", "t1"]
    adopting = Dispatcher(parallelism=32)
    for task_id in ("t2", "t1"):
        adopting.resume(run.attempt_key(run.tis[task_id]))
    world.book.ready.append((run.key, "t0", -1))  # as loading the run again finds it scheduled
    assert _taken(adopting, world) == []
    _end(adopting, world, run, "t2")
    assert _taken(adopting, world) == ["t0"]


def test_pool_commands_check_their_input_and_are_audited(world: World) -> None:
    with pytest.raises(InvalidInput, match="pool slots -1 is not valid; give a whole number"):
        world.apply(SetPool("etl", -1))
    with pytest.raises(CommandRejected, match="default_pool cannot be deleted"):
        world.apply(DeletePool("default_pool"))
    with pytest.raises(CommandRejected, match="pool 'nope' does not exist"):
        world.apply(DeletePool("nope"))
    world.apply(SetPool("etl", 3, "warehouse"), actor="cli:alice")
    world.apply(SetPool("etl", 4), actor="cli:alice")  # keeps the description
    assert reads.pools(world.conn, 8) == [
        reads.PoolRow("default_pool", 8, 0, 0, "slots follow parallelism until set"),
        reads.PoolRow("etl", 4, 0, 0, "warehouse"),
    ]
    world.apply(DeletePool("etl"), actor="tui:bob")
    events = [e for e in reads.events(world.conn) if e["kind"] == "command"]
    assert [(e["actor"], e["detail"]) for e in events] == [
        (
            "cli:alice",
            '{"command": "set_pool", "args": {"name": "etl", "slots": 3, '
            '"description": "warehouse"}}',
        ),
        (
            "cli:alice",
            '{"command": "set_pool", "args": {"name": "etl", "slots": 4, "description": null}}',
        ),
        ("tui:bob", '{"command": "delete_pool", "args": {"name": "etl"}}'),
    ]


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_older_store_migrates_to_one_with_pools(tmp_path: Path, version: int) -> None:
    migrated = open_connection(store_at_version(tmp_path / "old.db", version))
    assert migrated.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert reads.pool_slots(migrated) == {}
    assert [row.name for row in reads.pools(migrated, 32)] == ["default_pool"]
    migrated.close()
