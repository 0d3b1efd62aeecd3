"""The `flowtui` command line (DESIGN.md). argparse rather than click: it is in the standard
library and imports in a few milliseconds, and start-up time is part of `dags test`'s budget.
Every error a user can cause ends as one `flowtui: error: ...` line on stderr, exit code 1."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flowtui.config import Settings, load_settings
from flowtui.errors import FlowtuiError, InvalidInput

logger = logging.getLogger("flowtui")

Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(getattr(args, "home", None), getattr(args, "dags_folder", None))
        # Tasks (and the fork server) learn the home from the environment, like DAG code does.
        os.environ["FLOWTUI_HOME"] = str(settings.home)
        handler: Handler = getattr(args, "handler", _dashboard)
        return handler(args, settings)
    except FlowtuiError as exc:
        print(f"flowtui: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of our output went away (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: the traceback goes to a file, the user gets one line
        where = _log_crash(args)
        print(
            f"flowtui: error: unexpected {type(exc).__name__}: {exc} (traceback in {where})",
            file=sys.stderr,
        )
        return 1


def _log_crash(args: argparse.Namespace) -> str:
    import tempfile
    import traceback

    try:
        folder = load_settings(
            getattr(args, "home", None), getattr(args, "dags_folder", None)
        ).logs_dir
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except Exception:
        folder = Path(tempfile.gettempdir())
    path = folder / "flowtui-crash.log"
    with path.open("a") as file:
        traceback.print_exc(file=file)
    return str(path)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="state directory (default $FLOWTUI_HOME or ~/.flowtui)",
    )
    common.add_argument("--dags-folder", default=argparse.SUPPRESS, help="folder of DAG files")
    parser = argparse.ArgumentParser(
        prog="flowtui",
        parents=[common],
        description="Airflow-style DAGs on one machine. Without a command: the dashboard.",
    )
    top = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(group: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help_text)
        sub.set_defaults(handler=handler)
        return sub

    def output(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--output", choices=["table", "json"], default="table")

    def logical_date(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--logical-date", help="ISO date or datetime (default: now)")

    add(top, "scheduler", _scheduler, "run the scheduler without the dashboard")

    dags = top.add_parser("dags", help="list, test, trigger and pause DAGs").add_subparsers(
        title="dags commands", metavar="COMMAND", required=True
    )
    output(add(dags, "list", _dags_list, "DAGs of the DAG folder"))
    output(add(dags, "errors", _dags_errors, "files that failed to load"))
    sub = add(dags, "test", _dags_test, "one run in the foreground; exit 0 iff it succeeds")
    sub.add_argument("dag_id")
    logical_date(sub)
    sub.add_argument("--conf", help="run configuration as a JSON object")
    sub = add(dags, "trigger", _dags_trigger, "start a run (the scheduler runs it)")
    sub.add_argument("dag_id")
    logical_date(sub)
    sub.add_argument("--conf", help="run configuration as a JSON object")
    sub = add(dags, "backfill", _dags_backfill, "create and run the runs of a date range")
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
        sub = add(dags, name, _dags_pause, f"{name} a DAG")
        sub.add_argument("dag_id")
        sub.set_defaults(is_paused=paused)

    runs = top.add_parser("runs", help="runs of a DAG").add_subparsers(
        title="runs commands", metavar="COMMAND", required=True
    )
    sub = add(runs, "list", _runs_list, "runs of a DAG, newest first")
    sub.add_argument("dag_id")
    output(sub)
    sub = add(runs, "show", _runs_show, "one run and its task instances (default: the latest)")
    sub.add_argument("dag_id")
    sub.add_argument("run_id", nargs="?")
    output(sub)

    tasks = top.add_parser("tasks", help="test, clear and mark tasks").add_subparsers(
        title="tasks commands", metavar="COMMAND", required=True
    )
    sub = add(tasks, "test", _tasks_test, "run one task here, recording nothing")
    sub.add_argument("dag_id")
    sub.add_argument("task_id")
    logical_date(sub)
    sub = add(tasks, "clear", _tasks_clear, "reset task instances so that they run again")
    sub.add_argument("dag_id")
    sub.add_argument("--run", dest="run_id", help="only this run (default: every run)")
    sub.add_argument("--task", dest="task_regex", help="only tasks whose id matches REGEX")
    sub.add_argument("--downstream", action="store_true", help="also their downstream tasks")
    sub.add_argument("--upstream", action="store_true", help="also their upstream tasks")
    sub.add_argument("--only-failed", action="store_true", help="only failed/upstream_failed")
    sub = add(tasks, "mark", _tasks_mark, "set a task instance to success or failed")
    sub.add_argument("dag_id")
    sub.add_argument("run_id")
    sub.add_argument("task_id")
    sub.add_argument("state", choices=["success", "failed"])

    sub = add(top, "logs", _logs, "print (or follow) a task attempt's log")
    sub.add_argument("dag_id")
    sub.add_argument("run_id")
    sub.add_argument("task_id")
    sub.add_argument("--try", dest="try_number", type=int, help="attempt number (default: last)")
    sub.add_argument("--follow", "-f", action="store_true", help="keep printing while it runs")

    crontab = top.add_parser("crontab", help="turn a crontab into DAGs").add_subparsers(
        title="crontab commands", metavar="COMMAND", required=True
    )
    sub = add(crontab, "import", _crontab_import, "write a DAG file per crontab entry")
    sub.add_argument("file", nargs="?", default="-", help="crontab file, or - for stdin")
    sub.add_argument("--into", metavar="DIR", help="folder to write to (default: DAG folder)")
    sub.add_argument("--skip-invalid", action="store_true", help="import the lines that can be")
    sub.add_argument("--force", action="store_true", help="overwrite existing DAG files")

    variables = top.add_parser("variables", help="get, set, list and delete variables")
    verbs = variables.add_subparsers(title="variables commands", metavar="COMMAND", required=True)
    sub = add(verbs, "get", _variables_get, "print a variable (FLOWTUI_VAR_<KEY> wins)")
    sub.add_argument("key")
    sub.add_argument("--json", action="store_true", help="parse it as JSON and pretty-print it")
    sub = add(verbs, "set", _variables_set, "store a variable")
    sub.add_argument("key")
    sub.add_argument("value")
    sub.add_argument("--json", action="store_true", help="refuse VALUE unless it is JSON")
    sub.add_argument("--description", help="what the variable is for")
    output(add(verbs, "list", _variables_list, "stored variables; secret values masked"))
    sub = add(verbs, "delete", _variables_delete, "remove a variable from the store")
    sub.add_argument("key")
    return parser


# --- the long-running processes ---


def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    # Deferred, so that the other commands and the engine never import Textual.
    from flowtui.tui.launch import run_dashboard

    return int(run_dashboard(settings))


def _scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.transport import CommandServer
    from flowtui.execution.logs import log_to_file
    from flowtui.scheduling.lock import SchedulerLock
    from flowtui.scheduling.service import Scheduler

    log_to_file(settings)
    lock = SchedulerLock(settings.lock_path)
    lock.acquire()
    scheduler = Scheduler(settings)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: scheduler.request_stop())
    try:
        scheduler.start()
        server = CommandServer(settings, scheduler)
        server.start()
        print(f"flowtui scheduler: home {settings.home}, DAGs {settings.dags_folder}", flush=True)
        try:
            scheduler.serve()
        finally:
            server.stop()
    finally:
        lock.release()
    return 0


# --- dags ---


def _parse_folder(settings: Settings) -> None:
    """Load the DAG folder into the store (what `dags list` and `dags errors` show)."""
    from flowtui.clock import to_text, utcnow
    from flowtui.loading.loader import parse_folder_once, record
    from flowtui.store import Store

    results = parse_folder_once(settings)
    store = Store(settings.db_path)
    with store.transaction() as conn:
        record(conn, results, to_text(utcnow()))
    store.close()


def _dags_list(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import Store, reads

    _parse_folder(settings)
    conn = Store(settings.db_path).conn
    rows = []
    for dag in reads.dags(conn):
        spec = dag["spec"]
        rows.append(
            {
                "dag_id": dag["dag_id"],
                "fileloc": dag["fileloc"],
                "is_paused": dag["is_paused"],
                "schedule": dag["schedule"],
                "tags": dag["tags"],
                "description": dag["description"],
                "tasks": list(spec.tasks),
            }
        )
    if args.output == "json":
        return _print_json(rows)
    _print_table(
        rows,
        ["dag_id", "schedule", "is_paused", "tasks", "fileloc"],
        {"tasks": lambda v: str(len(v))},
    )
    errors = reads.import_errors(conn)
    if errors:
        print(f"\n{len(errors)} file(s) failed to load; see `flowtui dags errors`", file=sys.stderr)
    return 0


def _dags_errors(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import Store, reads

    _parse_folder(settings)
    errors = reads.import_errors(Store(settings.db_path).conn)
    if args.output == "json":
        return _print_json([{k: e[k] for k in ("filename", "line", "message")} for e in errors])
    for error in errors:
        where = f"{error['filename']}:{error['line']}" if error["line"] else error["filename"]
        print(f"{where}: {error['message']}")
    if not errors:
        print("no import errors")
    return 0


def _dags_test(args: argparse.Namespace, settings: Settings) -> int:
    executor = _early_executor(settings)
    from flowtui.scheduling.foreground import run_dag_test
    from flowtui.states import RunState

    state = run_dag_test(
        settings, args.dag_id, _date(args.logical_date), _conf(args.conf), executor=executor
    )
    return 0 if state is RunState.SUCCESS else 1


def _early_executor(settings: Settings) -> Any:
    """Start the fork server before the scheduler's modules are imported: it forks from a
    smaller process, so every attempt it forks in turn starts faster."""
    from flowtui.execution.local.executor import LocalExecutor

    executor = LocalExecutor(settings, lambda _event: None)
    executor.start()
    return executor


def _dags_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.scheduling.backfill import run_backfill

    report = run_backfill(
        settings,
        args.dag_id,
        _date(args.start),
        _date(args.end),
        rerun_failed=args.rerun_failed,
        reset=args.reset,
    )
    return 0 if report.ok else 1


def _dags_trigger(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Trigger

    result = _send(
        settings,
        Trigger(args.dag_id, conf=_conf(args.conf), logical_date=args.logical_date),
        parse_first=True,
    )
    print(f"triggered {result['dag_id']}: run {result['run_id']}")
    return 0


def _dags_pause(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import SetPaused

    _send(settings, SetPaused(args.dag_id, args.is_paused), parse_first=True)
    print(f"{args.dag_id}: {'paused' if args.is_paused else 'unpaused'}")
    return 0


# --- runs, tasks, logs ---


def _runs_list(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import Store, reads

    conn = Store(settings.db_path).conn
    _known_dag(conn, args.dag_id)
    rows = [
        {k: r[k] for k in ("run_id", "state", "run_type", "logical_date", "start_date", "end_date")}
        for r in reads.runs(conn, args.dag_id)
    ]
    if args.output == "json":
        return _print_json(rows)
    _print_table(rows, ["run_id", "state", "run_type", "logical_date", "start_date", "end_date"])
    return 0


def _runs_show(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.errors import RunNotFound
    from flowtui.store import Store, reads

    conn = Store(settings.db_path).conn
    _known_dag(conn, args.dag_id)
    run = reads.run(conn, args.dag_id, args.run_id)
    if run is None:
        raise RunNotFound(args.dag_id, args.run_id)
    tis = reads.task_instances(conn, args.dag_id, run["run_id"])
    shown = {
        "dag_id": run["dag_id"],
        "run_id": run["run_id"],
        "state": run["state"],
        "logical_date": run["logical_date"],
        "tasks": {t["task_id"]: {"state": t["state"], "try_number": t["try_number"]} for t in tis},
    }
    if args.output == "json":
        return _print_json(shown)
    print(f"{run['dag_id']}  {run['run_id']}  {run['state']}  ({run['run_type']})")
    print(f"  logical date  {run['logical_date']}")
    print(f"  interval      {run['data_interval_start']} -> {run['data_interval_end']}")
    print(f"  started       {run['start_date'] or 'not yet'}   ended {run['end_date'] or '-'}")
    from flowtui.scheduling.dataset_triggers import describe

    if run.get("triggered_by"):
        print(f"  triggered by  {describe(run['triggered_by'])}")
    _print_table(
        [
            {
                "task_id": t["task_id"],
                "state": t["state"],
                "try": t["try_number"],
                "start": t["start_date"] or "",
                "duration": t["duration"],
            }
            for t in tis
        ],
        ["task_id", "state", "try", "start", "duration"],
        {"duration": lambda v: "" if v is None else f"{v:.2f}s"},
    )
    return 0


def _tasks_test(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.scheduling.foreground import run_task_test

    state = run_task_test(settings, args.dag_id, args.task_id, _date(args.logical_date))
    print(f"task {args.task_id}: {state}", file=sys.stderr)
    return 0 if state in ("success", "skipped") else 1


def _tasks_clear(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Clear

    result = _send(
        settings,
        Clear(
            args.dag_id,
            args.run_id,
            args.task_regex,
            args.downstream,
            args.upstream,
            args.only_failed,
        ),
    )
    cleared = result["cleared"]
    total = sum(len(v) for v in cleared.values())
    print(f"cleared {total} task instance(s) in {len(cleared)} run(s)")
    for run_id, task_ids in cleared.items():
        print(f"  {run_id}: {', '.join(task_ids)}")
    return 0


def _tasks_mark(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Mark

    result = _send(settings, Mark(args.dag_id, args.run_id, args.task_id, args.state))
    print(f"{args.task_id}: {result['old_state']} -> {result['new_state']}")
    return 0


def _logs(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.errors import TaskInstanceNotFound
    from flowtui.execution.logs import attempt_log_path, follow
    from flowtui.states import FINISHED, TaskState
    from flowtui.store import Store, reads

    store = Store(settings.db_path)
    ti = reads.task_instance(store.conn, args.dag_id, args.run_id, args.task_id)
    if ti is None:
        _known_dag(store.conn, args.dag_id)
        raise TaskInstanceNotFound(args.dag_id, args.run_id, args.task_id)
    try_number = args.try_number or ti["try_number"]
    if try_number < 1 or try_number > max(ti["try_number"], 0):
        raise InvalidInput(
            "--try", try_number, f"task {args.task_id} has {ti['try_number']} attempt(s) so far"
        )
    path = attempt_log_path(settings.logs_dir, args.dag_id, args.run_id, args.task_id, try_number)

    def finished() -> bool:
        row = reads.task_instance(store.conn, args.dag_id, args.run_id, args.task_id)
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


def _crontab_import(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.crontab.writer import import_crontab

    return import_crontab(
        args.file, args.into, settings, skip_invalid=args.skip_invalid, force=args.force
    )


# --- variables: not scheduler state, so written to the store directly (and audited) ---


def _variables_get(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.authoring.variables import Variable, configure
    from flowtui.errors import VariableNotJson

    configure(settings.db_path)
    text: str = Variable.get(args.key)
    if args.json:
        try:
            text = json.dumps(json.loads(text), indent=2)
        except json.JSONDecodeError as exc:
            raise VariableNotJson(args.key, exc.msg) from None
    print(text)
    return 0


def _variables_set(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.authoring import variables
    from flowtui.commands.model import default_actor

    key = variables.check_key(args.key)
    if args.json:
        try:
            json.loads(args.value)
        except json.JSONDecodeError as exc:
            raise InvalidInput("VALUE", args.value, f"--json needs JSON ({exc.msg})") from None
    settings.ensure_home()
    actor = default_actor("cli")
    variables.set_variable(
        key, args.value, description=args.description, actor=actor, path=settings.db_path
    )
    print(f"variable {key} set")
    if variables.env_name(key) in os.environ:
        print(f"note: {variables.env_name(key)} is set here and overrides it", file=sys.stderr)
    return 0


def _variables_list(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.authoring.variables import overview, shown_value
    from flowtui.store import Store

    settings.ensure_home()
    store = Store(settings.db_path)
    rows = [
        {
            "key": row["key"],
            "value": shown_value(row),
            "description": row["description"],
            "env_override": row["env_override"],
        }
        for row in overview(store.conn, os.environ)
    ]
    store.close()
    if args.output == "json":
        return _print_json(rows)
    short = {"value": lambda v: _one_line(v, 60), "description": lambda v: _one_line(v, 40)}
    _print_table(rows, ["key", "value", "description", "env_override"], short)
    return 0


def _variables_delete(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.authoring.variables import delete_variable, env_name
    from flowtui.commands.model import default_actor
    from flowtui.errors import VariableNotStored

    actor = default_actor("cli")
    if not delete_variable(args.key, actor=actor, path=settings.db_path):
        raise VariableNotStored(args.key, env_name(args.key) in os.environ)
    print(f"variable {args.key} deleted")
    return 0


def _one_line(text: str | None, width: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


# --- helpers of this module ---


def _send(settings: Settings, command: Any, parse_first: bool = False) -> dict[str, Any]:
    from flowtui.commands.model import default_actor
    from flowtui.scheduling.clients import connect
    from flowtui.scheduling.lock import holder_pid
    from flowtui.store import Store, reads

    settings.ensure_home()
    if (
        parse_first
        and holder_pid(settings.lock_path) is None
        and reads.dag_spec(Store(settings.db_path).conn, command.dag_id) is None
    ):
        _parse_folder(settings)
    result: dict[str, Any] = connect(settings, default_actor("cli")).send(command)
    return result


def _known_dag(conn: Any, dag_id: str) -> None:
    from flowtui.errors import DagNotFound
    from flowtui.store import reads

    if reads.dag(conn, dag_id) is None:
        raise DagNotFound(dag_id)


def _date(text: str | None) -> Any:
    from flowtui.scheduling.apply import parse_date

    return parse_date(text) if text else None


def _conf(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        conf = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("--conf", text, f"it must be a JSON object ({exc.msg})") from None
    if not isinstance(conf, dict):
        raise InvalidInput("--conf", text, 'it must be a JSON object, e.g. {"day": "mon"}')
    return conf


def _print_json(value: Any) -> int:
    print(json.dumps(value, indent=2))
    return 0


def _print_table(
    rows: list[dict[str, Any]],
    columns: list[str],
    formats: dict[str, Callable[[Any], str]] | None = None,
) -> None:
    formats = formats or {}
    cells = [[formats.get(c, _cell)(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
