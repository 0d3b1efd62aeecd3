"""Commands carried out in process: `apply` of trigger, clear, mark, pause and the variable
commands on a real SQLite store with a clock that stands still. What each writes (runs, task
instances, the `command` event), what it leaves for the scheduler (effects, scheduled tasks),
and each misuse's one-line error, after which nothing has changed."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowtui.clock import to_text
from flowtui.commands.model import (
    Clear,
    Command,
    DeleteVariable,
    Mark,
    SetPaused,
    SetVariable,
    Trigger,
    from_wire,
    to_wire,
)
from flowtui.errors import (
    CommandRejected,
    DagNotFound,
    FlowtuiError,
    InvalidConf,
    InvalidInput,
    RunExists,
    RunNotFound,
    TaskInstanceNotFound,
    VariableNotStored,
)
from flowtui.execution.base import AttemptKey, AttemptOutcome
from flowtui.scheduling import attempts
from flowtui.scheduling.active_run import ActiveRun, RunKey
from flowtui.scheduling.apply import apply
from flowtui.scheduling.changes import RunStateChanged
from flowtui.scheduling.effects import KillAttempt, RefreshSecretMarker
from flowtui.scheduling.run_book import RunBook
from flowtui.states import RunState, TaskState
from flowtui.store import Store, reads, variables, writes
from tests.engine.conftest import STARTED, open_copy, pick
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task

NOW = datetime(2024, 3, 5, 6, 0, tzinfo=UTC)
"""The clock of every test."""
ACTOR = "cli:alice"
DEAD_PID = 2**31 - 2
"""Above any kernel's pid_max, so no process has it."""

SUCCESS = AttemptOutcome(TaskState.SUCCESS, exit_code=0)
FAILED = AttemptOutcome(TaskState.FAILED, "ValueError: bad row", no_retry=True, exit_code=1)


ETL = dag(
    "etl",
    task("extract", retries=1, retry_delay=60),
    task("transform", retries=1, retry_delay=60),
    task("load", retries=1, retry_delay=60),
    edges=[("extract", "transform"), ("transform", "load")],
)
FAN = dag(
    "fan",
    task("extract", retries=2),
    task("clean"),
    task("enrich"),
    task("load"),
    edges=[("extract", "clean"), ("extract", "enrich"), ("clean", "load"), ("enrich", "load")],
)
PARAMS = dag(
    "params",
    task("step"),
    params={"limit": 10, "ratio": 0.5, "name": "x", "dry": False, "anything": None},
)
DAILY = dag("daily", task("step"), schedule="@daily", start_date="2024-01-01T00:00:00+00:00")
HOURLY = dag("hourly", task("step"), schedule={"timedelta": 3600})


