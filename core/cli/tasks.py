"""`flowtui tasks test|clear|mark`: run one task here, reset task instances so that they run
again, set one to success or failed."""

from __future__ import annotations

import argparse
import sys

from flowtui.cli.arguments import Group, add_command, add_group, add_logical_date, date_argument
from flowtui.cli.home import send
from flowtui.config import Settings


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_group(top, "tasks", "test, clear and mark tasks", _commands, common)


def _commands(tasks: Group, common: argparse.ArgumentParser) -> None:
    """`flowtui tasks COMMAND`'s parsers; made only when the command line names the group."""
    sub = add_command(tasks, "test", _test, "run one task here, recording nothing", common)
    sub.add_argument("dag_id")
    sub.add_argument("task_id")
    add_logical_date(sub)
    sub = add_command(tasks, "clear", _clear, "reset task instances so that they run again", common)
    sub.add_argument("dag_id")
    sub.add_argument("--run", dest="run_id", help="only this run (default: every run)")
    sub.add_argument("--task", dest="task_regex", help="only tasks whose id matches REGEX")
    sub.add_argument("--downstream", action="store_true", help="also their downstream tasks")
    sub.add_argument("--upstream", action="store_true", help="also their upstream tasks")
    sub.add_argument("--only-failed", action="store_true", help="only failed/upstream_failed")
    sub = add_command(tasks, "mark", _mark, "set a task instance to success or failed", common)
    sub.add_argument("dag_id")
    sub.add_argument("run_id")
    sub.add_argument("task_id")
    sub.add_argument("state", choices=["success", "failed"])


def _test(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.execution.task_test import run_task_test
    from flowtui.states import TaskState

    state = run_task_test(settings, args.dag_id, args.task_id, date_argument(args.logical_date))
    print(f"task {args.task_id}: {state}", file=sys.stderr)
    return 0 if state in (TaskState.SUCCESS, TaskState.SKIPPED) else 1


def _clear(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Clear

    command = Clear(
        args.dag_id, args.run_id, args.task_regex, args.downstream, args.upstream, args.only_failed
    )
    result = send(settings, command)
    cleared: dict[str, list[str]] = result["cleared"]
    total = sum(len(v) for v in cleared.values())
    print(f"cleared {total} task instance(s) in {len(cleared)} run(s)")
    for run_id, task_ids in cleared.items():
        print(f"  {run_id}: {', '.join(task_ids)}")
    for other in result.get("external", []):  # through ExternalTaskMarkers
        print(f"  and in DAG {other['dag_id']}, {other['run_id']}: {', '.join(other['task_ids'])}")
    return 0


def _mark(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Mark

    result = send(settings, Mark(args.dag_id, args.run_id, args.task_id, args.state))
    print(f"{args.task_id}: {result['old_state']} -> {result['new_state']}")
    return 0
