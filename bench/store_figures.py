"""Reads a finished benchmark run back from its home's store (`<home>/flowtui.db`): checks
that the run and every task succeeded, and computes task-to-task latencies."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any


class BrokenRun(Exception):
    """The run did not do what the workload asks: its figures would be worthless."""


def checked_latencies_ms(db_path: Path, dag_id: str, expected_tasks: int) -> list[float]:
    """Check the one run of `dag_id` in the store and return its task-to-task latencies.

    A task's latency is its start_date minus the latest end_date of its upstream tasks; tasks
    without upstream tasks have none.

    Raises:
        BrokenRun: the store holds not exactly one run, the run did not succeed, or not every
            expected task instance ended in success.
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        run_id = _only_successful_run(conn, dag_id)
        instances = _successful_instances(conn, dag_id, run_id, expected_tasks)
        upstream = _upstream_lists(conn, dag_id)
    finally:
        conn.close()
    return _latencies_ms(instances, upstream)


def _only_successful_run(conn: sqlite3.Connection, dag_id: str) -> str:
    runs = conn.execute("SELECT run_id, state FROM dag_runs WHERE dag_id = ?", (dag_id,)).fetchall()
    if len(runs) != 1:
        raise BrokenRun(f"{dag_id}: expected 1 run in the store, found {len(runs)}")
    if runs[0]["state"] != "success":
        raise BrokenRun(f"{dag_id}: run {runs[0]['run_id']} ended {runs[0]['state']}")
    return str(runs[0]["run_id"])


def _successful_instances(
    conn: sqlite3.Connection, dag_id: str, run_id: str, expected_tasks: int
) -> dict[str, sqlite3.Row]:
    rows = conn.execute(
        "SELECT task_id, state, start_date, end_date FROM task_instances "
        "WHERE dag_id = ? AND run_id = ?",
        (dag_id, run_id),
    ).fetchall()
    states = Counter(str(row["state"]) for row in rows)
    if len(rows) != expected_tasks or states["success"] != expected_tasks:
        raise BrokenRun(
            f"{dag_id}: expected {expected_tasks} task instances in success, "
            f"found {len(rows)}: {dict(states)}"
        )
    return {str(row["task_id"]): row for row in rows}


def _upstream_lists(conn: sqlite3.Connection, dag_id: str) -> dict[str, list[str]]:
    row = conn.execute("SELECT spec FROM dags WHERE dag_id = ?", (dag_id,)).fetchone()
    if row is None:
        raise BrokenRun(f"{dag_id}: no DAG spec in the store")
    tasks: dict[str, Any] = json.loads(row["spec"])["tasks"]
    return {task_id: list(task["upstream"]) for task_id, task in tasks.items()}


def _latencies_ms(instances: dict[str, sqlite3.Row], upstream: dict[str, list[str]]) -> list[float]:
    latencies = []
    for task_id, row in instances.items():
        parents = upstream.get(task_id, [])
        if not parents:
            continue
        ready = max(_when(instances[parent]["end_date"]) for parent in parents)
        latencies.append((_when(row["start_date"]) - ready).total_seconds() * 1000)
    return latencies


def _when(text: str | None) -> datetime:
    if not text:
        raise BrokenRun("a successful task instance has no start_date or end_date")
    return datetime.fromisoformat(text)
