"""`flowtui dags ...`: list the DAGs and the files that failed to load, test a DAG in the
foreground, trigger, pause and unpause one, and backfill a date range."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from flowtui.cli.arguments import (
    Group,
    add_command,
    add_conf,
    add_group,
    add_logical_date,
    add_output,
    conf_argument,
    date_argument,
)
from flowtui.cli.home import open_store, parse_folder, send
from flowtui.cli.output import print_json, print_table
from flowtui.config import Settings

if TYPE_CHECKING:
    from flowtui.execution.local.executor import LocalExecutor


def register(top: Group, common: argparse.ArgumentParser) -> None:
    dags = add_group(top, "dags", "list, test, trigger and pause DAGs")
    add_output(add_command(dags, "list", _list, "DAGs of the DAG folder", common))
    add_output(add_command(dags, "errors", _errors, "files that failed to load", common))
    sub = add_command(
        dags, "test", _test, "one run in the foreground; exit 0 iff it succeeds", common
    )
    sub.add_argument("dag_id")
    add_logical_date(sub)
    add_conf(sub)
    sub = add_command(dags, "trigger", _trigger, "start a run (the scheduler runs it)", common)
    sub.add_argument("dag_id")
    add_logical_date(sub)
    add_conf(sub)
    sub = add_command(
        dags, "backfill", _backfill, "create and run the runs of a date range", common
    )
    sub.add_argument("dag_id")
    sub.add_argument("--start", required=True, help="first logical date (ISO date or datetime)")
    sub.add_argument("--end", required=True, help="last logical date, included")
    sub.add_argument(
        "--rerun-failed", action="store_true", help="rerun the failed tasks of runs that failed"
    )
    sub.add_argument(
        "--reset", action="store_true", help="rerun every run of the range, successful ones too"
    )
    for name, paused in (("pause", True), ("unpause", False)):
        sub = add_command(dags, name, _pause, f"{name} a DAG", common)
        sub.add_argument("dag_id")
        sub.set_defaults(is_paused=paused)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import reads

    parse_folder(settings)
    with open_store(settings) as store:
        dags = reads.dags(store.conn)
        errors = reads.import_errors(store.conn)
    rows = [
        {
            "dag_id": dag["dag_id"],
            "fileloc": dag["fileloc"],
            "is_paused": dag["is_paused"],
            "schedule": dag["schedule"],
            "tags": dag["tags"],
            "description": dag["description"],
            "tasks": list(dag["spec"].tasks),
        }
        for dag in dags
    ]
    if args.output == "json":
        return print_json(rows)
    columns = ["dag_id", "schedule", "is_paused", "tasks", "fileloc"]
    print_table(rows, columns, {"tasks": lambda v: str(len(v))})
    if errors:
        print(f"\n{len(errors)} file(s) failed to load; see `flowtui dags errors`", file=sys.stderr)
    return 0


def _errors(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import reads

    parse_folder(settings)
    with open_store(settings) as store:
        errors = reads.import_errors(store.conn)
    if args.output == "json":
        return print_json([{k: e[k] for k in ("filename", "line", "message")} for e in errors])
    for error in errors:
        where = f"{error['filename']}:{error['line']}" if error["line"] else error["filename"]
        print(f"{where}: {error['message']}")
    if not errors:
        print("no import errors")
    return 0


def _test(args: argparse.Namespace, settings: Settings) -> int:
    executor = _early_executor(settings)
    from flowtui.cli.progress import RunPrinter
    from flowtui.commands.model import Trigger
    from flowtui.scheduling.active_run import RunKey
    from flowtui.scheduling.foreground import ForegroundRuns
    from flowtui.states import RunState

    date_argument(args.logical_date)  # a mistyped date fails before the DAG folder loads
    conf = conf_argument(args.conf)
    runs = ForegroundRuns(settings, "dags-test", executor)
    try:
        runs.open()
        runs.active_spec(args.dag_id)
        # The run is test__<logical date>, so testing the same date again replaces the earlier
        # test run, as in Airflow.
        trigger = Trigger(
            args.dag_id,
            conf=conf,
            logical_date=args.logical_date,
            run_type="test",
            runner_pid=os.getpid(),
            replace=True,
        )
        (created,) = runs.apply([trigger])
    except BaseException:
        runs.close()
        raise
    key = RunKey(args.dag_id, created["run_id"])
    printer = RunPrinter(settings, key, sys.stdout)
    printer.start()
    try:
        runs.drive({key}, printer.on_changes)
    finally:
        printer.stop()
    state = runs.final_state(key)
    printer.write(f"run {key.run_id}: {state}\n")
    return 0 if state is RunState.SUCCESS else 1


def _early_executor(settings: Settings) -> LocalExecutor:
    """Start the fork server before the scheduler's modules are imported: it forks from a
    smaller process, so every attempt it forks in turn starts faster."""
    from flowtui.execution.local.executor import LocalExecutor

    executor = LocalExecutor(settings)
    executor.start()
    return executor


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.cli.progress import BackfillProgress
    from flowtui.commands.model import user_date
    from flowtui.errors import InvalidInput
    from flowtui.scheduling import backfill
    from flowtui.scheduling.active_run import RunKey
    from flowtui.scheduling.foreground import ForegroundRuns
    from flowtui.scheduling.timetables.factory import timetable

    start, end = user_date(args.start, "--start"), user_date(args.end, "--end")
    if end < start:
        raise InvalidInput("--end", end.isoformat(), "it must not be before --start")
    report = backfill.BackfillReport()
    runs = ForegroundRuns(settings, "backfill")
    try:
        runs.open()
        spec = runs.active_spec(args.dag_id)
        assert runs.scheduler.store is not None  # open() opened it
        commands = backfill.plan(
            runs.scheduler.store.conn,
            spec,
            timetable(spec).runs_between(start, end),
            report,
            runner_pid=runs.pid,
            rerun_failed=args.rerun_failed,
            reset=args.reset,
        )
        results = runs.apply(commands)
    except BaseException:
        runs.close()
        raise
    keys = {RunKey(args.dag_id, r["run_id"]) for r in results if "logical_date" in r}
    keys |= {RunKey(args.dag_id, run_id) for r in results for run_id in r.get("cleared", {})}
    progress = BackfillProgress(sys.stderr, len(keys), report)
    if keys:
        runs.drive(keys, progress.on_changes)
    else:
        runs.close()
    progress.finish(args.dag_id)
    return 0 if report.ok else 1


def _trigger(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Trigger

    command = Trigger(args.dag_id, conf=conf_argument(args.conf), logical_date=args.logical_date)
    result = send(settings, command, dag_id=args.dag_id)
    print(f"triggered {result['dag_id']}: run {result['run_id']}")
    return 0


def _pause(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import SetPaused

    send(settings, SetPaused(args.dag_id, args.is_paused), dag_id=args.dag_id)
    print(f"{args.dag_id}: {'paused' if args.is_paused else 'unpaused'}")
    return 0
