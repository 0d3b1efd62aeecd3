"""Carrying out a command: the one implementation of trigger, clear, mark and pause, run on
the scheduler's loop (or, with no scheduler running, under its lock) inside a store
transaction."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flowtui.clock import to_text
from flowtui.commands.model import Clear, Command, Mark, Trigger, to_wire
from flowtui.errors import (
    CommandRejected,
    DagNotFound,
    InvalidConf,
    InvalidInput,
    RunExists,
    RunNotFound,
    TaskInstanceNotFound,
)
from flowtui.scheduling.run_book import ActiveRun, RunBook
from flowtui.spec import DagSpec
from flowtui.states import FAILED_STATES, RUN_FINISHED, TaskState
from flowtui.store import reads, writes


def apply(book: RunBook, conn: sqlite3.Connection, command: Command, actor: str) -> dict[str, Any]:
    """Carry out `command` against the store and the active runs of `book`.

    Raises:
        FlowtuiError: the command names something that does not exist or is malformed;
            nothing has been changed then.
    """
    detail = json.dumps(to_wire(command))
    scheduler_actor, book.actor = book.actor, actor  # state changes it causes are the user's
    try:
        if isinstance(command, Trigger):
            result = _trigger(book, conn, command)
        elif isinstance(command, Clear):
            result = _clear(book, conn, command)
        elif isinstance(command, Mark):
            result = _mark(book, conn, command)
        else:
            _spec(conn, command.dag_id)
            writes.set_paused(conn, command.dag_id, command.is_paused)
            result = {"dag_id": command.dag_id, "is_paused": command.is_paused}
    finally:
        book.actor = scheduler_actor
    writes.record_event(
        conn,
        "command",
        ts=to_text(book.clock()),
        actor=actor,
        dag_id=command.dag_id,
        run_id=result.get("run_id"),
        detail=detail,
    )
    return result


def _spec(conn: sqlite3.Connection, dag_id: str) -> DagSpec:
    spec = reads.dag_spec(conn, dag_id)
    if spec is None:
        raise DagNotFound(dag_id)
    return spec


def _trigger(book: RunBook, conn: sqlite3.Connection, command: Trigger) -> dict[str, Any]:
    spec = _spec(conn, command.dag_id)
    if command.conf is not None and not isinstance(command.conf, dict):
        raise InvalidInput("conf", command.conf, 'give a JSON object, e.g. {"date": "2024-01-01"}')
    _check_conf(spec, command.conf or {})
    logical = parse_date(command.logical_date) if command.logical_date else book.clock()
    run_id = command.run_id or f"{command.run_type}__{logical.isoformat()}"
    if reads.run(conn, spec.dag_id, run_id) is not None:
        raise RunExists(spec.dag_id, run_id)
    from flowtui.scheduling.timetables import timetable

    interval = timetable(spec).infer_manual_interval(logical)
    book.create_run(
        conn,
        spec,
        run_id,
        command.run_type,
        logical,
        conf=command.conf,
        data_interval=(interval.start, interval.end),
    )
    return {"dag_id": spec.dag_id, "run_id": run_id, "logical_date": to_text(logical)}


def _check_conf(spec: DagSpec, conf: dict[str, Any]) -> None:
    """A conf value for a DAG param must have the type of the param's default (an int is a
    valid float); keys that are not params pass, as in Airflow."""
    for key, value in conf.items():
        default = spec.params.get(key)
        if default is None:
            continue
        expected = (int, float) if type(default) is float else (type(default),)
        if type(value) not in expected:  # bool is not an int here, as in JSON
            raise InvalidConf(spec.dag_id, key, value, default)


def _clear(book: RunBook, conn: sqlite3.Connection, command: Clear) -> dict[str, Any]:
    spec = _spec(conn, command.dag_id)
    try:
        pattern = re.compile(command.task_regex) if command.task_regex else None
    except re.error as exc:
        raise InvalidInput("--task regex", command.task_regex, f"{exc}") from None
    selected = [t for t in spec.tasks if pattern is None or pattern.search(t)]
    if not selected:
        raise CommandRejected(
            f"DAG {spec.dag_id!r} has no task matching {command.task_regex!r}; "
            f"tasks: {', '.join(spec.tasks)}"
        )
    selected = _with_relatives(spec, selected, command.downstream, command.upstream)
    if command.run_id:
        row = reads.run(conn, spec.dag_id, command.run_id)
        if row is None:
            raise RunNotFound(spec.dag_id, command.run_id)
        rows = [row]
    else:
        rows = reads.runs(conn, spec.dag_id)
    cleared: dict[str, list[str]] = {}
    for row in rows:
        run = _active(book, conn, row)
        ids = [
            t
            for t in selected
            if t in run.tis and (not command.only_failed or run.tis[t].state in FAILED_STATES)
        ]
        if ids:
            cleared[run.run_id] = book.clear(conn, run, ids)
        _forget_if_finished(book, run)
    return {"dag_id": spec.dag_id, "run_id": command.run_id, "cleared": cleared}


def _mark(book: RunBook, conn: sqlite3.Connection, command: Mark) -> dict[str, Any]:
    if command.state not in (TaskState.SUCCESS, TaskState.FAILED):
        raise InvalidInput("state", command.state, "mark a task instance success or failed")
    row = reads.run(conn, command.dag_id, command.run_id)
    if row is None:
        _spec(conn, command.dag_id)
        raise RunNotFound(command.dag_id, command.run_id)
    run = _active(book, conn, row)
    if command.task_id not in run.tis:
        _forget_if_finished(book, run)
        raise TaskInstanceNotFound(command.dag_id, command.run_id, command.task_id)
    old = book.mark(conn, run, command.task_id, TaskState(command.state))
    book.refresh_finished(conn, run)
    _forget_if_finished(book, run)
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": command.task_id,
        "old_state": old,
        "new_state": command.state,
    }


def _active(book: RunBook, conn: sqlite3.Connection, row: dict[str, Any]) -> ActiveRun:
    run = book.runs.get((row["dag_id"], row["run_id"])) or book.load_run(conn, row)
    if run is None:
        raise DagNotFound(row["dag_id"])
    return run


def _forget_if_finished(book: RunBook, run: ActiveRun) -> None:
    if run.state in RUN_FINISHED:
        book.runs.pop(run.key, None)


def _with_relatives(spec: DagSpec, task_ids: Iterable[str], down: bool, up: bool) -> list[str]:
    chosen = set(task_ids)
    for flag, direction in ((down, "downstream"), (up, "upstream")):
        if not flag:
            continue
        work = list(task_ids)
        while work:
            for other in getattr(spec.tasks[work.pop()], direction):
                if other not in chosen:
                    chosen.add(other)
                    work.append(other)
    return [t for t in spec.tasks if t in chosen]


def parse_date(text: str) -> datetime:
    """A logical date from the command line: a date or an ISO datetime; naive means UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "logical date", text, "use an ISO date such as 2024-03-01 or 2024-03-01T06:00:00"
        ) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment
