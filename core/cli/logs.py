"""`flowtui logs DAG RUN TASK`: print an attempt's log, or follow it while it runs."""

from __future__ import annotations

import argparse
import sys

from flowtui.cli.arguments import Group, add_command
from flowtui.cli.home import check_dag
from flowtui.config import Settings
from flowtui.errors import InvalidInput, TaskInstanceNotFound
from flowtui.execution.logs import follow
from flowtui.states import FINISHED, TaskState
from flowtui.store import Store, reads


def register(top: Group, common: argparse.ArgumentParser) -> None:
    sub = add_command(top, "logs", _logs, "print (or follow) a task attempt's log", common)
    sub.add_argument("dag_id")
    sub.add_argument("run_id")
    sub.add_argument("task_id")
    sub.add_argument("--try", dest="try_number", type=int, help="attempt number (default: last)")
    sub.add_argument("--follow", "-f", action="store_true", help="keep printing while it runs")


def _logs(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings.db_path)
    key = (args.dag_id, args.run_id, args.task_id)
    ti = reads.task_instance(store.conn, *key)
    if ti is None:
        check_dag(store.conn, args.dag_id)
        raise TaskInstanceNotFound(*key)
    try_number = args.try_number or ti["try_number"]
    if try_number < 1 or try_number > max(ti["try_number"], 0):
        raise InvalidInput(
            "--try", try_number, f"task {args.task_id} has {ti['try_number']} attempt(s) so far"
        )
    path = settings.attempt_log_path(*key, try_number)

    def finished() -> bool:
        row = reads.task_instance(store.conn, *key)
        return (
            row is None
            or row["try_number"] != try_number
            or TaskState(row["state"]) in FINISHED | {TaskState.UP_FOR_RETRY}
        )

    if args.follow:
        for chunk in follow(path, finished):
            sys.stdout.write(chunk)
            sys.stdout.flush()
        return 0
    if not path.exists():
        raise InvalidInput("log", str(path), "the attempt has not written a log yet")
    sys.stdout.write(path.read_text(errors="replace"))
    return 0
