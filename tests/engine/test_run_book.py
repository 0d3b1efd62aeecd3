"""The run state machine in process: `RunBook` and the attempt transitions of `attempts`, on a
real SQLite store and a clock that moves only when the test moves it. No executor and no child
process: a test reports each attempt's start and exit as the scheduler service would."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest

from flowtui.clock import to_text
from flowtui.commands.model import Clear, Mark
from flowtui.execution.base import AttemptKey, AttemptOutcome
from flowtui.scheduling import attempts, recovery
from flowtui.scheduling.active_run import ActiveRun
from flowtui.scheduling.changes import RunStateChanged, TaskStateChanged
from flowtui.scheduling.effects import KillAttempt, RetryAt
from flowtui.scheduling.run_book import RunBook, is_driven_elsewhere
from flowtui.spec import DagSpec, TaskSpec
from flowtui.states import RunState, TaskState
from flowtui.store import reads, writes
from tests.conftest import wait_until
from tests.engine.conftest import LOGICAL, NOW, STARTED, SUCCESS, World, at, pick
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task

FAILED = AttemptOutcome(TaskState.FAILED, "ValueError: bad row 7", exit_code=1)
GIVE_UP = AttemptOutcome(TaskState.FAILED, "AirflowFailException: no", no_retry=True, exit_code=1)
SKIPPED = AttemptOutcome(TaskState.SKIPPED, "AirflowSkipException", exit_code=0)
KILLED = AttemptOutcome(TaskState.FAILED, "stopped (was killed by SIGTERM)", exit_code=-15)
"""What `outcomes.outcome_of` makes of an attempt the scheduler stopped."""

DEAD_PID = 2**31 - 2
"""Above any kernel's pid_max, so no process has it."""


def chain(dag_id: str, *tasks: TaskSpec, **fields: Any) -> DagSpec:
    return dag(dag_id, *tasks, edges=itertools.pairwise(t.task_id for t in tasks), **fields)


ETL = chain(
    "etl",
    task("extract", retries=1, retry_delay=60),
    task("transform", retries=1, retry_delay=60),
    task("load", retries=1, retry_delay=60),
)
FLAKY = chain("flaky", task("fetch", retries=2, retry_delay=60), task("store"))


def branching(join_rule: str) -> DagSpec:
    """pick >> [left, right]; [left, right] >> join; right >> right_only."""
    return dag(
        "branchy",
        task("pick", "BranchPythonOperator"),
        task("left"),
        task("right"),
        task("right_only"),
        task("join", trigger_rule=join_rule),
        edges=[
            ("pick", "left"),
            ("pick", "right"),
            ("left", "join"),
            ("right", "join"),
            ("right", "right_only"),
        ],
    )


# --- a run's life ---


def test_create_run_queues_the_run_with_a_none_instance_per_task(world: World) -> None:
    """A new run is queued, and each of its task instances is `none` at try 0 with its retries."""
    run = world.create(ETL)
    row = world.run_row(run)
    assert pick(row, "state", "run_type", "queued_at", "start_date") == {
        "state": "queued",
        "run_type": "manual",
        "queued_at": at(0),
        "start_date": None,
    }
    assert row["data_interval_start"] == row["data_interval_end"] == to_text(LOGICAL)
    rows = reads.task_instances(world.conn, "etl", "manual__1")
    assert [pick(r, "task_id", "state", "try_number", "max_tries") for r in rows] == [
        {"task_id": t, "state": "none", "try_number": 0, "max_tries": 1}
        for t in ("extract", "transform", "load")
    ]
    assert world.book.runs == {run.key: run}
    assert not world.book.ready
    assert world.book.changes == [RunStateChanged("etl", "manual__1", None, RunState.QUEUED)]
    (event,) = world.events(run)
    assert pick(event, "kind", "new_state", "actor") == {
        "kind": "run_created",
        "new_state": "queued",
        "actor": "scheduler",
    }


def test_start_run_runs_the_run_and_schedules_its_roots(world: World) -> None:
    """Starting a queued run makes it running and schedules the tasks without upstream, only."""
    run = world.create(ETL)
    world.book.changes.clear()
    world.book.start_run(world.conn, run)
    assert pick(world.run_row(run), "state", "start_date", "end_date") == {
        "state": "running",
        "start_date": at(0),
        "end_date": None,
    }
    assert world.states(run) == {"extract": "scheduled", "transform": "none", "load": "none"}
    assert list(world.book.ready) == [(run.key, "extract", -1)]
    assert world.book.changes == [
        RunStateChanged("etl", "manual__1", RunState.QUEUED, RunState.RUNNING),
        TaskStateChanged("etl", "manual__1", "extract", 0, TaskState.NONE, TaskState.SCHEDULED),
    ]
    assert run.key in world.book.touched


