"""`flowtui logs DAG RUN TASK`: print an attempt's log, or follow it while it runs; either way
its bytes pass through in bounded pieces (a log of any size, in little memory)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from flowtui.cli.arguments import Group, add_command
from flowtui.cli.home import check_dag, open_store
from flowtui.config import Settings
from flowtui.errors import InvalidInput, TaskInstanceNotFound

if TYPE_CHECKING:
    import sqlite3


def register(top: Group, common: argparse.ArgumentParser) -> None:
    sub = add_command(top, "logs", _logs, "print (or follow) a task attempt's log", common)
    sub.add_argument("dag_id")
    sub.add_argument("run_id")
    sub.add_argument("task_id")
    sub.add_argument("--try", dest="try_number", type=int, help="attempt number (default: last)")
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

    key = (args.dag_id, args.run_id, args.task_id, args.map_index)
    with open_store(settings) as store:
        try_number = _try_number(store.conn, args)
        path = settings.attempt_log_path(*key[:3], try_number, args.map_index)
        if not args.follow and not path.exists():
            raise InvalidInput("log", str(path), "the attempt has not written a log yet")
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


def _try_number(conn: sqlite3.Connection, args: argparse.Namespace) -> int:
    """The attempt asked for (`--try`, default the last one), checked against the store."""
    from flowtui.store import reads

    ti = reads.task_instance(conn, args.dag_id, args.run_id, args.task_id, args.map_index)
    if ti is None:
        check_dag(conn, args.dag_id)
        mapped = reads.mapped_instances(conn, args.dag_id, args.run_id, args.task_id)
        raise TaskInstanceNotFound(
            args.dag_id, args.run_id, args.task_id, args.map_index, len(mapped)
        )
    try_number: int = args.try_number or ti["try_number"]
    if try_number < 1 or try_number > max(ti["try_number"], 0):
        raise InvalidInput(
            "--try", try_number, f"task {args.task_id} has {ti['try_number']} attempt(s) so far"
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