@dataclass
class CommandWorld:
    """A store with the DAGs above registered, a clock that stands still and a run book."""

    store: Store
    book: RunBook

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    def apply(self, command: Command, actor: str = ACTOR) -> dict[str, Any]:
        """The command in its own transaction, as the scheduler's loop applies it."""
        with self.store.transaction() as conn:
            return apply(self.book, conn, command, actor)

    def started(self, dag_id: str, run_id: str) -> ActiveRun:
        """A run triggered and started, its roots scheduled."""
        self.apply(Trigger(dag_id, run_id=run_id, logical_date="2024-03-05"))
        run = self.book.runs[RunKey(dag_id, run_id)]
        self.book.start_run(self.conn, run)
        return run

    def queue(self, run: ActiveRun, task_id: str, pid: int | None = None) -> None:
        """Hand the task's next try to the executor; with `pid` it has started too."""
        ti = run.tis[task_id]
        log = f"/logs/{run.dag_id}/{run.run_id}/{task_id}/attempt={ti.try_number + 1}.log"
        attempts.queued(self.book, self.conn, run, ti, log, "host-1")
        if pid is not None:
            attempts.started(self.book, self.conn, run, ti, pid, NOW)

    def run_to_end(
        self, dag_id: str, run_id: str, outcomes: dict[str, AttemptOutcome] | None = None
    ) -> None:
        """A run driven to its end: every task succeeds unless `outcomes` says otherwise."""
        run = self.started(dag_id, run_id)
        while self.book.ready:
            _, task_id, _ = self.book.ready.popleft()
            self.queue(run, task_id, pid=4242)
            outcome = (outcomes or {}).get(task_id, SUCCESS)
            attempts.finished(self.book, self.conn, run, run.tis[task_id], outcome, NOW)
        assert self.book.finish_if_done(self.conn, run)
        self.book.effects.clear()
        self.book.changes.clear()

    def states(self, dag_id: str, run_id: str) -> dict[str, str]:
        rows = reads.task_instances(self.conn, dag_id, run_id)
        return {r["task_id"]: r["state"] for r in rows}

    def run_row(self, dag_id: str, run_id: str) -> dict[str, Any]:
        row = reads.run(self.conn, dag_id, run_id)
        assert row is not None
        return row

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in reads.events(self.conn) if e["kind"] == kind]

    def last_command(self) -> dict[str, Any]:
        return self.events("command")[-1]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table."""
        tables = [
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {
            t: self.conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables
        }


@pytest.fixture
def world(tmp_path: Path, migrated_store: Path) -> Iterator[CommandWorld]:
    """The DAGs above registered in a fresh store."""
    store = open_copy(migrated_store, tmp_path)
    for spec in (ETL, FAN, PARAMS, DAILY, HOURLY):
        writes.upsert_dag(store.conn, spec, to_text(NOW))
    yield CommandWorld(store, RunBook(lambda: NOW))
    store.close()


# --- trigger ---


def test_trigger_creates_a_queued_run_in_the_users_name(world: CommandWorld) -> None:
    """A trigger without arguments creates a manual run at the clock's time, recorded as the
    sender's doing."""
    command = Trigger("etl")
    result = world.apply(command)
    run_id = "manual__2024-03-05T06:00:00+00:00"
    assert result == {"dag_id": "etl", "run_id": run_id, "logical_date": to_text(NOW)}
    row = world.run_row("etl", run_id)
    assert pick(row, "state", "run_type", "conf", "runner_pid", "logical_date") == {
        "state": "queued",
        "run_type": "manual",
        "conf": {},
        "runner_pid": None,
        "logical_date": to_text(NOW),
    }
    assert world.states("etl", run_id) == {"extract": "none", "transform": "none", "load": "none"}
    assert set(world.book.runs) == {RunKey("etl", run_id)}
    assert world.book.changes == [RunStateChanged("etl", run_id, None, RunState.QUEUED)]
    (created,) = world.events("run_created")
    assert created["actor"] == ACTOR
    event = world.last_command()
    assert pick(event, "actor", "dag_id", "run_id", "ts") == {
        "actor": ACTOR,
        "dag_id": "etl",
        "run_id": run_id,
        "ts": to_text(NOW),
    }
    assert json.loads(event["detail"]) == to_wire(command)
    assert world.book.actor == "scheduler"


@pytest.mark.parametrize(
    ("command", "interval"),
    [
        (Trigger("etl", logical_date="2024-03-05T06:30:00"), ("03-05T06:30", "03-05T06:30")),
        (Trigger("daily", logical_date="2024-03-05T06:30:00"), ("03-04T00:00", "03-05T00:00")),
        (Trigger("daily", logical_date="2024-03-05"), ("03-04T00:00", "03-05T00:00")),
        (Trigger("hourly", logical_date="2024-03-05T06:30:00"), ("03-05T05:30", "03-05T06:30")),
        (
            Trigger(
                "daily",
                logical_date="2024-03-05",
                data_interval_start="2024-02-01",
                data_interval_end="2024-03-01T12:00:00+01:00",
            ),
            ("02-01T00:00", "03-01T11:00"),
        ),
    ],
    ids=["no-schedule", "daily", "daily-at-midnight", "timedelta", "given"],
)
def test_trigger_infers_the_data_interval_unless_given(
    world: CommandWorld, command: Trigger, interval: tuple[str, str]
) -> None:
    """A manual run covers the interval its schedule ends at its logical date (just that
    instant without a schedule), unless the sender gives the interval."""
    result = world.apply(command)
    row = world.run_row(command.dag_id, result["run_id"])
    expected = tuple(to_text(datetime.fromisoformat(f"2024-{t}:00+00:00")) for t in interval)
    assert (row["data_interval_start"], row["data_interval_end"]) == expected
    assert row["logical_date"] == result["logical_date"]


