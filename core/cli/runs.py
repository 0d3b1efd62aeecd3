"""`flowtui runs list|show`: a DAG's runs, and one run (an id, `latest`, or by default the
latest) with its task instances; its JSON carries all the text shows."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from flowtui.cli.arguments import Group, add_command, add_group, add_output
from flowtui.cli.home import check_dag, open_store, resolve_run_id
from flowtui.cli.output import print_json, print_table
from flowtui.config import Settings
from flowtui.errors import RunNotFound
from flowtui.states import instance_name

if TYPE_CHECKING:
    from datetime import datetime

_LIST_COLUMNS = ["run_id", "state", "run_type", "logical_date", "start_date", "end_date"]


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_group(top, "runs", "runs of a DAG", _commands, common)


def _commands(runs: Group, common: argparse.ArgumentParser) -> None:
    """`flowtui runs COMMAND`'s parsers; made only when the command line names the group."""
    sub = add_command(runs, "list", _list, "runs of a DAG, newest first", common)
    sub.add_argument("dag_id")
    add_output(sub)
    sub = add_command(
        runs, "show", _show, "one run and its task instances (default: the latest)", common
    )
    sub.add_argument("dag_id")
    sub.add_argument("run_id", nargs="?", help="a run id, or latest (the default)")
    add_output(sub)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import reads

    with open_store(settings) as store:
        check_dag(store.conn, args.dag_id, settings.home)
        rows = [{k: r[k] for k in _LIST_COLUMNS} for r in reads.runs(store.conn, args.dag_id)]
    if args.output == "json":
        return print_json(rows)
    print_table(rows, _LIST_COLUMNS)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import reads

    with open_store(settings) as store:
        check_dag(store.conn, args.dag_id, settings.home)
        run_id = args.run_id and resolve_run_id(store.conn, args.dag_id, args.run_id, settings.home)
        run = reads.run(store.conn, args.dag_id, run_id)
        if run is None:
            raise RunNotFound(args.dag_id, run_id)
        tis = reads.task_instances(store.conn, args.dag_id, run["run_id"])
        spec = reads.dag_spec(store.conn, args.dag_id)
    order = {t: i for i, t in enumerate(spec.tasks if spec else ())}
    tis.sort(key=lambda t: (order.get(t["task_id"], len(order)), t["map_index"]))
    updates = reads.triggering_updates(run.get("triggered_by"))
    if args.output == "json":
        return print_json(_run_json(run, tis, [u._asdict() for u in updates]))
    print(f"{run['dag_id']}  {run['run_id']}  {run['state']}  ({run['run_type']})")
    print(f"  logical date  {run['logical_date']}")
    print(f"  interval      {run['data_interval_start']} -> {run['data_interval_end']}")
    print(f"  started       {run['start_date'] or 'not yet'}   ended {run['end_date'] or '-'}")
    if updates:
        described = "; ".join(f"{u.uri} by {u.dag_id}.{u.task_id} at {u.ts[:19]}" for u in updates)
        print(f"  triggered by  {described}")
    print_table(
        [
            {
                "task_id": instance_name(t["task_id"], t["map_index"]),
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


def _run_json(
    run: dict[str, Any], tis: list[dict[str, Any]], triggered_by: list[dict[str, str]]
) -> dict[str, Any]:
    """DESIGN.md's keys (dag_id, run_id, state, logical_date; tasks with state and try_number)
    and everything the text form shows besides; durations in seconds, None until known."""
    return {
        "dag_id": run["dag_id"],
        "run_id": run["run_id"],
        "state": run["state"],
        "logical_date": run["logical_date"],
        "run_type": run["run_type"],
        "data_interval_start": run["data_interval_start"],
        "data_interval_end": run["data_interval_end"],
        "start_date": run["start_date"],
        "end_date": run["end_date"],
        "duration": _seconds_between(run["start_date"], run["end_date"]),
        "conf": run["conf"],
        "triggered_by": triggered_by,
        "tasks": _tasks(tis),
    }


def _tasks(tis: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """task_id -> its state, try number, start, end and duration; a mapped task's (expanded)
    also lists its instances under "mapped", its state is theirs summed up as Airflow's grid
    does (`summary_state`), its start the first one's and its end the last one's once all
    ended."""
    from flowtui.states import summary_state

    tasks: dict[str, dict[str, Any]] = {}
    for t in tis:
        times = {k: t[k] for k in ("start_date", "end_date", "duration")}
        if t["map_index"] < 0:
            tasks[t["task_id"]] = {"state": t["state"], "try_number": t["try_number"], **times}
            continue
        task = tasks.setdefault(t["task_id"], {"state": "", "try_number": 0, "mapped": []})
        task["mapped"].append(
            {"map_index": t["map_index"], "state": t["state"], "try_number": t["try_number"]}
            | times
        )
        task["try_number"] = max(task["try_number"], t["try_number"])
        task["state"] = summary_state(i["state"] for i in task["mapped"])
    for task in tasks.values():
        if "mapped" in task:
            task.update(_span(task.pop("mapped")))
    return tasks


def _span(instances: list[dict[str, Any]]) -> dict[str, Any]:
    """A mapped task's start, end and duration over its instances, then the instances."""
    starts = [i["start_date"] for i in instances if i["start_date"]]
    ends = [i["end_date"] for i in instances]
    start = min(starts, key=_instant) if starts else None
    end = None if None in ends else max(ends, key=_instant)
    return {
        "start_date": start,
        "end_date": end,
        "duration": _seconds_between(start, end),
        "mapped": instances,
    }


def _instant(text: str) -> datetime:
    from flowtui.clock import parse_datetime

    return parse_datetime(text)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if start is None or end is None:
        return None
    return round((_instant(end) - _instant(start)).total_seconds(), 3)