def test_each_attempt_step_writes_the_row_and_the_attempt(world: World) -> None:
    """queued, started and finished each leave the task instance's row and its attempt's row
    as the dashboard reads them."""
    run = world.start(ETL)
    world.take_ready()
    world.queue(run, "extract")
    log = "/logs/etl/manual__1/extract/attempt=1.log"
    assert pick(world.ti_row(run, "extract"), "state", "try_number", "queued_at", "log_path") == {
        "state": "queued",
        "try_number": 1,
        "queued_at": at(0),
        "log_path": log,
    }
    assert world.ti_row(run, "extract")["hostname"] == "host-1"
    world.clock.advance(1)
    world.begin(run, "extract", pid=4242)
    assert pick(world.ti_row(run, "extract"), "state", "pid", "start_date") == {
        "state": "running",
        "pid": 4242,
        "start_date": at(1),
    }
    world.clock.advance(4)
    assert world.end(run, "extract", SUCCESS) is TaskState.SUCCESS
    assert pick(world.ti_row(run, "extract"), "state", "end_date", "duration") == {
        "state": "success",
        "end_date": at(5),
        "duration": 4.0,
    }
    (row,) = reads.attempts(world.conn, "etl", "manual__1", "extract")
    assert pick(row, "try_number", "state", "queued_at", "start_date", "end_date") == {
        "try_number": 1,
        "state": "success",
        "queued_at": at(0),
        "start_date": at(1),
        "end_date": at(5),
    }
    assert pick(row, "pid", "exit_code", "log_path") == {
        "pid": 4242,
        "exit_code": 0,
        "log_path": log,
    }
    assert run.tis["extract"].pid is None
    kinds = [
        (e["task_id"], e["old_state"], e["new_state"], e["try_number"])
        for e in world.events(run, "task_state")
    ]
    assert kinds[-4:] == [
        ("extract", "scheduled", "queued", 1),
        ("extract", "queued", "running", 1),
        ("extract", "running", "success", 1),
        ("transform", "none", "scheduled", 0),
    ]


def test_a_chain_runs_task_by_task_to_success(world: World) -> None:
    """Each success schedules the next task at once; the run succeeds after the last one."""
    run = world.start(ETL)
    for task_id in ("extract", "transform", "load"):
        assert world.take_ready() == [task_id]
        assert world.book.finish_if_done(world.conn, run) is False
        assert world.attempt(run, task_id) is TaskState.SUCCESS
    assert world.take_ready() == []
    assert world.book.finish_if_done(world.conn, run) is True
    assert pick(world.run_row(run), "state", "end_date") == {"state": "success", "end_date": at(15)}
    assert run.key not in world.book.runs
    assert [e["new_state"] for e in world.events(run, "run_state")] == ["running", "success"]
    assert world.book.changes[-1] == RunStateChanged(
        "etl", "manual__1", RunState.RUNNING, RunState.SUCCESS
    )


@pytest.mark.parametrize(
    ("failing", "states", "run_state"),
    [
        (None, ["success", "success", "success"], "success"),
        ("extract", ["failed", "upstream_failed", "upstream_failed"], "failed"),
        ("transform", ["success", "failed", "upstream_failed"], "failed"),
        ("load", ["success", "success", "failed"], "failed"),
    ],
    ids=["none", "root", "middle", "leaf"],
)
def test_a_failed_task_fails_what_lies_below_it_and_the_run(
    world: World, failing: str | None, states: list[str], run_state: str
) -> None:
    """A task failing with no retry left makes its downstream upstream_failed at once, and a
    failed or upstream_failed leaf fails the run."""
    spec = chain("etl", task("extract"), task("transform"), task("load"))
    run = world.start(spec)
    world.drive(run, {failing: FAILED} if failing else {})
    assert list(world.states(run).values()) == states
    assert world.book.finish_if_done(world.conn, run) is True
    assert world.run_row(run)["state"] == run_state


@pytest.mark.parametrize(
    ("cleanup_rule", "cleanup", "run_state"),
    [
        ("all_done", "success", "success"),
        ("one_failed", "success", "success"),
        ("all_success", "upstream_failed", "failed"),
        ("all_failed", "success", "success"),
        ("none_failed", "upstream_failed", "failed"),
    ],
)
def test_a_leaf_after_a_failure_decides_the_run(
    world: World, cleanup_rule: str, cleanup: str, run_state: str
) -> None:
    """A cleanup leaf runs or not by its trigger rule after its upstream failed; the run is
    judged on its leaves only."""
    spec = chain("etl", task("extract"), task("cleanup", trigger_rule=cleanup_rule))
    run = world.start(spec)
    world.drive(run, {"extract": FAILED})
    assert world.states(run) == {"extract": "failed", "cleanup": cleanup}
    assert world.book.finish_if_done(world.conn, run) is True
    assert world.run_row(run)["state"] == run_state


