"""Which runs and task instances start: `start_queued_runs` within max_active_runs and pause,
`Dispatcher.take` by priority within parallelism and max_active_tasks, each task instance at
most once. In process, on a real store."""

from __future__ import annotations

from pathlib import Path

from flowtui.commands.model import Clear
from flowtui.config import Settings
from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.dispatch import Dispatcher, attempt_request, start_queued_runs
from flowtui.states import RunState
from tests.engine.conftest import LOGICAL, World
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task

ETL = dag("etl", task("extract"), task("load"), edges=[("extract", "load")], max_active_runs=1)
FAN = dag("fan", *(task(f"t{i}", priority_weight=i) for i in range(6)), max_active_tasks=4)


def _taken(dispatcher: Dispatcher, world: World, paused: set[str] | None = None) -> list[str]:
    def queue(run: ActiveRun, ti: TI) -> str:
        world.queue(run, ti.task_id)
        return ti.task_id

    return dispatcher.take(world.book, lambda: paused or set(), queue, world.conn)


def test_higher_priority_starts_first_within_max_active_tasks(world: World) -> None:
    """Six ready tasks, max_active_tasks 4: the four heaviest start; one ends, the next goes."""
    run = world.start(FAN)
    dispatcher = Dispatcher(parallelism=32)
    assert _taken(dispatcher, world) == ["t5", "t4", "t3", "t2"]
    assert _taken(dispatcher, world) == []
    assert dispatcher.ended(run.attempt_key(run.tis["t5"]))
    assert _taken(dispatcher, world) == ["t1"]


def test_parallelism_bounds_every_dag_together(world: World) -> None:
    """parallelism 2 over two DAGs' ready tasks: two attempts at a time."""
    world.start(FAN)
    world.start(ETL)
    assert len(_taken(Dispatcher(parallelism=2), world)) == 2
    assert len(world.book.ready) == 0


def test_a_paused_dag_starts_no_task_until_unpaused(world: World) -> None:
    """Pausing holds ready tasks back; they start once the DAG is unpaused."""
    world.start(ETL)
    dispatcher = Dispatcher(parallelism=32)
    assert _taken(dispatcher, world, paused={"etl"}) == []
    assert _taken(dispatcher, world) == ["extract"]


def test_a_task_cleared_while_it_waits_for_a_slot_gets_one_attempt(world: World) -> None:
    """Cleared while paused, a scheduled task is queued twice; it must start once only."""
    run = world.start(ETL)
    dispatcher = Dispatcher(parallelism=32)
    assert _taken(dispatcher, world, paused={"etl"}) == []
    world.apply(Clear("etl", run.run_id, "^extract$"))
    assert _taken(dispatcher, world) == ["extract"]
    assert _taken(dispatcher, world) == []


def test_queued_runs_start_oldest_first_within_max_active_runs(world: World) -> None:
    """Three queued runs of a DAG with max_active_runs 1: the oldest starts, the rest wait;
    a paused DAG starts none."""
    for day in (3, 1, 2):
        world.create(ETL, f"manual__{day}", LOGICAL.replace(day=day))
    conn = world.conn
    assert start_queued_runs(world.book, conn, paused=lambda: {"etl"}) == 0
    assert start_queued_runs(world.book, conn, paused=set) == 1
    running = [r.run_id for r in world.book.runs.values() if r.state is RunState.RUNNING]
    assert running == ["manual__1"]


def test_pause_is_looked_up_only_when_a_run_is_queued(world: World) -> None:
    """With no queued run, starting queued runs asks nothing of the store."""
    world.start(ETL)

    def paused() -> set[str]:
        raise AssertionError("paused() called with no run queued")

    assert start_queued_runs(world.book, world.conn, paused) == 0


def test_an_attempt_gets_the_previous_success_by_date_not_by_text(
    world: World, tmp_path: Path
) -> None:
    """prev_data_interval_*_success, looked up once per run for its attempts, is the data
    interval of the latest earlier successful run, dates compared as datetimes whatever
    offset they were written with, as the task's context compares them."""
    run = world.create(ETL)
    for run_id, logical, start in [
        ("earlier", "2024-03-05T01:00:00+02:00", "2024-03-04T00:00:00+00:00"),  # 23:00 UTC
        ("later", "2024-03-04T23:30:00-02:00", "2024-03-05T00:00:00+00:00"),  # 01:30 UTC
    ]:
        world.conn.execute(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
            "data_interval_start, data_interval_end) "
            "VALUES ('etl', ?, 'manual', 'success', ?, ?, ?)",
            (run_id, logical, start, logical),
        )
    settings = Settings(tmp_path, tmp_path, "flag")
    request = attempt_request(world.conn, settings, run, run.tis["extract"], "/log", {})
    assert request.info.prev_success == ("2024-03-04T00:00:00+00:00", "2024-03-05T01:00:00+02:00")
