"""Dataset-triggered runs in process: `dataset_triggers.trigger_if_ready` creates a run once
each dataset of a DAG's schedule was updated since its previous dataset-triggered run, and
the run keeps the latest update of each."""

from __future__ import annotations

import json

from flowtui.clock import to_text
from flowtui.scheduling import dataset_triggers
from flowtui.store import reads, writes
from tests.engine.conftest import World, at
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task

A, B = "s3://bucket/a", "file:///data/b.csv"
CONSUMER = dag("consumer", task("use"), schedule={"datasets": [B, A]})


def _update(world: World, uri: str, seconds: float) -> None:
    writes.record_dataset_updates(world.conn, ("producer", "r1", "make", -1), [uri], at(seconds))


def _runs(world: World) -> list[dict[str, object]]:
    return reads.runs(world.conn, "consumer")


def test_a_run_waits_for_every_dataset_and_keeps_the_latest_update_of_each(
    world: World,
) -> None:
    writes.upsert_dag(world.conn, CONSUMER, to_text(world.clock()))
    _update(world, A, 1)
    dataset_triggers.trigger_if_ready(world.conn, world.book, CONSUMER, world.clock())
    assert _runs(world) == []
    _update(world, A, 2)
    _update(world, B, 3)
    dataset_triggers.trigger_if_ready(world.conn, world.book, CONSUMER, world.clock())
    (run,) = _runs(world)
    trigger = json.loads(str(run["triggered_by"]))
    assert trigger["up_to"] == 3
    assert [(u["uri"], u["id"], u["ts"]) for u in trigger["updates"]] == [
        (B, 3, at(3)),
        (A, 2, at(2)),
    ]
    world.clock.advance(60)
    dataset_triggers.trigger_if_ready(world.conn, world.book, CONSUMER, world.clock())
    assert len(_runs(world)) == 1  # nothing new since
    _update(world, B, 61)
    dataset_triggers.trigger_if_ready(world.conn, world.book, CONSUMER, world.clock())
    assert len(_runs(world)) == 1  # A not again yet