@pytest.mark.parametrize(
    ("join_rule", "join_after_branch", "join_after_left"),
    [
        ("all_success", "skipped", "skipped"),
        ("none_skipped", "skipped", "skipped"),
        ("none_failed_min_one_success", "none", "scheduled"),
        ("one_success", "none", "scheduled"),
        ("all_done", "none", "scheduled"),
    ],
)
def test_a_branch_skips_the_tasks_it_did_not_choose_and_below(
    world: World, join_rule: str, join_after_branch: str, join_after_left: str
) -> None:
    """The branch's skip list skips those tasks without an attempt, and the trigger rules below
    them decide at once whether to skip too."""
    run = world.start(branching(join_rule))
    assert world.take_ready() == ["pick"]
    branch = AttemptOutcome(TaskState.SUCCESS, skip_task_ids=("right",), exit_code=0)
    assert world.attempt(run, "pick", branch) is TaskState.SUCCESS
    states = world.states(run)
    assert (states["right"], states["right_only"], states["left"]) == (
        "skipped",
        "skipped",
        "scheduled",
    )
    assert states["join"] == join_after_branch
    assert pick(world.ti_row(run, "right"), "try_number", "start_date", "end_date", "duration") == {
        "try_number": 0,
        "start_date": at(5),
        "end_date": at(5),
        "duration": 0.0,
    }
    assert world.attempt_rows(run, "right") == []
    assert world.take_ready() == ["left"]
    world.attempt(run, "left")
    assert world.states(run)["join"] == join_after_left
    world.drive(run, {})
    assert world.book.finish_if_done(world.conn, run) is True
    assert world.run_row(run)["state"] == "success"


@pytest.mark.parametrize(
    ("work", "end"),
    [(SUCCESS, "success"), (GIVE_UP, "upstream_failed"), (SKIPPED, "skipped")],
    ids=["success", "failed", "skipped"],
)
def test_empty_operators_end_at_once_without_an_attempt(
    world: World, work: AttemptOutcome, end: str
) -> None:
    """An EmptyOperator whose upstream allows it succeeds at once, with no try and no attempt;
    otherwise its trigger rule ends it at once; either way its downstream is evaluated."""
    spec = chain(
        "empty", task("begin", "EmptyOperator"), task("work"), task("finish", "EmptyOperator")
    )
    run = world.start(spec)
    assert world.states(run) == {"begin": "success", "work": "scheduled", "finish": "none"}
    assert pick(world.ti_row(run, "begin"), "try_number", "start_date", "end_date", "duration") == {
        "try_number": 0,
        "start_date": at(0),
        "end_date": at(0),
        "duration": 0.0,
    }
    assert world.take_ready() == ["work"]
    world.attempt(run, "work", work)
    assert world.states(run)["finish"] == end
    assert world.take_ready() == []
    assert world.attempt_rows(run, "begin") == world.attempt_rows(run, "finish") == []


def test_a_run_without_tasks_ends_once_started(world: World) -> None:
    """A DAG with no tasks gives runs that succeed as soon as they start."""
    run = world.start(dag("hollow"))
    assert run.key in world.book.touched
    assert world.book.finish_if_done(world.conn, run) is True
    assert world.run_row(run)["state"] == "success"


def test_finish_if_done_waits_for_a_queued_run(world: World) -> None:
    """A run that has not started is not judged, even with every task `none`."""
    run = world.create(ETL)
    assert world.book.finish_if_done(world.conn, run) is False
    assert world.run_row(run)["state"] == "queued"


def test_finish_if_done_ends_a_deadlocked_run(world: World) -> None:
    """Tasks left `none` with nothing running or scheduled can never run: they become
    upstream_failed, naming the deadlock, and the run fails."""
    run = world.start(chain("etl", task("extract"), task("transform")))
    world.take_ready()
    # A removed upstream is done but not a success: all_success waits on it for ever.
    world.book.set_state(world.conn, run, run.tis["extract"], TaskState.REMOVED)
    world.book.evaluate(world.conn, run, ["transform"])
    assert world.states(run) == {"extract": "removed", "transform": "none"}
    assert world.book.finish_if_done(world.conn, run) is True
    assert world.states(run) == {"extract": "removed", "transform": "upstream_failed"}
    (event,) = [e for e in world.events(run, "task_state") if e["task_id"] == "transform"]
    assert event["detail"] == "deadlock: its trigger rule can no longer be met"
    assert world.run_row(run)["state"] == "failed"


# --- retries ---


def test_a_failed_try_with_retries_left_waits_for_its_retry(world: World) -> None:
    """A try that fails with a retry left is up_for_retry until clock + retry_delay, and asks
    for a timer that names the failed attempt; nothing below it moves."""
    run = world.start(ETL)
    world.take_ready()
    assert world.attempt(run, "extract", FAILED) is TaskState.UP_FOR_RETRY
    failed = AttemptKey("etl", "manual__1", "extract", 1)
    assert world.book.effects == [RetryAt(failed, NOW + timedelta(seconds=5 + 60))]
    assert pick(world.ti_row(run, "extract"), "state", "try_number", "end_date", "next_try_at") == {
        "state": "up_for_retry",
        "try_number": 1,
        "end_date": at(5),
        "next_try_at": at(65),
    }
    assert world.attempt_rows(run, "extract") == [(1, "failed")]
    (attempt,) = reads.attempts(world.conn, "etl", "manual__1", "extract")
    assert pick(attempt, "cause", "exit_code") == {"cause": "ValueError: bad row 7", "exit_code": 1}
    event = world.events(run, "task_state")[-1]
    assert pick(event, "new_state", "detail") == {
        "new_state": "up_for_retry",
        "detail": "ValueError: bad row 7",
    }
    assert world.states(run)["transform"] == "none"
    assert world.book.finish_if_done(world.conn, run) is False


