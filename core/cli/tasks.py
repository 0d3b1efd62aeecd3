"""`flowtui tasks test|clear|mark|state`: run one task here, reset task instances so that they
run again, set one to success or failed, print one's state."""

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
    _add_map_index(sub, "only this instance of the mapped tasks matched (default: all)")
    sub = add_command(tasks, "mark", _mark, "set a task instance to success or failed", common)
    sub.add_argument("dag_id")
    sub.add_argument("run_id")
    sub.add_argument("task_id")
    sub.add_argument("state", choices=["success", "failed"])
    _add_map_index(sub, "which instance of a mapped task")
    sub = add_command(tasks, "state", _state, "print a task instance's state", common)
    sub.add_argument("dag_id")
    sub.add_argument("run_id")
    sub.add_argument("task_id")
    _add_map_index(sub, "which instance of a mapped task")


def _add_map_index(sub: argparse.ArgumentParser, text: str) -> None:
    sub.add_argument("--map-index", dest="map_index", type=int, metavar="N", help=text)


def _test(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.execution.task_test import run_task_test
    from flowtui.states import TaskState

    state = run_task_test(settings, args.dag_id, args.task_id, date_argument(args.logical_date))
    print(f"task {args.task_id}: {state}", file=sys.stderr)
    return 0 if state in (TaskState.SUCCESS, TaskState.SKIPPED) else 1


def _clear(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import Clear

    command = Clear(
        args.dag_id,
        args.run_id,
        args.task_regex,
        args.downstream,
        args.upstream,
        args.only_failed,
        map_index=args.map_index,
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

    map_index = -1 if args.map_index is None else args.map_index
    command = Mark(args.dag_id, args.run_id, args.task_id, args.state, map_index)
    result = send(settings, command)
    print(
        f"{instance_name(args.task_id, map_index)}: {result['old_state']} -> {result['new_state']}"
    )
    return 0


def _state(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.cli.home import check_dag, open_store
    from flowtui.errors import TaskInstanceNotFound
    from flowtui.store import reads

    map_index = -1 if args.map_index is None else args.map_index
    with open_store(settings) as store:
        ti = reads.task_instance(store.conn, args.dag_id, args.run_id, args.task_id, map_index)
        if ti is None:
            check_dag(store.conn, args.dag_id, settings.home)
            mapped = reads.mapped_instances(store.conn, args.dag_id, args.run_id, args.task_id)
            raise TaskInstanceNotFound(
                args.dag_id, args.run_id, args.task_id, map_index, len(mapped)
            )
    print(ti["state"])
    return 0


def instance_name(task_id: str, map_index: int) -> str:
    """A task instance as the command line shows it: `task`, or `task[N]` when mapped."""
    return f"{task_id}[{map_index}]" if map_index >= 0 else task_id
