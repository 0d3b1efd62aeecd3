"""`flowtui dags ...`: list the DAGs and the files that failed to load (as the DAG folder
defines them now; the store is left alone), store the folder as the home's DAGs, test a DAG in
the foreground, trigger, pause and unpause one, and backfill a date range."""

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
from flowtui.cli.home import open_store, parse_folder, send, warn_about_dags_folder
from flowtui.cli.output import print_json, print_table
from flowtui.config import Settings

if TYPE_CHECKING:
    from flowtui.execution.local.executor import LocalExecutor


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_group(top, "dags", "list, test, trigger and pause DAGs", _commands, common)


def _commands(dags: Group, common: argparse.ArgumentParser) -> None:
    """`flowtui dags COMMAND`'s parsers; made only when the command line names the group."""
    add_output(add_command(dags, "list", _list, "DAGs of the DAG folder", common))
    add_output(add_command(dags, "errors", _errors, "files that failed to load", common))
    add_command(
        dags,
        "reserialize",
        _reserialize,
        "store the DAG folder as the home's DAGs, as a starting scheduler does",
        common,
    )
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

    found = parse_folder(settings)
    with open_store(settings) as store:
        paused = {d["dag_id"] for d in reads.dags(store.conn, active_only=False) if d["is_paused"]}
    rows = [
        {
            "dag_id": spec.dag_id,
            "fileloc": spec.fileloc,
            "is_paused": spec.dag_id in paused,
            "schedule": spec.schedule,
            "tags": list(spec.tags),
            "description": spec.description,
            "tasks": list(spec.tasks),
        }
        for spec in found.dags.values()
    ]
    if args.output == "json":
        return print_json(rows)
    columns = ["dag_id", "schedule", "is_paused", "tasks", "fileloc"]
    print_table(rows, columns, {"tasks": lambda v: str(len(v))})
    if found.failed:
        print(
            f"\n{len(found.failed)} file(s) failed to load; see `flowtui dags errors`",
            file=sys.stderr,
        )
    warn_about_dags_folder(settings)
    return 0


def _errors(args: argparse.Namespace, settings: Settings) -> int:
    """Import errors, then warnings about DAGs that load but ask for what the home's settings
    cannot do (mail without an [smtp] host); in JSON each entry has a `kind`."""
    from flowtui.alert_config import asks_for_email, mail_warnings

    found = parse_folder(settings)
    errors = [
        {"kind": "error", "filename": r.path, "line": r.error.line, "message": r.error.message}
        for r in found.failed
        if r.error is not None
    ]
    asking = [
        (spec.fileloc, spec.dag_id, task.task_id)
        for spec in found.dags.values()
        for task in spec.tasks.values()
        if asks_for_email(task)
    ]
    warnings = [
        {"kind": "warning", "filename": w.fileloc, "line": None, "message": w.message}
        for w in mail_warnings(asking, settings.smtp, settings.home)
    ]
    if args.output == "json":
        return print_json(errors + warnings)
    for error in errors + warnings:
        where = f"{error['filename']}:{error['line']}" if error["line"] else error["filename"]
        label = "warning: " if error["kind"] == "warning" else ""
        print(f"{where}: {label}{error['message']}")
    if not errors:
        print("no import errors")
    warn_about_dags_folder(settings)
    return 0


def _reserialize(args: argparse.Namespace, settings: Settings) -> int:
    """Parse the folder and record it as the home's whole set of DAGs: those it no longer
    defines become inactive. Only with no scheduler on the home, which keeps its own folder's
    record; in the offline turn, so that none starts meanwhile."""
    from flowtui.clock import to_text, utcnow
    from flowtui.errors import SchedulerAlreadyRunning
    from flowtui.execution.local.executor import parse_dag_folder
    from flowtui.loading.record import record
    from flowtui.scheduling.lock import holder_pid, offline_turn

    settings.ensure_home()
    results = parse_dag_folder(settings)
    with offline_turn(settings.lock_path) as no_scheduler, open_store(settings) as store:
        if not no_scheduler:
            raise SchedulerAlreadyRunning(settings.home, holder_pid(settings.lock_path))
        with store.transaction() as conn:
            specs = record(conn, results, to_text(utcnow()))
    failed = sum(r.error is not None for r in results)
    names = f": {', '.join(sorted(specs))}" if specs else ""
    print(f"stored {len(specs)} DAG(s) of {settings.dags_folder}{names}")
    if failed:
        print(f"{failed} file(s) failed to load; see `flowtui dags errors`", file=sys.stderr)
    warn_about_dags_folder(settings)
    return 0


def _test(args: argparse.Namespace, settings: Settings) -> int:
    executor = _early_executor(settings)
    warn_about_dags_folder(settings)
    from flowtui.cli.progress import RunPrinter
    from flowtui.commands.model import Trigger
    from flowtui.scheduling.active_run import RunKey
    from flowtui.scheduling.foreground import ForegroundRuns
    from flowtui.states import RunState

    date_argument(args.logical_date)  # a mistyped date fails before the DAG folder loads
    conf = conf_argument(args.conf)
    runs = ForegroundRuns(settings, "dags-test", executor)
    try:
        runs.open(args.dag_id)
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
    warn_about_dags_folder(settings)
    report = backfill.BackfillReport()
    runs = ForegroundRuns(settings, "backfill")
    try:
        spec = runs.open(args.dag_id)
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