def test_retry_due_schedules_the_next_try(world: World) -> None:
    """When the timer of the failed try fires, the task is scheduled and runs as try 2."""
    run = world.start(ETL)
    world.take_ready()
    world.attempt(run, "extract", FAILED)
    (effect,) = world.book.effects
    assert isinstance(effect, RetryAt)
    world.clock.now = effect.when
    attempts.retry_due(world.book, world.conn, effect.attempt)
    assert world.states(run)["extract"] == "scheduled"
    assert world.take_ready() == ["extract"]
    assert world.attempt(run, "extract") is TaskState.SUCCESS
    assert world.attempt_rows(run, "extract") == [(1, "failed"), (2, "success")]
    assert world.ti_row(run, "extract")["try_number"] == 2
    assert world.states(run)["transform"] == "scheduled"


@pytest.mark.parametrize(
    ("delay", "backoff", "cap", "try_number", "seconds"),
    [
        (60, False, None, 1, 60),
        (60, False, None, 5, 60),
        (60, True, None, 1, 60),
        (60, True, None, 2, 120),
        (60, True, None, 4, 480),
        (60, True, 300, 4, 300),
        (60, True, 300, 3, 240),
        (60, False, 30, 1, 30),
        (0, True, None, 3, 0),
    ],
)
def test_retry_delay_doubles_with_backoff_up_to_the_cap(
    delay: float, backoff: bool, cap: float | None, try_number: int, seconds: float
) -> None:
    """The wait after failed try n is retry_delay, or retry_delay * 2**(n-1) with backoff,
    never more than max_retry_delay."""
    spec = task("t", retry_delay=delay, retry_exponential_backoff=backoff, max_retry_delay=cap)
    assert attempts.retry_delay(spec, try_number) == seconds


def test_each_retry_waits_longer_with_exponential_backoff(world: World) -> None:
    """A task with backoff waits 60, 120, then (capped) 150 seconds between its four tries,
    and fails for good after the last."""
    spec = dag(
        "backoff",
        task(
            "fetch",
            retries=3,
            retry_delay=60,
            retry_exponential_backoff=True,
            max_retry_delay=150,
        ),
    )
    run = world.start(spec)
    waits = []
    for try_number in (1, 2, 3):
        world.take_ready()
        assert world.attempt(run, "fetch", FAILED, seconds=0) is TaskState.UP_FOR_RETRY
        (effect,) = world.book.effects
        world.book.effects.clear()
        assert isinstance(effect, RetryAt)
        assert effect.attempt.try_number == try_number
        waits.append((effect.when - world.clock()).total_seconds())
        world.clock.now = effect.when
        attempts.retry_due(world.book, world.conn, effect.attempt)
    assert waits == [60, 120, 150]
    assert world.take_ready() == ["fetch"]
    assert world.attempt(run, "fetch", FAILED) is TaskState.FAILED
    assert world.book.effects == []
    assert pick(world.ti_row(run, "fetch"), "try_number", "max_tries", "next_try_at") == {
        "try_number": 4,
        "max_tries": 3,
        "next_try_at": None,
    }


def _older_try(world: World, run: ActiveRun, first: AttemptKey) -> None:
    """Try 2 failed as well, so the timer of try 1 is late news."""
    attempts.retry_due(world.book, world.conn, first)
    world.take_ready()
    world.attempt(run, "fetch", FAILED)


def _retried_already(world: World, run: ActiveRun, first: AttemptKey) -> None:
    attempts.retry_due(world.book, world.conn, first)
    world.take_ready()


def _cleared(world: World, run: ActiveRun, first: AttemptKey) -> None:
    world.apply(Clear("flaky", "manual__1", task_regex="fetch"))
    world.take_ready()


def _marked(world: World, run: ActiveRun, first: AttemptKey) -> None:
    world.apply(Mark("flaky", "manual__1", "fetch", "success"))
    world.take_ready()


def _abandoned(world: World, run: ActiveRun, first: AttemptKey) -> None:
    world.book.abandon(world.conn, run, "the foreground command was interrupted")


