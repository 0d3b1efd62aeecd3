"""Reads for the dashboard's detail views, what Airflow's web UI shows beside the grid: a task
instance's XComs, one task's history across runs, and a DAG's runs filtered by date (the runs
older than the grid's width)."""

from __future__ import annotations

import sqlite3
from typing import Any

from flowtui.store.reads import _rows


def xcoms(conn: sqlite3.Connection, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
    """The task instance's XComs by key: key, value (its JSON text), timestamp."""
    return _rows(
        conn,
        "SELECT key, value, timestamp FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "ORDER BY key",
        (dag_id, run_id, task_id),
    )


def task_runs(
    conn: sqlite3.Connection, dag_id: str, task_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    """The task's instance in each of the DAG's last `limit` runs, newest first: run_id,
    logical_date, run_state, and the instance's state, try_number, start_date, duration (state
    None where the run has no instance of the task)."""
    return _rows(
        conn,
        "SELECT r.run_id, r.logical_date, r.state AS run_state, ti.state, ti.try_number, "
        "ti.start_date, ti.duration FROM dag_runs r LEFT JOIN task_instances ti "
        "ON ti.dag_id = r.dag_id AND ti.run_id = r.run_id AND ti.task_id = ? "
        "WHERE r.dag_id = ? ORDER BY r.logical_date DESC, r.id DESC LIMIT ?",
        (task_id, dag_id, limit),
    )


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
