"""The command API: the only way anything outside the scheduler changes state (trigger, clear,
mark, pause). `apply` is the one implementation; `connect` picks how a command gets there: the
scheduler in this process, a scheduler in another process (its socket), or, with no scheduler
running, the store directly under the scheduler lock."""

from __future__ import annotations

import getpass
import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from flowtui.clock import to_text, utcnow
from flowtui.errors import (
    CommandRejected,
    DagNotFound,
    FlowtuiError,
    InvalidConf,
    InvalidInput,
    RunExists,
    RunNotFound,
    TaskInstanceNotFound,
)
from flowtui.runs import ActiveRun, RunBook
from flowtui.spec import DagSpec
from flowtui.states import FAILED_STATES, RUN_FINISHED, TaskState
from flowtui.store import reads, writes

if TYPE_CHECKING:
    from flowtui.config import Settings


@dataclass(frozen=True)
class Trigger:
    """Create a run of a DAG now (it starts when the scheduler has room for it)."""

    dag_id: str
    conf: dict[str, Any] | None = None
    logical_date: str | None = None
    run_id: str | None = None
    run_type: str = "manual"


@dataclass(frozen=True)
class Clear:
    """Reset task instances so that they run again; run_id None means every run."""

    dag_id: str
    run_id: str | None = None
    task_regex: str | None = None
    downstream: bool = False
    upstream: bool = False
    only_failed: bool = False


@dataclass(frozen=True)
class Mark:
    """Set a task instance to success or failed by hand."""

    dag_id: str
    run_id: str
    task_id: str
    state: str


@dataclass(frozen=True)
class SetPaused:
    """Pause (no new runs or tasks start) or unpause a DAG."""

    dag_id: str
    is_paused: bool


Command = Trigger | Clear | Mark | SetPaused
_KINDS: dict[str, type[Command]] = {
    "trigger": Trigger,
    "clear": Clear,
    "mark": Mark,
    "set_paused": SetPaused,
}


def to_wire(command: Command) -> dict[str, Any]:
    name = next(k for k, v in _KINDS.items() if isinstance(command, v))
    return {"command": name, "args": asdict(command)}


def from_wire(data: dict[str, Any]) -> Command:
    kind = _KINDS.get(data.get("command", ""))
    if kind is None:
        raise CommandRejected(f"unknown command {data.get('command')!r}")
    return kind(**data.get("args", {}))


def default_actor(via: str) -> str:
    """Who is acting, for the audit trail: the interface and the OS user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{via}:{user}"


# --- applying a command: the one implementation, run inside a store transaction ---


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
    from flowtui.schedules import timetable

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


# --- clients: how a command reaches whoever applies it ---


class CommandClient(Protocol):
    def send(self, command: Command) -> dict[str, Any]: ...


def connect(settings: Settings, actor: str, scheduler: Any = None) -> CommandClient:
    """The client for commands on `settings.home`: the embedded `scheduler` if given, else a
    running scheduler's socket, else the store directly."""
    from flowtui.lock import holder_pid

    if scheduler is not None:
        return _InProcess(scheduler, actor)
    if holder_pid(settings.lock_path) is not None:
        from flowtui.command_server import SocketClient

        return SocketClient(settings, actor)
    return _Offline(settings, actor)


@dataclass
class _InProcess:
    scheduler: Any
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        result: dict[str, Any] = self.scheduler.call(command, self.actor)
        return result


@dataclass
class _Offline:
    """No scheduler runs: apply under the scheduler lock so that none starts meanwhile."""

    settings: Settings
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        from flowtui.lock import SchedulerLock
        from flowtui.store import Store

        lock = SchedulerLock(self.settings.lock_path)
        try:
            lock.acquire()
        except FlowtuiError:
            from flowtui.command_server import SocketClient  # one started meanwhile

            return SocketClient(self.settings, self.actor).send(command)
        try:
            store = Store(self.settings.db_path)
            book = RunBook(utcnow, actor=self.actor)
            with store.transaction() as conn:
                result = apply(book, conn, command, self.actor)
            store.close()
            return result
        finally:
            lock.release()