@pytest.mark.parametrize("meanwhile", [_older_try, _retried_already, _cleared, _marked, _abandoned])
def test_retry_due_of_a_stale_attempt_does_nothing(
    world: World, meanwhile: Callable[[World, ActiveRun, AttemptKey], None]
) -> None:
    """A retry timer whose task instance moved on (a later try, a clear, a mark, a run that
    ended) changes nothing and schedules nothing."""
    run = world.start(FLAKY)
    world.take_ready()
    world.attempt(run, "fetch", FAILED)
    first = AttemptKey("flaky", "manual__1", "fetch", 1)
    meanwhile(world, run, first)
    before = (world.states(run), len(world.events(run)))
    attempts.retry_due(world.book, world.conn, first)
    assert (world.states(run), len(world.events(run))) == before
    assert not world.book.ready


def test_no_retry_fails_at_once_whatever_retries_remain(world: World) -> None:
    """A try that asks not to be retried (AirflowFailException) fails the task at once, and
    its downstream with it."""
    run = world.start(ETL)
    world.take_ready()
    assert world.attempt(run, "extract", GIVE_UP) is TaskState.FAILED
    assert world.book.effects == []
    assert world.states(run) == {
        "extract": "failed",
        "transform": "upstream_failed",
        "load": "upstream_failed",
    }
    assert world.ti_row(run, "extract")["next_try_at"] is None


def test_a_cleared_task_gets_its_full_retries_again(world: World) -> None:
    """try_number keeps counting across a clear while max_tries moves up by retries, so the
    cleared task has retries + 1 tries again."""
    spec = dag("once", task("only", retries=1, retry_delay=10))
    run = world.start(spec)
    seen = []
    for _ in range(2):
        world.take_ready()
        state = world.attempt(run, "only", FAILED)
        row = world.ti_row(run, "only")
        seen.append((state.value, row["try_number"], row["max_tries"]))
        for effect in world.book.effects:
            assert isinstance(effect, RetryAt)
            attempts.retry_due(world.book, world.conn, effect.attempt)
        world.book.effects.clear()
    assert world.book.finish_if_done(world.conn, run) is True
    world.apply(Clear("once", "manual__1"))
    assert pick(world.ti_row(run, "only"), "state", "try_number", "max_tries") == {
        "state": "none",
        "try_number": 2,
        "max_tries": 3,
    }
    reopened = world.book.runs[run.key]
    world.book.start_run(world.conn, reopened)
    for _ in range(2):
        world.take_ready()
        state = world.attempt(reopened, "only", FAILED)
        row = world.ti_row(reopened, "only")
        seen.append((state.value, row["try_number"], row["max_tries"]))
        for effect in world.book.effects:
            assert isinstance(effect, RetryAt)
            attempts.retry_due(world.book, world.conn, effect.attempt)
        world.book.effects.clear()
    assert seen == [
        ("up_for_retry", 1, 1),
        ("failed", 2, 1),
        ("up_for_retry", 3, 3),
        ("failed", 4, 3),
    ]
    assert world.attempt_rows(reopened, "only") == [(n, "failed") for n in (1, 2, 3, 4)]


# --- stopping ---


def test_clearing_a_running_task_stops_it_and_runs_it_again(world: World) -> None:
    """A cleared running task becomes restarting and its attempt is killed; when the attempt
    exits the task is `none`, evaluated again at once, and its next try spends no retry."""
    run = world.start(ETL)
    world.take_ready()
    world.queue(run, "extract")
    world.begin(run, "extract", pid=4242)
    world.apply(Clear("etl", "manual__1", task_regex="^extract$"))
    assert world.states(run)["extract"] == "restarting"
    log = "/logs/etl/manual__1/extract/attempt=1.log"
    key = AttemptKey("etl", "manual__1", "extract", 1)
    assert world.book.effects == [KillAttempt(key, "cleared while running", log, 4242, STARTED)]
    (kill,) = world.events(run, "kill")
    assert pick(kill, "task_id", "actor", "detail") == {
        "task_id": "extract",
        "actor": "tui:alice",
        "detail": "cleared while running",
    }
    world.book.effects.clear()
    world.clock.advance(2)
    assert world.end(run, "extract", KILLED) is TaskState.SCHEDULED
    assert world.book.effects == []
    assert world.take_ready() == ["extract"]
    assert world.attempt_rows(run, "extract") == [(1, "failed")]
    assert pick(world.ti_row(run, "extract"), "try_number", "max_tries", "pid") == {
        "try_number": 1,
        "max_tries": 2,
        "pid": None,
    }
    assert world.attempt(run, "extract") is TaskState.SUCCESS
    assert world.attempt_rows(run, "extract") == [(1, "failed"), (2, "success")]


@pytest.mark.parametrize(
    ("mark", "transform"), [("success", "scheduled"), ("failed", "upstream_failed")]
)
def test_a_mark_of_a_running_task_sticks_when_its_attempt_exits(
    world: World, mark: str, transform: str
) -> None:
    """Marking a running task stops its attempt and evaluates its downstream now; the marked
    state stays when the killed attempt exits, and no retry is planned."""
    run = world.start(ETL)
    world.take_ready()
    world.queue(run, "extract")
    world.begin(run, "extract", pid=4242)
    world.apply(Mark("etl", "manual__1", "extract", mark))
    assert world.states(run)["extract"] == mark
    assert world.states(run)["transform"] == transform
    (effect,) = world.book.effects
    assert effect == KillAttempt(
        AttemptKey("etl", "manual__1", "extract", 1),
        f"marked {mark} while running",
        "/logs/etl/manual__1/extract/attempt=1.log",
        4242,
        STARTED,
    )
    world.book.effects.clear()
    assert world.end(run, "extract", KILLED) is TaskState(mark)
    assert world.book.effects == []
    assert world.attempt_rows(run, "extract") == [(1, mark)]


