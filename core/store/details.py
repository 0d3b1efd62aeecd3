"""Reads for the dashboard's detail views, what Airflow's web UI shows beside the grid: a task
instance's XComs, one task's history across runs, and a DAG's runs filtered by date (the runs
older than the grid's width)."""

from __future__ import annotations

import sqlite3
from typing import Any

from flowtui.states import summary_state
from flowtui.store.reads import _rows


def xcoms(
    conn: sqlite3.Connection, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> list[dict[str, Any]]:
    """The task instance's XComs (instance `map_index`'s of a mapped task) by key: key, value
    (its JSON text), timestamp."""
    return _rows(
        conn,
        "SELECT key, value, timestamp FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index = ? ORDER BY key",
        (dag_id, run_id, task_id, map_index),
    )


def task_runs(
    conn: sqlite3.Connection, dag_id: str, task_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    """The task in each of the DAG's last `limit` runs, newest first: run_id, logical_date,
    run_state, and its instance's state, try_number, start_date, duration, map_index (state
    None where the run has none). A mapped task's instances are summed up: the state that
    stands for them (`summary_state`), the most tries, the earliest start and the longest
    duration, and map_index 0 (the first's; -1 before it expands)."""
    rows = _rows(
        conn,
        "SELECT r.id, r.run_id, r.logical_date, r.state AS run_state, ti.state, ti.try_number, "
        "ti.start_date, ti.duration, ti.map_index FROM (SELECT * FROM dag_runs WHERE dag_id = ? "
        "ORDER BY logical_date DESC, id DESC LIMIT ?) r LEFT JOIN task_instances ti "
        "ON ti.dag_id = r.dag_id AND ti.run_id = r.run_id AND ti.task_id = ? "
        "ORDER BY r.logical_date DESC, r.id DESC",
        (dag_id, limit, task_id),
    )
    runs: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        runs.setdefault(row.pop("id"), []).append(row)
    return [_summed(instances) for instances in runs.values()]


def _summed(instances: list[dict[str, Any]]) -> dict[str, Any]:
    if len(instances) == 1:
        return instances[0]
    starts = [i["start_date"] for i in instances if i["start_date"]]
    durations = [i["duration"] for i in instances if i["duration"] is not None]
    return {
        **instances[0],
        "state": summary_state(i["state"] for i in instances),
        "try_number": max(i["try_number"] for i in instances),
        "start_date": min(starts, default=None),
        "duration": max(durations, default=None),
    }


def runs_between(
    conn: sqlite3.Connection,
    dag_id: str,
    since: str = "",
    until: str = "",
    limit: int = 500,
) -> tuple[list[dict[str, Any]], int]:
    """The DAG's runs whose logical date (as stored, ISO text) starts at or after the prefix
    `since` and at or before the prefix `until` ("" is open), newest first, at most `limit`;
    and how many match in all. Each has run_id, state, run_type, logical_date, start_date,
    end_date and `failed`, its task instances failed or up for retry."""
    where = "dag_id = ? AND substr(logical_date, 1, ?) >= ? AND substr(logical_date, 1, ?) <= ?"
    bounds = (dag_id, len(since), since, len(until), until)  # "": substr(..., 0) is ""
    rows = _rows(
        conn,
        "SELECT r.run_id, r.state, r.run_type, r.logical_date, r.start_date, r.end_date, "
        "(SELECT COUNT(*) FROM task_instances ti WHERE ti.dag_id = r.dag_id "
        "AND ti.run_id = r.run_id AND ti.state IN ('failed', 'up_for_retry')) AS failed "
        f"FROM dag_runs r WHERE {where} ORDER BY logical_date DESC, id DESC LIMIT ?",
        (*bounds, limit),
    )
    (total,) = conn.execute(f"SELECT COUNT(*) FROM dag_runs WHERE {where}", bounds).fetchone()
    return rows, int(total)
