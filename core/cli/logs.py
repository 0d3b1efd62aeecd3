"""`flowtui logs DAG RUN TASK`: print an attempt's log, or follow it while it runs; either way
its bytes pass through in bounded pieces (a log of any size, in little memory). RUN may be
`latest`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from flowtui.cli.arguments import Group, add_command
from flowtui.cli.home import check_dag, open_store, resolve_run_id
from flowtui.config import Settings
from flowtui.errors import InvalidInput, TaskInstanceNotFound

if TYPE_CHECKING:
    import sqlite3


def register(top: Group, common: argparse.ArgumentParser) -> None:
    sub = add_command(top, "logs", _logs, "print (or follow) a task attempt's log", common)
    sub.add_argument("dag_id")
    sub.add_argument("run_id", help="a run id, or latest")
    sub.add_argument("task_id")
    sub.add_argument(
        "--try", dest="try_number", type=int, help="attempt number, from 1 (default: the last)"
    )
    sub.add_argument("--follow", "-f", action="store_true", help="keep printing while it runs")
    sub.add_argument(
        "--map-index",
        dest="map_index",
        type=int,
        default=-1,
        metavar="N",
        help="which instance of a mapped task",
    )


def _logs(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.execution.logs import follow

    with open_store(settings) as store:
        run_id = resolve_run_id(store.conn, args.dag_id, args.run_id, settings.home)
        key = (args.dag_id, run_id, args.task_id, args.map_index)
        try_number = _try_number(store.conn, key, args.try_number)
        path = settings.attempt_log_path(*key[:3], try_number, args.map_index)
        if not args.follow and not path.exists():
            raise InvalidInput(
                "log",
                str(path),
                "there is none: the attempt has not written one yet, or log_retention_days "
                "removed it",
            )
        finished = (lambda: _finished(store.conn, key, try_number)) if args.follow else _always
        out = sys.stdout.buffer  # bytes as the task wrote them, like `cat`
        for chunk in follow(path, finished):
            out.write(chunk)
            if args.follow:
                out.flush()
    return 0


def _always() -> bool:
    """A log that is not followed counts as finished: it is printed up to its end once."""
    return True


def _try_number(conn: sqlite3.Connection, key: tuple[str, str, str, int], asked: int | None) -> int:
    """The attempt asked for (`--try`, default the last one), checked against the store."""
    from flowtui.store import reads

    if asked is not None and asked < 1:
        raise InvalidInput("--try", asked, "attempts are numbered from 1")
    ti = reads.task_instance(conn, *key)
    if ti is None:
        check_dag(conn, key[0])
        mapped = reads.mapped_instances(conn, *key[:3])
        raise TaskInstanceNotFound(*key, len(mapped))
    try_number: int = ti["try_number"] if asked is None else asked
    if try_number < 1 or try_number > ti["try_number"]:
        raise InvalidInput(
            "--try", try_number, f"task {key[2]} has {ti['try_number']} attempt(s) so far"
        )
    return try_number


def _finished(conn: sqlite3.Connection, key: tuple[str, str, str, int], try_number: int) -> bool:
    """Whether attempt `try_number` of the task instance `key` will write no more."""
    from flowtui.states import FINISHED, TaskState
    from flowtui.store import reads

    row = reads.task_instance(conn, *key)
    return (
        row is None
        or row["try_number"] != try_number
        or TaskState(row["state"]) in FINISHED | {TaskState.UP_FOR_RETRY}
    )