@pytest.mark.parametrize("run_type", ["manual", "test", "backfill"])
def test_trigger_names_the_run_after_its_type(world: CommandWorld, run_type: str) -> None:
    """Without a run id, a run is named `<run_type>__<logical date>`."""
    result = world.apply(Trigger("etl", logical_date="2024-03-01", run_type=run_type))
    assert result["run_id"] == f"{run_type}__2024-03-01T00:00:00+00:00"
    assert world.run_row("etl", result["run_id"])["run_type"] == run_type


def test_trigger_keeps_the_run_id_conf_and_runner_it_is_given(world: CommandWorld) -> None:
    """A trigger's run id, conf and driving process are what the run gets."""
    conf = {"limit": 3, "ratio": 1, "anything": "goes", "extra": [1, {"a": None}]}
    command = Trigger("params", conf=conf, run_id="nightly", runner_pid=5150)
    assert world.apply(command)["run_id"] == "nightly"
    row = world.run_row("params", "nightly")
    assert pick(row, "conf", "runner_pid") == {"conf": conf, "runner_pid": 5150}
    assert world.book.runs[RunKey("params", "nightly")].runner_pid == 5150


@pytest.mark.parametrize(
    "conf",
    [{"limit": "ten"}, {"limit": True}, {"limit": 1.5}, {"ratio": "0.5"}, {"dry": 1}, {"name": 3}],
    ids=[
        "str-for-int",
        "bool-for-int",
        "float-for-int",
        "str-for-float",
        "int-for-bool",
        "int-for-str",
    ],
)
def test_trigger_refuses_a_conf_value_of_another_type_than_its_param(
    world: CommandWorld, conf: dict[str, Any]
) -> None:
    """A conf value must have its param's type (an int is a float; a bool is not an int)."""
    before = world.snapshot()
    with pytest.raises(InvalidConf) as caught:
        world.apply(Trigger("params", conf=conf))
    (key,) = conf
    assert str(caught.value).startswith(f"DAG 'params': conf {key!r} = {conf[key]!r} is of type")
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("runner_pid", "replaced"),
    [(None, True), (DEAD_PID, True), (os.getpid(), True), (os.getppid(), False)],
    ids=["no-runner", "dead-runner", "this-process", "live-runner"],
)
def test_trigger_replace_takes_the_place_of_a_finished_run(
    world: CommandWorld, runner_pid: int | None, replaced: bool
) -> None:
    """`dags test` of a date tested before replaces that run and all of it, unless another
    live process still drives it."""
    world.run_to_end("etl", "test__1", {"transform": FAILED})
    world.conn.execute("UPDATE dag_runs SET runner_pid = ? WHERE run_id = 'test__1'", (runner_pid,))
    command = Trigger("etl", run_id="test__1", run_type="test", replace=True, runner_pid=7)
    if not replaced:
        before = world.snapshot()
        with pytest.raises(RunExists):
            world.apply(command)
        assert world.snapshot() == before
        return
    world.apply(command)
    row = world.run_row("etl", "test__1")
    assert pick(row, "state", "runner_pid", "run_type") == {
        "state": "queued",
        "runner_pid": 7,
        "run_type": "test",
    }
    assert world.states("etl", "test__1") == {
        "extract": "none",
        "transform": "none",
        "load": "none",
    }
    assert reads.attempts(world.conn, "etl", "test__1") == []
    kinds = [e["kind"] for e in reads.events(world.conn, run_id="test__1")]
    assert kinds[-3:] == ["run_deleted", "run_created", "command"]
    (deleted,) = world.events("run_deleted")
    assert deleted["actor"] == ACTOR


def test_trigger_replace_never_orphans_a_running_attempt(world: CommandWorld) -> None:
    """Replacing a run whose task still runs is refused, or stops that attempt first: a task
    instance never has two attempts at once."""
    run = world.started("etl", "test__1")
    world.book.ready.clear()
    world.queue(run, "extract", pid=4242)
    try:
        world.apply(Trigger("etl", run_id="test__1", run_type="test", replace=True))
    except RunExists:
        return
    assert any(isinstance(e, KillAttempt) for e in world.book.effects)


# --- errors: one line each, and nothing changed ---


