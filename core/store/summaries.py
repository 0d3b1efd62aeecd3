"""Aggregated reads for overviews (the dashboard's header, DAG list and run grid): each is a
few indexed queries, so that a refresh stays fast with 100,000 task instances in the store."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from flowtui.states import summary_state
from flowtui.store.reads import _rows, rows_in_one_step


def data_version(conn: sqlite3.Connection) -> int:
    """Changes when another connection commits: a nearly free "anything new?" check."""
    (version,) = conn.execute("PRAGMA data_version").fetchone()
    return int(version)


def state_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Task instances per state over the whole store (an index-only scan)."""
    rows = conn.execute("SELECT state, COUNT(*) FROM task_instances GROUP BY state").fetchall()
    return {state: count for state, count in rows}


def dag_overview(conn: sqlite3.Connection, recent: int = 10) -> list[dict[str, Any]]:
    """One row per active DAG: its settings (with its `display_name`, None when it has none),
    its last `recent` runs (newest first), how many
    of its task instances are running, failed or waiting to retry now, and how many of its
    latest run's missed their SLA."""
    dags = _rows(
        conn,
        "SELECT dag_id, fileloc, is_paused, schedule, description, tags, next_run_at, "
        "json_extract(spec, '$.params') AS params, "
        "json_extract(spec, '$.display_name') AS display_name "
        "FROM dags WHERE is_active = 1 ORDER BY dag_id",
    )
    live = conn.execute(
        "SELECT dag_id, state, COUNT(*) FROM task_instances WHERE state IN "
        "('running', 'queued', 'up_for_retry', 'failed', 'upstream_failed') "
        "GROUP BY dag_id, state"
    ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for dag_id, state, count in live:
        counts.setdefault(dag_id, {})[state] = count
    for dag in dags:
        dag["is_paused"] = bool(dag["is_paused"])
        dag["schedule"] = json.loads(dag["schedule"]) if dag["schedule"] else None
        dag["tags"] = json.loads(dag["tags"])
        dag["params"] = json.loads(dag["params"]) if dag["params"] else {}
        dag["recent_runs"] = _rows(
            conn,
            "SELECT run_id, state, logical_date, start_date, end_date FROM dag_runs "
            "WHERE dag_id = ? ORDER BY logical_date DESC, id DESC LIMIT ?",
            (dag["dag_id"], recent),
        )
        dag["task_counts"] = counts.get(dag["dag_id"], {})
        latest = dag["recent_runs"][0]["run_id"] if dag["recent_runs"] else None
        dag["sla_missed"] = len(sla_misses(conn, dag["dag_id"], [latest])) if latest else 0
    return dags


def sla_misses(conn: sqlite3.Connection, dag_id: str, run_ids: list[str]) -> set[tuple[str, str]]:
    """(run_id, task_id) of the task instances of these runs that missed their SLA."""
    if not run_ids:
        return set()
    marks = ", ".join("?" for _ in run_ids)
    rows = conn.execute(
        "SELECT DISTINCT run_id, task_id FROM events WHERE kind = 'sla_miss' AND dag_id = ? "
        f"AND run_id IN ({marks})",
        (dag_id, *run_ids),
    )
    return {(run_id, task_id) for run_id, task_id in rows}


def recent_runs(conn: sqlite3.Connection, dag_id: str, recent: int = 25) -> list[dict[str, Any]]:
    """The DAG's last `recent` runs, oldest first (as Airflow's grid), conf parsed."""
    runs = rows_in_one_step(
        conn,
        "SELECT * FROM (SELECT * FROM dag_runs WHERE dag_id = ? "
        "ORDER BY logical_date DESC, id DESC LIMIT ?) ORDER BY logical_date, id",
        (dag_id, recent),
    )
    for run in runs:
        run["conf"] = json.loads(run["conf"])
    return runs


def grid_cells(
    conn: sqlite3.Connection, dag_id: str, run_ids: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per run of `run_ids`, its task instances keyed by task id (state, try_number,
    max_tries, duration, and sla_missed when it missed its SLA); an expanded mapped task's cell
    lists its instances' states (`mapped`, by map index) and shows the one that sums them up
    (`summary_state`)."""
    cells: dict[str, dict[str, dict[str, Any]]] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return cells
    marks = ", ".join("?" for _ in run_ids)
    # One row per run, its task instances as one JSON array: sqlite3 lets go of the GIL for
    # every row it steps, and a reader thread beside a busy UI thread waits up to the switch
    # interval to get it back, so 200 rows cost up to a second where one costs a few ms.
    rows = conn.execute(
        "SELECT run_id, json_group_array(json_array(task_id, state, try_number, max_tries, "
        f"duration, map_index)) FROM task_instances WHERE dag_id = ? AND run_id IN ({marks}) "
        "GROUP BY run_id",
        (dag_id, *run_ids),
    )
    for run_id, text in rows.fetchall():
        run_cells = cells[run_id]
        for task_id, state, try_number, max_tries, duration, map_index in json.loads(text):
            cell = run_cells.get(task_id)
            if map_index >= 0 and cell is not None:  # a mapped task: one cell sums them up
                cell["mapped"].append(state)
                cell["state"] = summary_state(cell["mapped"])
                continue
            run_cells[task_id] = {
                "state": state,
                "try_number": try_number,
                "max_tries": max_tries,
                "duration": duration,
                "mapped": [state] if map_index >= 0 else [],
            }
    for run_id, task_id in sla_misses(conn, dag_id, run_ids):
        if task_id in cells.get(run_id, {}):
            cells[run_id][task_id]["sla_missed"] = True
    return cells


RUN_EVENTS = ("run_created", "run_state", "run_deleted")
"""The events that come with every change of a `dag_runs` row a reader shows."""


def runs_with_events_since(
    conn: sqlite3.Connection, dag_id: str, after_id: int | None
) -> tuple[int, dict[str, bool]]:
    """The newest event's id (0 for none), and the run ids of the DAG's events after event
    `after_id` (the runs whose task instances may have changed since a reader saw that event;
    None: no run), each with whether the run's own row changed (one of `RUN_EVENTS`). One
    statement of one row, as `present_run_counts`."""
    # `+dag_id` keeps SQLite off the (dag_id, ...) index: a range of the primary key reads only
    # the new events, where the index would walk every event the DAG ever had.
    newest, runs = conn.execute(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM events), (SELECT json_group_object(run_id, "
        "is_run) FROM (SELECT run_id, MAX(kind IN (?, ?, ?)) AS is_run FROM events "
        "WHERE id > ? AND +dag_id = ? AND run_id IS NOT NULL GROUP BY run_id))",
        (*RUN_EVENTS, NO_EVENT if after_id is None else after_id, dag_id),
    ).fetchone()
    return int(newest), {run_id: bool(is_run) for run_id, is_run in json.loads(runs).items()}


def task_history(
    conn: sqlite3.Connection,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """State changes and commands that concern one task instance (instance `map_index` of a
    mapped task), oldest first."""
    return _rows(
        conn,
        "SELECT * FROM (SELECT * FROM events WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index = ? ORDER BY id DESC LIMIT ?) ORDER BY id",
        (dag_id, run_id, task_id, map_index, limit),
    )


def task_states(conn: sqlite3.Connection, dag_id: str, run_id: str) -> dict[str, str]:
    """Each task of a run -> its state; a mapped task's is the one that sums up its instances
    (`summary_state`), as its grid cell shows."""
    found: dict[str, list[str]] = {}
    rows = conn.execute(
        "SELECT task_id, state FROM task_instances WHERE dag_id = ? AND run_id = ?",
        (dag_id, run_id),
    )
    for task_id, state in rows:
        found.setdefault(task_id, []).append(state)
    return {task_id: summary_state(states) for task_id, states in found.items()}


def dag_header(conn: sqlite3.Connection, dag_id: str) -> dict[str, Any] | None:
    """One DAG's settings for its own screen, its spec left as the stored JSON text (so a
    reader can skip parsing it when it has not changed); one primary-key lookup, unlike
    `reads.dag`, which parses every DAG's spec."""
    rows = _rows(
        conn,
        "SELECT dag_id, fileloc, is_paused, is_active, schedule, description, next_run_at, "
        "last_parsed, spec FROM dags WHERE dag_id = ?",
        (dag_id,),
    )
    if not rows:
        return None
    dag = rows[0]
    dag["is_paused"] = bool(dag["is_paused"])
    dag["is_active"] = bool(dag["is_active"])
    dag["schedule"] = json.loads(dag["schedule"]) if dag["schedule"] else None
    return dag


PRESENT_RUNS = (
    "SELECT dag_id, run_id FROM dag_runs WHERE state IN ('queued', 'running') "
    "UNION SELECT d.dag_id, (SELECT r.run_id FROM dag_runs r WHERE r.dag_id = d.dag_id "
    "ORDER BY r.logical_date DESC, r.id DESC LIMIT 1) FROM dags d WHERE d.is_active = 1"
)
"""(dag_id, run_id) of the runs that make the present: every queued or running run, and each
active DAG's latest run (by logical date)."""


@dataclass(frozen=True)
class PresentRunCounts:
    """One `present_run_counts` read."""

    newest_event: int
    """The newest event's id (0 for none) in the same snapshot."""
    present: list[tuple[str, str]]
    """(dag_id, run_id) of every present run (`PRESENT_RUNS`)."""
    counts: dict[tuple[str, str], dict[str, int]]
    """Task instances per state of the present runs counted again (those with events after
    the caller's last read, or not known to it); a run without task instances has an empty
    dict. Every change of a task instance's state comes with an event (`store.writes`)."""


def present_run_counts(
    conn: sqlite3.Connection, after_id: int | None, known: list[tuple[str, str]]
) -> PresentRunCounts:
    """Task instances per state of the present runs (`PRESENT_RUNS`: what needs attention now,
    where `state_counts` counts every instance ever, and a failure long fixed by a later run
    stays failed in its own run), run by run, counting again only the runs that may have
    changed since a reader's last read (its newest event `after_id`, None for every run; the
    runs it counted, `known`). One statement, one row: on the dashboard's live thread every
    row stepped waits for the GIL behind the UI thread (issue 13, point 9)."""
    # `changed` has no DISTINCT: with one, SQLite reads every event through the (dag_id,
    # run_id, task_id) index instead of the new ones by primary key.
    (newest, present, stale, counted) = conn.execute(
        f"WITH present(dag_id, run_id) AS (SELECT * FROM ({PRESENT_RUNS}) "
        "WHERE run_id IS NOT NULL), "
        "changed(dag_id, run_id) AS (SELECT dag_id, run_id FROM events WHERE id > ?), "
        "known(dag_id, run_id) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
        "FROM json_each(?)), "
        "stale(dag_id, run_id) AS (SELECT p.dag_id, p.run_id FROM present p "
        "WHERE (p.dag_id, p.run_id) IN changed OR (p.dag_id, p.run_id) NOT IN known) "
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM events), "
        "(SELECT json_group_array(json_array(dag_id, run_id)) FROM present), "
        "(SELECT json_group_array(json_array(dag_id, run_id)) FROM stale), "
        "(SELECT json_group_array(json_array(dag_id, run_id, state, n)) FROM "
        "(SELECT s.dag_id, s.run_id, ti.state, COUNT(*) AS n FROM stale s JOIN task_instances ti "
        "ON ti.dag_id = s.dag_id AND ti.run_id = s.run_id GROUP BY 1, 2, 3))",
        (NO_EVENT if after_id is None else after_id, json.dumps(known)),
    ).fetchone()
    counts: dict[tuple[str, str], dict[str, int]] = {
        (dag_id, run_id): {} for dag_id, run_id in json.loads(stale)
    }
    for dag_id, run_id, state, count in json.loads(counted):
        counts[dag_id, run_id][state] = count
    return PresentRunCounts(
        int(newest), [(dag_id, run_id) for dag_id, run_id in json.loads(present)], counts
    )


NO_EVENT = 2**63 - 1
"""An event id after every event: with it, no run counts as changed."""


def recent_failures(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Task instances now failed or up for retry, across DAGs, the latest to end first: dag_id,
    run_id, task_id, map_index, state, try_number, end_date, and `cause`, the error line of
    their latest attempt (None when no attempt ran, e.g. marked failed)."""
    return _rows(
        conn,
        "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state, ti.try_number, "
        "ti.end_date, a.cause FROM task_instances ti LEFT JOIN attempts a "
        "ON a.dag_id = ti.dag_id AND a.run_id = ti.run_id AND a.task_id = ti.task_id "
        "AND a.map_index = ti.map_index AND a.try_number = ti.try_number "
        "WHERE ti.state IN ('failed', 'up_for_retry') "
        "ORDER BY ti.end_date DESC, ti.rowid DESC LIMIT ?",
        (limit,),
    )