def test_stop_asks_for_a_kill_and_leaves_the_state_to_the_exit(world: World) -> None:
    """Stopping an attempt (the service does so on a timeout) records a kill event and asks
    for the kill; the task stays running until the attempt exits, and that exit spends a try."""
    run = world.start(ETL)
    world.take_ready()
    world.queue(run, "extract")
    world.begin(run, "extract", pid=4242)
    ti = run.tis["extract"]
    attempts.stop(world.book, world.conn, run, ti, "execution_timeout of 10 s exceeded")
    assert ti.kill_cause == "execution_timeout of 10 s exceeded"
    assert world.states(run)["extract"] == "running"
    (effect,) = world.book.effects
    assert isinstance(effect, KillAttempt)
    assert (effect.attempt.try_number, effect.pid) == (1, 4242)
    (kill,) = world.events(run, "kill")
    assert pick(kill, "actor", "detail") == {
        "actor": "scheduler",
        "detail": "execution_timeout of 10 s exceeded",
    }
    world.book.effects.clear()
    assert world.end(run, "extract", KILLED) is TaskState.UP_FOR_RETRY


# --- recovery, results ---


def test_recovery_hands_back_every_unfinished_try_of_this_machine(world: World) -> None:
    """A restarted scheduler resumes the tries an earlier one left queued or running here, as
    they are (same try number: their tickets decide); one recorded on another machine is
    failed with the reason."""
    run = world.start(dag("three", task("a"), task("b"), task("c", retries=1)))
    world.take_ready()
    for task_id in ("a", "b", "c"):
        world.queue(run, task_id)
    world.begin(run, "b")
    world.conn.execute("UPDATE task_instances SET hostname = 'elsewhere' WHERE task_id = 'c'")
    book = RunBook(world.clock)
    resumed = recovery.unfinished_attempts(world.conn, book, "host-1")
    assert sorted((ti.task_id, ti.state, ti.try_number) for _, ti in resumed) == [
        ("a", TaskState.QUEUED, 1),
        ("b", TaskState.RUNNING, 1),
    ]
    assert book.runs[run.key].tis["c"].state is TaskState.UP_FOR_RETRY
    assert world.events(run, "task_state")[-1]["detail"] == (
        "it ran on elsewhere, not here: how it ended cannot be known"
    )


def test_a_success_writes_its_xcom_and_a_new_try_starts_without(world: World) -> None:
    """The XComs a successful try reports are stored as JSON; the next try of the task
    instance starts with none, as in Airflow."""
    run = world.start(ETL)
    world.take_ready()
    values = {"return_value": [1, 2, 3], "rows": {"n": 3, "ok": True}}
    world.attempt(run, "extract", AttemptOutcome(TaskState.SUCCESS, xcom=values, exit_code=0))

    def xcom() -> dict[str, Any]:
        rows = world.conn.execute(
            "SELECT key, value, timestamp FROM xcom WHERE dag_id = 'etl' AND task_id = 'extract'"
        ).fetchall()
        return {key: (json.loads(value), ts) for key, value, ts in rows}

    assert xcom() == {key: (value, at(5)) for key, value in values.items()}
    world.apply(Clear("etl", "manual__1", task_regex="^extract$"))
    assert xcom() != {}  # a clear keeps them until the next try starts
    world.take_ready()
    world.queue(run, "extract")
    assert xcom() == {}


@pytest.mark.parametrize(
    ("outcome", "updated"),
    [(SUCCESS, {"file:///data/a.csv", "s3://bucket/b"}), (GIVE_UP, set()), (SKIPPED, set())],
    ids=["success", "failed", "skipped"],
)
def test_a_success_records_its_dataset_updates(
    world: World, outcome: AttemptOutcome, updated: set[str]
) -> None:
    """Only a success of a task with outlets updates their datasets, in the store and in
    `dataset_updates` for the scheduler."""
    outlets = ("file:///data/a.csv", "s3://bucket/b")
    run = world.start(dag("publisher", task("publish", outlets=outlets)))
    world.take_ready()
    world.attempt(run, "publish", outcome)
    assert world.book.dataset_updates == updated
    rows = world.conn.execute("SELECT uri, dag_id, run_id, task_id, ts FROM dataset_events")
    assert {r[0] for r in rows} == updated
    for _, dag_id, run_id, task_id, ts in rows:
        assert (dag_id, run_id, task_id, ts) == ("publisher", "manual__1", "publish", at(5))