ERRORS = [
    pytest.param(Trigger("nope"), DagNotFound, "DAG 'nope' not found", id="trigger-unknown-dag"),
    pytest.param(
        Trigger("etl", logical_date="yesterday"),
        InvalidInput,
        "logical date 'yesterday' is not valid",
        id="trigger-bad-date",
    ),
    pytest.param(
        Trigger("etl", data_interval_start="soon", data_interval_end="2024-03-06"),
        InvalidInput,
        "data interval start 'soon' is not valid",
        id="trigger-bad-interval",
    ),
    pytest.param(
        Trigger(
            "etl",
            run_id="done",
            data_interval_start="soon",
            data_interval_end="2024-03-06",
            replace=True,
        ),
        InvalidInput,
        "data interval start 'soon' is not valid",
        id="trigger-replace-bad-interval",
    ),
    pytest.param(
        Trigger("etl", run_type="scheduled"),
        InvalidInput,
        "run type 'scheduled' is not valid",
        id="trigger-unknown-run-type",
    ),
    pytest.param(
        Trigger("etl", run_id="done"),
        RunExists,
        "DAG 'etl' already has a run 'done'",
        id="trigger-run-exists",
    ),
    pytest.param(
        Trigger("params", conf={"limit": "x"}),
        InvalidConf,
        "DAG 'params': conf 'limit'",
        id="trigger-conf-type",
    ),
    pytest.param(
        from_wire({"command": "trigger", "args": {"dag_id": "etl", "conf": [1]}}),
        InvalidInput,
        "conf [1] is not valid; give a JSON object",
        id="trigger-conf-not-an-object",
    ),
    pytest.param(Clear("nope"), DagNotFound, "DAG 'nope' not found", id="clear-unknown-dag"),
    pytest.param(
        Clear("etl", task_regex="("),
        InvalidInput,
        "--task regex '(' is not valid",
        id="clear-bad-regex",
    ),
    pytest.param(
        Clear("etl", task_regex="^ghost$"),
        CommandRejected,
        "DAG 'etl' has no task matching '^ghost$'; tasks: extract, transform, load",
        id="clear-no-task-matches",
    ),
    pytest.param(
        Clear("etl", run_id="nope"),
        RunNotFound,
        "DAG 'etl' has no run 'nope'",
        id="clear-unknown-run",
    ),
    pytest.param(
        Mark("etl", "done", "extract", "running"),
        InvalidInput,
        "state 'running' is not valid",
        id="mark-bad-state",
    ),
    pytest.param(
        Mark("etl", "nope", "extract", "success"),
        RunNotFound,
        "DAG 'etl' has no run 'nope'",
        id="mark-unknown-run",
    ),
    pytest.param(
        Mark("nope", "done", "extract", "success"),
        DagNotFound,
        "DAG 'nope' not found",
        id="mark-unknown-dag",
    ),
    pytest.param(
        Mark("etl", "done", "ghost", "failed"),
        TaskInstanceNotFound,
        "DAG 'etl', run 'done' has no task instance 'ghost'",
        id="mark-unknown-task",
    ),
    pytest.param(
        SetPaused("nope", True), DagNotFound, "DAG 'nope' not found", id="pause-unknown-dag"
    ),
    pytest.param(
        SetVariable("no spaces", "v"),
        InvalidInput,
        "variable key 'no spaces' is not valid",
        id="set-variable-bad-key",
    ),
    pytest.param(
        DeleteVariable("absent"),
        VariableNotStored,
        "variable 'absent' is not in the store",
        id="delete-variable-not-stored",
    ),
]
"""Each misuse of a command: the error it raises and the start of its message."""


@pytest.mark.parametrize(("command", "error", "message"), ERRORS)
def test_a_command_error_is_one_line_and_changes_nothing(
    world: CommandWorld, command: Command, error: type[FlowtuiError], message: str
) -> None:
    """A command that names something missing or malformed fails with one line saying what,
    and leaves the store, the active runs and the effects as they were, even when the
    caller's transaction goes on."""
    world.run_to_end("etl", "done")
    world.apply(SetVariable("present", "1"))
    world.started("etl", "live")
    before = world.snapshot()
    runs = dict(world.book.runs)
    ready = list(world.book.ready)
    changes = list(world.book.changes)
    # The caller's transaction goes on and commits, as the scheduler's batch of messages does.
    with world.store.transaction() as conn, pytest.raises(error) as caught:
        apply(world.book, conn, command, ACTOR)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert world.snapshot() == before
    assert world.book.runs == runs
    assert list(world.book.ready) == ready
    assert world.book.changes == changes
    assert world.book.effects == []
    assert world.book.actor == "scheduler"


# --- clear ---


