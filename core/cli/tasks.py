"""`flowtui tasks list|test|clear|mark|state`: a DAG's tasks, run one task here, reset task
instances so that they run again, set one to success, failed or skipped, print one's state.
A run id may be `latest` (the DAG's latest run)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from flowtui.cli.arguments import (
    Group,
    add_command,
    add_group,
    add_logical_date,
    add_output,
    date_argument,
)
from flowtui.cli.home import (
    latest_resolved,
    open_store,
    parse_folder,
    send,
    warn_about_dags_folder,
)
from flowtui.cli.output import print_json, print_table
from flowtui.config import Settings
from flowtui.errors import CommandRejected, DagNotFound

if TYPE_CHECKING:
    from flowtui.commands.model import Clear
    from flowtui.scheduling.clearing import ClearPreview

_SHOWN_RUNS = 20
"""Runs listed before `tasks clear` asks; `--dry-run` lists them all."""


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_group(top, "tasks", "list, test, clear and mark tasks", _commands, common)


def _commands(tasks: Group, common: argparse.ArgumentParser) -> None:
    """`flowtui tasks COMMAND`'s parsers; made only when the command line names the group."""
    sub = add_command(tasks, "list", _list, "a DAG's tasks, as the DAG folder defines them", common)
    sub.add_argument("dag_id")
    add_output(sub)
    sub = add_command(tasks, "test", _test, "run one task here, recording nothing", common)
    sub.add_argument("dag_id")
    sub.add_argument("task_id")
    add_logical_date(sub)
    _add_map_index(sub, "which instance of a mapped task (mapped over literals) to run")
    sub = add_command(tasks, "clear", _clear, "reset task instances so that they run again", common)
    sub.add_argument("dag_id")
    sub.add_argument("--run", dest="run_id", help="only this run, or latest (default: every run)")
    sub.add_argument("--task", dest="task_regex", help="only tasks whose id matches REGEX")
    sub.add_argument("--downstream", action="store_true", help="also their downstream tasks")
    sub.add_argument("--upstream", action="store_true", help="also their upstream tasks")
    sub.add_argument("--only-failed", action="store_true", help="only failed/upstream_failed")
    _add_map_index(sub, "only this instance of the mapped tasks matched (default: all)")
    sub.add_argument(
        "--dry-run", action="store_true", help="list what would be cleared; clear none"
    )
    sub.add_argument("--yes", "-y", action="store_true", help="clear every run without asking")
    sub = add_command(tasks, "mark", _mark, "set a task instance's state by hand", common)
    _add_task_instance(sub)
    sub.add_argument("state", choices=["success", "failed", "skipped"])
    _add_map_index(sub, "which instance of a mapped task")
    sub = add_command(tasks, "state", _state, "print a task instance's state", common)
    _add_task_instance(sub)
    _add_map_index(sub, "which instance of a mapped task")


