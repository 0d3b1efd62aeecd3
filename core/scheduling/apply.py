"""Carrying out a command: the one implementation of trigger, clear, mark, pause and the
variable and pool commands, run on the scheduler's loop (or, with no scheduler running, under
its lock) inside a store transaction, and recorded in `events` with who sent it."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from flowtui.clock import in_utc, to_text
from flowtui.commands.model import (
    Clear,
    Command,
    DeletePool,
    DeleteVariable,
    Mark,
    MarkRun,
    SetPaused,
    SetPool,
    SetVariable,
    Trigger,
    to_wire,
    user_date,
)
from flowtui.errors import (
    DagNotFound,
    InvalidConf,
    InvalidInput,
    RunExists,
    RunNotFound,
    TaskInstanceNotFound,
    VariableNotStored,
)
from flowtui.scheduling import attempts, pools
from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.scheduling.clearing import (
    clear_selection,
    external_clears,
    instances_to_clear,
    runs_to_clear,
)
from flowtui.scheduling.effects import RefreshSecretMarker
from flowtui.scheduling.run_book import RunBook, is_driven_elsewhere
from flowtui.spec import DagSpec
from flowtui.states import (
    ACTIVE,
    FAILED_STATES,
    RUN_FINISHED,
    UNFINISHED,
    RunState,
    TaskState,
)
from flowtui.store import reads, variables, writes

_RUN_TYPES = ("manual", "test", "backfill")
_MARKABLE = (TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED)
"""What a user may mark a task instance (Airflow's UI marks success, failed and skipped)."""


def apply(book: RunBook, conn: sqlite3.Connection, command: Command, actor: str) -> dict[str, Any]:
    """Carry out `command` against the store and the active runs of `book`.

    Raises:
        FlowtuiError: the command names something that does not exist or is malformed;
            nothing has been changed then (its writes are rolled back to a savepoint, while
            the rest of the caller's transaction stands).
    """
    conn.execute("SAVEPOINT command")
    try:
        result = _apply(book, conn, command, actor)
    except BaseException:
        conn.execute("ROLLBACK TO command")
        conn.execute("RELEASE command")
        raise
    conn.execute("RELEASE command")
    return result


def _apply(book: RunBook, conn: sqlite3.Connection, command: Command, actor: str) -> dict[str, Any]:
    scheduler_actor, book.actor = book.actor, actor  # state changes it causes are the user's
    try:
        match command:
            case Trigger():
                result = _trigger(book, conn, command)
            case Clear():
                result = _clear(book, conn, command)
            case Mark():
                result = _mark(book, conn, command)
            case MarkRun():
                result = _mark_run(book, conn, command)
            case SetPaused(dag_id, is_paused):
                _spec(conn, dag_id)
                writes.set_paused(conn, dag_id, is_paused)
                result = {"dag_id": dag_id, "is_paused": is_paused}
            case SetVariable(key, value, description):
                variables.write(conn, key, value, description)
                result = {"key": key}
            case DeleteVariable(key):
                if not variables.delete(conn, key):
                    raise VariableNotStored(key, env_set=False)
                book.effects.append(RefreshSecretMarker())
                result = {"key": key}
            case SetPool(name, slots, description):
                # Read again by the dispatcher when it next queues: takes effect at once.
                writes.set_pool(conn, pools.check_name(name), pools.check_slots(slots), description)
                result = {"pool": name, "slots": slots}
            case DeletePool(name):
                pools.check_deletable(name)
                if not writes.delete_pool(conn, name):
                    raise pools.not_found(name)
                result = {"pool": name}
    finally:
        book.actor = scheduler_actor
    writes.record_event(
        conn,
        "command",
        ts=book.now(),
        actor=actor,
        dag_id=result.get("dag_id"),
        run_id=result.get("run_id"),
        detail=json.dumps(to_wire(_shown(command))),
    )
    return result


def _shown(command: Command) -> Command:
    """The command as the audit trail keeps it: a secret variable's value masked."""
    if isinstance(command, SetVariable) and variables.is_secret_key(command.key):
        return command._replace(value=variables.MASK)
    return command


def _spec(conn: sqlite3.Connection, dag_id: str) -> DagSpec:
    spec = reads.dag_spec(conn, dag_id)
    if spec is None:
        raise DagNotFound(dag_id)
    return spec


def _trigger(book: RunBook, conn: sqlite3.Connection, command: Trigger) -> dict[str, Any]:
    spec = _spec(conn, command.dag_id)
    if command.conf is not None and not isinstance(command.conf, dict):
        raise InvalidInput("conf", command.conf, 'give a JSON object, e.g. {"date": "2024-01-01"}')
    if command.run_type not in _RUN_TYPES:
        raise InvalidInput("run type", command.run_type, f"use one of: {', '.join(_RUN_TYPES)}")
    _check_conf(spec, command.conf or {})
    if spec.param_schemas:  # jsonschema is imported only for a DAG with Params
        from flowtui.authoring.param_validation import check_run_params

        check_run_params(spec.dag_id, spec.params, spec.param_schemas, command.conf or {})
    logical = user_date(command.logical_date) if command.logical_date else book.clock()
    run_id = command.run_id or f"{command.run_type}__{logical.isoformat()}"
    if command.data_interval_start and command.data_interval_end:
        start = user_date(command.data_interval_start, "data interval start")
        end = user_date(command.data_interval_end, "data interval end")
    elif spec.schedule is None:  # what NullTimetable infers, without importing the timetables
        start = end = in_utc(logical)
    else:
        from flowtui.scheduling.timetables.factory import timetable

        interval = timetable(spec).infer_manual_interval(logical)
        start, end = interval.start, interval.end
    existing = reads.run(conn, spec.dag_id, run_id)
    if existing is not None:
        if not command.replace or not _replaceable(book, existing):
            raise RunExists(spec.dag_id, run_id)
        book.runs.pop(RunKey(spec.dag_id, run_id), None)
        writes.delete_run(conn, spec.dag_id, run_id, ts=book.now(), actor=book.actor)
    book.create_run(
        conn,
        spec,
        run_id,
        command.run_type,
        logical,
        conf=command.conf,
        data_interval=(start, end),
        runner_pid=command.runner_pid,
    )
    return {"dag_id": spec.dag_id, "run_id": run_id, "logical_date": to_text(logical)}


def _replaceable(book: RunBook, row: dict[str, Any]) -> bool:
    """A run `Trigger(replace=True)` may delete: one no other live process drives, and that
    is finished, or whose foreground process died and this scheduler does not drive (no
    attempt of it can be running)."""
    runner = row["runner_pid"]
    if is_driven_elsewhere(runner):
        return False
    if RunState(row["state"]) in RUN_FINISHED:
        return True
    is_orphan = runner is not None and runner != os.getpid()
    return is_orphan and RunKey(row["dag_id"], row["run_id"]) not in book.runs


def _check_conf(spec: DagSpec, conf: dict[str, Any]) -> None:
    """A conf value for a DAG param given as a plain value must have the type of its default
    (an int is a valid float); keys that are not params pass, as in Airflow. A `Param`'s own
    schema judges its value (`check_run_params`)."""
    for key, value in conf.items():
        default = spec.params.get(key)
        if default is None or key in spec.param_schemas:
            continue
        expected = (int, float) if type(default) is float else (type(default),)
        if type(value) not in expected:  # bool is not an int here, as in JSON
            raise InvalidConf(spec.dag_id, key, value, default)


def _clear(book: RunBook, conn: sqlite3.Connection, command: Clear) -> dict[str, Any]:
    spec, chosen, picked = clear_selection(conn, command)
    failed = (
        reads.task_ids_by_run(conn, spec.dag_id, FAILED_STATES, command.run_id)
        if command.only_failed
        else None
    )
    cleared: dict[str, list[str]] = {}
    elsewhere: list[dict[str, Any]] = []
    for row in runs_to_clear(conn, spec, command):
        if failed is not None and not chosen & failed.get(row["run_id"], set()):
            continue  # nothing to clear: left as it is, not matched to the DAG as it is now
        run = _active(book, conn, row, spec)
        tis = instances_to_clear(spec, chosen, picked, run.instances, command)
        if tis:
            ids = list(dict.fromkeys(ti.task_id for ti in tis))
            for other in external_clears(conn, spec, row, ids, only_failed=command.only_failed):
                other_run = _active(book, conn, other.run, other.spec)
                there = [ti for t in other.task_ids for ti in other_run.instances(t)]
                _clear_run(book, conn, other_run, there)
                _forget_if_finished(book, other_run)
                ids_there = {"run_id": other_run.run_id, "task_ids": other.task_ids}
                elsewhere.append({"dag_id": other_run.dag_id, **ids_there})
            _clear_run(book, conn, run, tis)
            cleared[run.run_id] = ids
            if command.runner_pid is not None:
                book.drive_from(conn, run, command.runner_pid)
        _forget_if_finished(book, run)
    result = {"dag_id": spec.dag_id, "run_id": command.run_id, "cleared": cleared}
    return {**result, "external": elsewhere} if elsewhere else result


def _clear_run(book: RunBook, conn: sqlite3.Connection, run: ActiveRun, tis: list[TI]) -> None:
    """Reset task instances so that they run again with their full retries, as Airflow's
    clear does; running ones become `restarting` and are stopped first."""
    for ti in tis:
        task = run.spec.tasks.get(ti.task_id)
        ti.max_tries = ti.try_number + (task.retries if task is not None else 0)
        if ti.state in (TaskState.RUNNING, TaskState.QUEUED):
            book.set_state(
                conn, run, ti, TaskState.RESTARTING, max_tries=ti.max_tries, actor_detail="cleared"
            )
            attempts.stop(book, conn, run, ti, "cleared while running")
        elif ti.state is not TaskState.RESTARTING:
            book.set_state(
                conn,
                run,
                ti,
                TaskState.NONE,
                max_tries=ti.max_tries,
                pid=None,
                start_date=None,
                end_date=None,
                duration=None,
                next_try_at=None,
                actor_detail="cleared",
            )
    if run.state in RUN_FINISHED:
        book.reopen(conn, run)
    elif run.state is RunState.RUNNING:
        book.evaluate(conn, run, list(dict.fromkeys(ti.task_id for ti in tis)))


def _mark(book: RunBook, conn: sqlite3.Connection, command: Mark) -> dict[str, Any]:
    if command.state not in _MARKABLE:
        raise InvalidInput(
            "state", command.state, "mark a task instance success, failed or skipped"
        )
    run = _stored_run(book, conn, command.dag_id, command.run_id)
    ti = run.ti(command.task_id, command.map_index)
    if ti is None:
        _forget_if_finished(book, run)
        mapped = len(run.mapped.get(command.task_id, ()))
        raise TaskInstanceNotFound(
            command.dag_id, command.run_id, command.task_id, command.map_index, mapped
        )
    old, new = ti.state, TaskState(command.state)
    if old in ACTIVE:
        attempts.stop(book, conn, run, ti, f"marked {new} while running")
    book.set_state(conn, run, ti, new, end_date=book.now(), next_try_at=None, actor_detail="marked")
    task = run.spec.tasks.get(command.task_id)
    if run.state is RunState.RUNNING and task is not None:
        book.evaluate(conn, run, task.downstream)
    book.refresh_finished(conn, run)
    _forget_if_finished(book, run)
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": command.task_id,
        "old_state": old,
        "new_state": command.state,
    } | ({"map_index": command.map_index} if command.map_index >= 0 else {})