@pytest.mark.parametrize(
    ("task_regex", "downstream", "upstream", "cleared"),
    [
        ("^clean$", False, False, ["clean"]),
        ("^clean$", True, False, ["clean", "load"]),
        ("^clean$", False, True, ["extract", "clean"]),
        ("^clean$", True, True, ["extract", "clean", "load"]),
        ("^(clean|enrich)$", True, False, ["clean", "enrich", "load"]),
        ("ea", False, False, ["clean"]),
        ("^load$", False, True, ["extract", "clean", "enrich", "load"]),
        (None, False, False, ["extract", "clean", "enrich", "load"]),
    ],
    ids=[
        "one",
        "downstream",
        "upstream",
        "both",
        "two-and-downstream",
        "search-not-match",
        "all-upstream",
        "whole-run",
    ],
)
def test_clear_resets_the_chosen_tasks_and_reopens_the_finished_run(
    world: CommandWorld,
    task_regex: str | None,
    downstream: bool,
    upstream: bool,
    cleared: list[str],
) -> None:
    """Clear resets the tasks the regex finds (searched, not matched), plus their downstream
    or upstream closure, with their full retries again, and queues the finished run again."""
    world.run_to_end("fan", "r1")
    command = Clear("fan", "r1", task_regex=task_regex, downstream=downstream, upstream=upstream)
    result = world.apply(command)
    assert result == {"dag_id": "fan", "run_id": "r1", "cleared": {"r1": cleared}}
    expected = {t: "none" if t in cleared else "success" for t in FAN.tasks}
    assert world.states("fan", "r1") == expected
    for row in reads.task_instances(world.conn, "fan", "r1"):
        if row["task_id"] in cleared:
            retries = FAN.tasks[row["task_id"]].retries
            assert pick(row, "try_number", "max_tries", "start_date", "end_date", "pid") == {
                "try_number": 1,
                "max_tries": 1 + retries,
                "start_date": None,
                "end_date": None,
                "pid": None,
            }
    assert pick(world.run_row("fan", "r1"), "state", "end_date") == {
        "state": "queued",
        "end_date": None,
    }
    assert world.book.runs[RunKey("fan", "r1")].state is RunState.QUEUED
    by = {e["task_id"]: e["actor"] for e in world.events("task_state") if e["new_state"] == "none"}
    assert by == {t: f"{ACTOR} (cleared)" for t in cleared}
    assert json.loads(world.last_command()["detail"]) == to_wire(command)


def test_clear_only_failed_resets_failed_and_upstream_failed_tasks(world: CommandWorld) -> None:
    """With only_failed, a clear leaves the tasks that succeeded alone."""
    world.run_to_end("fan", "r1", {"clean": FAILED})
    assert world.states("fan", "r1") == {
        "extract": "success",
        "clean": "failed",
        "enrich": "success",
        "load": "upstream_failed",
    }
    result = world.apply(Clear("fan", "r1", only_failed=True))
    assert result["cleared"] == {"r1": ["clean", "load"]}
    assert world.states("fan", "r1") == {
        "extract": "success",
        "clean": "none",
        "enrich": "success",
        "load": "none",
    }


def test_clear_without_a_run_clears_every_run_that_has_a_match(world: CommandWorld) -> None:
    """Clearing a DAG's failed tasks across its runs reopens only the runs that had one, and
    records the foreground process that drives them."""
    world.run_to_end("fan", "good")
    world.run_to_end("fan", "bad", {"enrich": FAILED})
    command = Clear("fan", only_failed=True, runner_pid=5150)
    result = world.apply(command)
    assert result == {"dag_id": "fan", "run_id": None, "cleared": {"bad": ["enrich", "load"]}}
    assert pick(world.run_row("fan", "bad"), "state", "runner_pid") == {
        "state": "queued",
        "runner_pid": 5150,
    }
    assert pick(world.run_row("fan", "good"), "state", "runner_pid") == {
        "state": "success",
        "runner_pid": None,
    }
    assert set(world.book.runs) == {RunKey("fan", "bad")}
    assert world.book.runs[RunKey("fan", "bad")].runner_pid == 5150