# --- depends_on_past ---

PAST = chain("past", task("step", depends_on_past=True), task("report"))
DAY_1 = datetime(2024, 3, 1, tzinfo=UTC)
DAY_2 = datetime(2024, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("previous", "released"),
    [(SUCCESS, True), (SKIPPED, True), (GIVE_UP, False)],
    ids=["success", "skipped", "failed"],
)
def test_depends_on_past_holds_a_task_until_the_previous_run_succeeds(
    world: World, previous: AttemptOutcome, released: bool
) -> None:
    """The next run's instance stays `none` while the previous run's is unfinished, and is
    scheduled the moment that one succeeds or is skipped (not when it fails)."""
    day1 = world.start(PAST, "day1", DAY_1)
    day2 = world.start(PAST, "day2", DAY_2)
    assert list(world.book.ready) == [(day1.key, "step", -1)]  # the first run has no past
    world.take_ready()
    assert day2.waiting_on_past == {"step"}
    assert world.states(day2)["step"] == "none"
    assert world.book.finish_if_done(world.conn, day2) is False  # waiting is not a deadlock
    world.attempt(day1, "step", previous)
    assert world.states(day2)["step"] == ("scheduled" if released else "none")
    assert [t for k, t, _ in world.book.ready if k == day2.key] == (["step"] if released else [])
    assert day2.waiting_on_past == (set() if released else {"step"})
    assert world.book.finish_if_done(world.conn, day2) is False
    assert world.run_row(day2)["state"] == "running"


def test_marking_the_previous_instance_releases_the_held_one(world: World) -> None:
    """A user who marks the failed previous instance success releases the next run's."""
    day1 = world.start(PAST, "day1", DAY_1)
    day2 = world.start(PAST, "day2", DAY_2)
    world.take_ready()
    world.attempt(day1, "step", GIVE_UP)
    assert world.book.finish_if_done(world.conn, day1) is True
    world.apply(Mark("past", "day1", "step", "success"))
    assert world.states(day2)["step"] == "scheduled"
    world.drive(day2, {})
    assert world.book.finish_if_done(world.conn, day2) is True
    assert world.run_row(day2)["state"] == "success"


def test_marking_the_held_instance_itself_lets_its_run_finish(world: World) -> None:
    """A user who marks the held task itself (to skip past a failed day) sees its run end."""
    day1 = world.start(PAST, "day1", DAY_1)
    day2 = world.start(PAST, "day2", DAY_2)
    world.take_ready()
    world.attempt(day1, "step", GIVE_UP)
    world.apply(Mark("past", "day2", "step", "success"))
    world.drive(day2, {})
    assert world.states(day2) == {"step": "success", "report": "success"}
    assert world.book.finish_if_done(world.conn, day2) is True


# --- loading, and the other ends of a run ---


def test_a_new_run_book_loads_the_active_runs(world: World) -> None:
    """A restarted scheduler takes up queued and running runs with their states and scheduled
    tasks; finished runs, and runs another live process drives, stay out."""
    queued = world.create(ETL, "queued")
    running = world.start(ETL, "running")
    done = world.start(ETL, "done")
    world.book.ready.clear()
    world.book.abandon(world.conn, done, "interrupted")
    elsewhere = world.create(ETL, "elsewhere", runner_pid=os.getppid())
    mine = world.create(ETL, "mine", runner_pid=os.getpid())
    gone = world.create(ETL, "gone", runner_pid=DEAD_PID)
    book = RunBook(world.clock)
    book.load_active(world.conn)
    assert set(book.runs) == {queued.key, running.key, mine.key, gone.key}
    assert elsewhere.key not in book.runs
    again = book.runs[running.key]
    assert again.state is RunState.RUNNING
    assert {t: ti.state for t, ti in again.tis.items()} == {
        "extract": TaskState.SCHEDULED,
        "transform": TaskState.NONE,
        "load": TaskState.NONE,
    }
    assert again.counts[TaskState.NONE] == 2
    assert list(book.ready) == [(running.key, "extract", -1)]


def test_load_active_leaves_the_runs_recovery_loaded_as_they_are(world: World) -> None:
    """A restarted scheduler recovers first, then loads the active runs: a run recovery
    already brought in is not read again, so its ready task and retry timer come once."""
    run = world.start(dag("pair", task("extract"), task("fetch", retries=1, retry_delay=60)))
    world.take_ready()
    world.queue(run, "fetch")
    world.begin(run, "fetch")
    book = RunBook(world.clock)
    recovery.unfinished_attempts(world.conn, book, "another-host")  # fetch ran elsewhere
    recovered = book.runs[run.key]
    book.load_active(world.conn)
    assert book.runs[run.key] is recovered
    assert list(book.ready) == [(run.key, "extract", -1)]
    assert [e for e in book.effects if isinstance(e, RetryAt)] == [
        RetryAt(run.attempt_key(run.tis["fetch"]), NOW + timedelta(seconds=60))
    ]