def _add_task_instance(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("dag_id")
    sub.add_argument("run_id", help="a run id, or latest")
    sub.add_argument("task_id")


def _add_map_index(sub: argparse.ArgumentParser, text: str) -> None:
    sub.add_argument("--map-index", dest="map_index", type=int, metavar="N", help=text)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    spec = parse_folder(settings).dags.get(args.dag_id)
    if spec is None:
        raise DagNotFound(args.dag_id, settings.dags_folder)
    rows = [
        {
            "task_id": task.task_id,
            "operator": task.operator,
            "upstream": list(task.upstream),
            "trigger_rule": task.trigger_rule,
            "retries": task.retries,
            "pool": task.pool,
        }
        for task in spec.tasks.values()
    ]
    if args.output == "json":
        return print_json(rows)
    columns = ["task_id", "operator", "upstream", "trigger_rule", "retries", "pool"]
    print_table(rows, columns, {"upstream": ", ".join})
    return 0


def _test(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.execution.task_test import run_task_test
    from flowtui.states import TaskState, instance_name

    warn_about_dags_folder(settings)
    state = run_task_test(
        settings, args.dag_id, args.task_id, date_argument(args.logical_date), args.map_index
    )
    name = instance_name(args.task_id, -1 if args.map_index is None else args.map_index)
    print(f"task {name}: {state}", file=sys.stderr)
    return 0 if state in (TaskState.SUCCESS, TaskState.SKIPPED) else 1


def _clear(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Clear

    run_id = args.run_id and latest_resolved(settings, args.dag_id, args.run_id)
    command = Clear(
        args.dag_id,
        run_id,
        args.task_regex,
        args.downstream,
        args.upstream,
        args.only_failed,
        map_index=args.map_index,
    )
    every_run = run_id is None and args.task_regex is None
    if args.dry_run or (every_run and not args.yes):
        preview = _preview(settings, command)
        if not args.dry_run and preview.runs and not sys.stdin.isatty():
            raise CommandRejected(
                f"tasks clear {args.dag_id} without --run or --task clears every run of DAG "
                f"{args.dag_id!r} ({len(preview.runs)} run(s)); add --yes to clear them without "
                f"asking (no terminal to ask on), or --dry-run to list them"
            )
        shown = None if args.dry_run else _SHOWN_RUNS
        _print_cleared("would clear", preview.runs, shown)
        _print_elsewhere(
            [(o.spec.dag_id, o.run["run_id"], o.task_ids) for o in preview.external], shown
        )
        if args.dry_run or not preview.runs or not _confirmed():
            return 0
    result = send(settings, command)
    _print_cleared("cleared", result["cleared"], None)
    _print_elsewhere(
        [(o["dag_id"], o["run_id"], o["task_ids"]) for o in result.get("external", [])], None
    )
    return 0


def _print_elsewhere(cleared: list[tuple[str, str, list[str]]], most: int | None) -> None:
    """What ExternalTaskMarkers clear in other DAGs: (DAG id, run id, task ids)."""
    for dag_id, run_id, task_ids in cleared[:most]:
        print(f"  and in DAG {dag_id}, {run_id}: {', '.join(task_ids)}")
    if most is not None and len(cleared) > most:
        print(f"  ... and {len(cleared) - most} more in other DAGs (--dry-run lists them all)")


def _preview(settings: Settings, command: Clear) -> ClearPreview:
    from flowtui.cli.home import check_dag
    from flowtui.scheduling.clearing import clear_preview

    with open_store(settings) as store:
        check_dag(store.conn, command.dag_id, settings.home)
        return clear_preview(store.conn, command)


def _print_cleared(verb: str, cleared: dict[str, list[str]], most: int | None) -> None:
    total = sum(len(v) for v in cleared.values())
    print(f"{verb} {total} task instance(s) in {len(cleared)} run(s)")
    shown = list(cleared.items())[:most]
    for run_id, task_ids in shown:
        print(f"  {run_id}: {', '.join(task_ids)}")
    if len(shown) < len(cleared):
        print(f"  ... and {len(cleared) - len(shown)} more run(s) (--dry-run lists them all)")


def _confirmed() -> bool:
    try:
        answer = input("clear them? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _mark(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Mark
    from flowtui.states import instance_name

    map_index = -1 if args.map_index is None else args.map_index
    run_id = latest_resolved(settings, args.dag_id, args.run_id)
    command = Mark(args.dag_id, run_id, args.task_id, args.state, map_index)
    result = send(settings, command)
    print(
        f"{instance_name(args.task_id, map_index)}: {result['old_state']} -> {result['new_state']}"
    )
    return 0


def _state(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.cli.home import check_dag, resolve_run_id
    from flowtui.errors import TaskInstanceNotFound
    from flowtui.store import reads

    map_index = -1 if args.map_index is None else args.map_index
    with open_store(settings) as store:
        run_id = resolve_run_id(store.conn, args.dag_id, args.run_id, settings.home)
        ti = reads.task_instance(store.conn, args.dag_id, run_id, args.task_id, map_index)
        if ti is None:
            check_dag(store.conn, args.dag_id, settings.home)
            mapped = reads.mapped_instances(store.conn, args.dag_id, run_id, args.task_id)
            raise TaskInstanceNotFound(args.dag_id, run_id, args.task_id, map_index, len(mapped))
    print(ti["state"])
    return 0