def test_clear_without_a_run_leaves_the_runs_it_does_not_clear_as_they_were(
    world: CommandWorld,
) -> None:
    """A task added to the DAG since its runs ended gets an instance only in the runs the
    clear reopens; a run with nothing to clear is neither read into memory nor written."""
    world.run_to_end("fan", "good")
    world.run_to_end("fan", "bad", {"enrich": FAILED})
    edges = [(up, t.task_id) for t in FAN.tasks.values() for up in t.upstream]
    grown = dag("fan", *FAN.tasks.values(), task("publish"), edges=[*edges, ("load", "publish")])
    writes.upsert_dag(world.conn, grown, to_text(NOW))
    good_before = world.states("fan", "good")
    events_before = len(reads.events(world.conn, dag_id="fan", run_id="good"))
    result = world.apply(Clear("fan", only_failed=True))
    assert result["cleared"] == {"bad": ["enrich", "load"]}
    assert world.states("fan", "good") == good_before
    assert world.run_row("fan", "good")["state"] == "success"
    assert len(reads.events(world.conn, dag_id="fan", run_id="good")) == events_before
    assert world.states("fan", "bad")["publish"] == "none"


def test_clear_of_a_running_run_stops_live_attempts_and_reschedules_at_once(
    world: CommandWorld,
) -> None:
    """In a running run, a cleared running or queued task becomes restarting and its attempt
    is stopped; a cleared finished one is scheduled again at once; the run stays running."""
    run = world.started("fan", "r1")
    world.book.ready.clear()
    world.queue(run, "extract", pid=4242)
    attempts.finished(world.book, world.conn, run, run.tis["extract"], SUCCESS, NOW)
    world.book.ready.clear()
    world.queue(run, "clean", pid=4343)
    world.queue(run, "enrich")
    world.apply(Clear("fan", "r1", task_regex="^extract$", downstream=True))
    assert world.states("fan", "r1") == {
        "extract": "scheduled",
        "clean": "restarting",
        "enrich": "restarting",
        "load": "none",
    }
    assert list(world.book.ready) == [(run.key, "extract", -1)]
    assert world.book.effects == [
        KillAttempt(
            AttemptKey("fan", "r1", "clean", 1),
            "cleared while running",
            "/logs/fan/r1/clean/attempt=1.log",
            4343,
            STARTED,
        ),
        KillAttempt(
            AttemptKey("fan", "r1", "enrich", 1),
            "cleared while running",
            "/logs/fan/r1/enrich/attempt=1.log",
            None,
            None,
        ),
    ]
    assert world.run_row("fan", "r1")["state"] == "running"
    assert [e["task_id"] for e in world.events("kill")] == ["clean", "enrich"]


# --- mark ---


@pytest.mark.parametrize(
    ("failing", "task_id", "state", "run_state"),
    [
        ("load", "load", "success", "success"),
        (None, "load", "failed", "failed"),
        (None, "extract", "failed", "success"),
    ],
    ids=["failed-leaf-marked-success", "leaf-marked-failed", "inner-task-marked-failed"],
)
def test_mark_of_a_finished_run_judges_the_run_again(
    world: CommandWorld, failing: str | None, task_id: str, state: str, run_state: str
) -> None:
    """Marking a task of a finished run sets it and judges the run again on its leaves; the run
    stays finished and out of the scheduler's active runs."""
    world.run_to_end("etl", "r1", {failing: FAILED} if failing else {})
    old = world.states("etl", "r1")[task_id]
    command = Mark("etl", "r1", task_id, state)
    result = world.apply(command)
    assert result == {
        "dag_id": "etl",
        "run_id": "r1",
        "task_id": task_id,
        "old_state": old,
        "new_state": state,
    }
    row = reads.task_instance(world.conn, "etl", "r1", task_id)
    assert row is not None
    assert pick(row, "state", "end_date") == {"state": state, "end_date": to_text(NOW)}
    assert world.run_row("etl", "r1")["state"] == run_state
    assert world.book.runs == {}
    (marked,) = [e for e in world.events("task_state") if e["actor"] != "scheduler"]
    assert pick(marked, "task_id", "old_state", "new_state", "actor") == {
        "task_id": task_id,
        "old_state": old,
        "new_state": state,
        "actor": f"{ACTOR} (marked)",
    }
    event = world.last_command()
    assert pick(event, "actor", "dag_id", "run_id") == {
        "actor": ACTOR,
        "dag_id": "etl",
        "run_id": "r1",
    }
    assert json.loads(event["detail"]) == to_wire(command)