def test_a_runner_that_ended_drives_nothing_even_before_it_is_reaped() -> None:
    """A `dags test` process that has exited but that its parent has not reaped yet (a
    zombie) no longer drives its runs: the scheduler takes them over."""
    child = subprocess.Popen(["sleep", "0.1"])
    try:
        assert is_driven_elsewhere(child.pid)
        wait_until(
            lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE,
            what="the child to exit",
        )
        assert not is_driven_elsewhere(child.pid)
    finally:
        child.wait()
    assert not is_driven_elsewhere(child.pid)


def test_load_run_is_none_for_a_dag_the_store_does_not_know(world: World) -> None:
    """A run whose DAG has no spec in the store is not brought into memory."""
    run = world.create(ETL)
    row = world.run_row(run)
    assert RunBook(world.clock).load_run(world.conn, {**row, "dag_id": "unknown"}) is None


def test_load_run_matches_the_tasks_to_the_dag_as_it_is_now(world: World) -> None:
    """A task added to the DAG gets a `none` instance in a loaded run; a task that left it and
    had not started becomes removed."""
    run = world.create(ETL)
    changed = chain("etl", task("extract"), task("transform"), task("publish"))
    writes.upsert_dag(world.conn, changed, at(0))
    book = RunBook(world.clock)
    again = book.load_run(world.conn, world.run_row(run))
    assert again is not None
    assert world.states(run) == {
        "extract": "none",
        "transform": "none",
        "load": "removed",
        "publish": "none",
    }
    assert again.counts[TaskState.REMOVED] == 1


def test_abandon_fails_the_run_and_forgets_it(world: World) -> None:
    """A run nobody will drive on ends failed with the reason in its event."""
    run = world.start(ETL)
    world.clock.advance(3)
    world.book.abandon(world.conn, run, "dags test was interrupted")
    assert pick(world.run_row(run), "state", "end_date") == {"state": "failed", "end_date": at(3)}
    assert world.events(run, "run_state")[-1]["detail"] == "dags test was interrupted"
    assert run.key not in world.book.runs


def test_drive_from_records_the_foreground_process(world: World) -> None:
    """A foreground command that takes a run over is written as its runner, without a state
    change."""
    run = world.start(ETL)
    events = len(world.events(run))
    world.book.drive_from(world.conn, run, 5150)
    assert (run.runner_pid, world.run_row(run)["runner_pid"]) == (5150, 5150)
    assert world.run_row(run)["state"] == "running"
    assert len(world.events(run)) == events


@pytest.mark.parametrize(("state", "reopened"), [("success", "queued"), ("running", "running")])
def test_reopen_queues_a_finished_run_only(world: World, state: str, reopened: str) -> None:
    """Reopening puts a finished run back in the queue with no end date; a live run stays."""
    run = world.start(ETL)
    if state == "success":
        world.drive(run, {})
        world.book.finish_if_done(world.conn, run)
    world.book.reopen(world.conn, run)
    assert pick(world.run_row(run), "state", "end_date") == {"state": reopened, "end_date": None}


def test_refresh_finished_judges_a_finished_run_again(world: World) -> None:
    """A failed run whose failed leaf is set to success is a successful run."""
    run = world.start(chain("etl", task("extract"), task("load")))
    world.drive(run, {"load": FAILED})
    world.book.finish_if_done(world.conn, run)
    assert world.run_row(run)["state"] == "failed"
    world.book.set_state(world.conn, run, run.tis["load"], TaskState.SUCCESS)
    world.book.refresh_finished(world.conn, run)
    assert world.run_row(run)["state"] == "success"


def test_set_state_writes_the_row_an_event_and_a_change(world: World) -> None:
    """Every state change writes the row's fields and one event naming the actor and try,
    and is passed on to listeners; setting the same state again writes no event."""
    run = world.start(ETL)
    world.book.changes.clear()
    world.book.actor = "cli:bob"
    ti = run.tis["extract"]
    world.book.set_state(
        world.conn, run, ti, TaskState.SKIPPED, detail="by hand", actor_detail="marked", note="n"
    )
    assert pick(world.ti_row(run, "extract"), "state", "note") == {"state": "skipped", "note": "n"}
    event = world.events(run, "task_state")[-1]
    assert pick(event, "old_state", "new_state", "actor", "try_number", "detail", "ts") == {
        "old_state": "scheduled",
        "new_state": "skipped",
        "actor": "cli:bob (marked)",
        "try_number": 0,
        "detail": "by hand",
        "ts": at(0),
    }
    assert world.book.changes == [
        TaskStateChanged(
            "etl", "manual__1", "extract", 0, TaskState.SCHEDULED, TaskState.SKIPPED, "by hand"
        )
    ]
    assert (run.counts[TaskState.SCHEDULED], run.counts[TaskState.SKIPPED]) == (0, 1)
    events = len(world.events(run))
    world.book.set_state(world.conn, run, ti, TaskState.SKIPPED)
    assert len(world.events(run)) == events