def _mark_run(book: RunBook, conn: sqlite3.Connection, command: MarkRun) -> dict[str, Any]:
    """Airflow's "mark run as success / failed" (skipped task instances stay skipped)."""
    if command.state not in (RunState.SUCCESS, RunState.FAILED):
        raise InvalidInput("state", command.state, "mark a run success or failed")
    run = _stored_run(book, conn, command.dag_id, command.run_id)
    state = RunState(command.state)
    marked: dict[str, str] = {}
    for ti in list(run.all_tis()):
        new = _marked_with_run(ti.state, state)
        if new is None:
            continue
        if ti.state in ACTIVE:
            attempts.stop(book, conn, run, ti, f"run marked {state} while running")
        done = book.now()
        book.set_state(conn, run, ti, new, end_date=done, next_try_at=None, actor_detail="marked")
        marked[ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"] = new
    book.end_run(conn, run, state, "marked")
    return {"dag_id": run.dag_id, "run_id": run.run_id, "state": state, "marked": marked}


def _marked_with_run(old: TaskState, run_state: RunState) -> TaskState | None:
    """What a task instance in `old` becomes when its run is marked `run_state`; None: stays."""
    if run_state is RunState.SUCCESS:
        return None if old in (TaskState.SUCCESS, TaskState.SKIPPED) else TaskState.SUCCESS
    if old in ACTIVE:
        return TaskState.FAILED
    return TaskState.SKIPPED if old in UNFINISHED else None


def _stored_run(book: RunBook, conn: sqlite3.Connection, dag_id: str, run_id: str) -> ActiveRun:
    """A run a command names, loaded to be changed.

    Raises:
        DagNotFound, RunNotFound: the store has no such DAG, or no such run of it.
    """
    row = reads.run(conn, dag_id, run_id)
    if row is None:
        _spec(conn, dag_id)
        raise RunNotFound(dag_id, run_id)
    return _active(book, conn, row)


def _active(
    book: RunBook, conn: sqlite3.Connection, row: dict[str, Any], spec: DagSpec | None = None
) -> ActiveRun:
    run = book.runs.get(RunKey(row["dag_id"], row["run_id"])) or book.load_run(conn, row, spec)
    if run is None:
        raise DagNotFound(row["dag_id"])
    return run


def _forget_if_finished(book: RunBook, run: ActiveRun) -> None:
    if run.state in RUN_FINISHED:
        book.runs.pop(run.key, None)