@pytest.mark.parametrize(
    ("state", "transform"), [("success", "scheduled"), ("failed", "upstream_failed")]
)
def test_mark_in_a_running_run_moves_the_downstream_at_once(
    world: CommandWorld, state: str, transform: str
) -> None:
    """Marking a task that has not run yet settles its downstream at once and stops nothing."""
    run = world.started("etl", "r1")
    world.book.ready.clear()
    world.apply(Mark("etl", "r1", "extract", state))
    assert world.states("etl", "r1")["transform"] == transform
    assert [t for _, t, _ in world.book.ready] == (["transform"] if state == "success" else [])
    assert world.book.effects == []
    assert world.book.runs[run.key].state is RunState.RUNNING


def test_mark_of_a_task_waiting_to_retry_cancels_the_retry(world: CommandWorld) -> None:
    """A task up_for_retry marked success has no retry time any more and lets the next run."""
    run = world.started("etl", "r1")
    world.book.ready.clear()
    world.queue(run, "extract", pid=4242)
    retry = AttemptOutcome(TaskState.FAILED, "flaky", exit_code=1)
    attempts.finished(world.book, world.conn, run, run.tis["extract"], retry, NOW)
    assert world.states("etl", "r1")["extract"] == "up_for_retry"
    world.apply(Mark("etl", "r1", "extract", "success"))
    row = reads.task_instance(world.conn, "etl", "r1", "extract")
    assert row is not None
    assert pick(row, "state", "next_try_at") == {"state": "success", "next_try_at": None}
    assert world.states("etl", "r1")["transform"] == "scheduled"


# --- pause, variables ---


@pytest.mark.parametrize("is_paused", [True, False])
def test_set_paused_pauses_and_unpauses_a_dag(world: CommandWorld, is_paused: bool) -> None:
    """Pausing or unpausing a DAG sets its flag and is audited under the DAG."""
    world.apply(SetPaused("etl", not is_paused))
    assert world.apply(SetPaused("etl", is_paused)) == {"dag_id": "etl", "is_paused": is_paused}
    row = reads.dag(world.conn, "etl")
    assert row is not None
    assert row["is_paused"] is is_paused
    event = world.last_command()
    assert pick(event, "actor", "dag_id", "run_id") == {
        "actor": ACTOR,
        "dag_id": "etl",
        "run_id": None,
    }
    assert json.loads(event["detail"]) == {
        "command": "set_paused",
        "args": {"dag_id": "etl", "is_paused": is_paused},
    }


def test_set_variable_stores_it_and_keeps_its_description(world: CommandWorld) -> None:
    """A variable set again without a description keeps the one it had; the audit shows the
    value of a key that does not look secret."""
    assert world.apply(SetVariable("region", "eu", "where we run")) == {"key": "region"}
    world.apply(SetVariable("region", "us"))
    row = world.conn.execute("SELECT val, description FROM variables WHERE key = 'region'")
    assert row.fetchone() == ("us", "where we run")
    event = world.last_command()
    assert json.loads(event["detail"])["args"] == {
        "key": "region",
        "value": "us",
        "description": None,
    }
    assert pick(event, "actor", "dag_id") == {"actor": ACTOR, "dag_id": None}
    assert not variables.marker_path(world.store.path).exists()


@pytest.mark.parametrize("key", ["db_password", "API_KEY", "slack.Token", "aws_secret"])
def test_set_variable_masks_a_secret_value_in_the_audit(world: CommandWorld, key: str) -> None:
    """The audit trail of a secret-looking key shows *** for its value; the store keeps the
    value, and the marker that tells attempts to mask appears."""
    command = SetVariable(key, "hunter2")
    world.apply(command)
    assert variables.read(world.conn, key) == "hunter2"
    detail = world.last_command()["detail"]
    assert "hunter2" not in detail
    assert json.loads(detail) == to_wire(command._replace(value="***"))
    assert variables.marker_path(world.store.path).exists()


def test_delete_variable_removes_it_and_asks_for_the_marker_check(world: CommandWorld) -> None:
    """Deleting a stored variable removes it and asks the scheduler to check whether the
    secrets marker may go."""
    world.apply(SetVariable("db_password", "hunter2"))
    assert world.apply(DeleteVariable("db_password")) == {"key": "db_password"}
    assert variables.read(world.conn, "db_password") is None
    assert world.book.effects == [RefreshSecretMarker()]
    event = world.last_command()
    assert json.loads(event["detail"]) == {
        "command": "delete_variable",
        "args": {"key": "db_password"},
    }
