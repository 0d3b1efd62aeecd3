"""Datasets: a task with `outlets=[Dataset(uri)]` records an update of each dataset when it
succeeds; a DAG with `schedule=[Dataset(...), ...]` gets a run once every one of its datasets
was updated since its previous dataset-triggered run, and that run keeps which updates
triggered it (`dag_runs.triggered_by`, JSON) for the dashboard and `runs show`."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from flowtui.scheduling.run_book import RunBook
from flowtui.scheduling.timetables.base import dataset_uris
from flowtui.spec import DagSpec
from flowtui.store import reads

RUN_TYPE = "dataset_triggered"
_UPDATE_COLUMNS = ("id", "uri", "dag_id", "run_id", "task_id", "ts")
"""What `dag_runs.triggered_by` keeps of each update that triggered a run."""


def consumers(conn: sqlite3.Connection, uris: set[str]) -> list[DagSpec]:
    """Active, unpaused DAGs scheduled on any of `uris`."""
    found = []
    rows = conn.execute(
        "SELECT dag_id, schedule FROM dags WHERE is_active = 1 AND is_paused = 0 "
        "AND schedule LIKE '%datasets%'"
    )
    for dag_id, schedule in rows.fetchall():
        if uris.intersection(dataset_uris(json.loads(schedule)) or ()):
            spec = reads.dag_spec(conn, dag_id)
            if spec is not None:
                found.append(spec)
    return found


def trigger_if_ready(conn: sqlite3.Connection, book: RunBook, spec: DagSpec, now: datetime) -> None:
    """Create a run of `spec` if each of its datasets was updated since its previous
    dataset-triggered run."""
    wanted = dataset_uris(spec.schedule)
    if not wanted:
        return
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(
        "SELECT id, uri, dag_id, run_id, task_id, ts FROM dataset_events WHERE id IN "
        f"(SELECT MAX(id) FROM dataset_events WHERE uri IN ({marks}) AND id > ? GROUP BY uri)",
        (*wanted, _consumed_up_to(conn, spec.dag_id)),
    )
    latest = {row[1]: dict(zip(_UPDATE_COLUMNS, row, strict=True)) for row in rows}
    if any(uri not in latest for uri in wanted):
        return
    updates = [latest[uri] for uri in wanted]
    run_id = f"{RUN_TYPE}__{now.isoformat()}"
    book.create_run(conn, spec, run_id, RUN_TYPE, now, data_interval=(now, now))
    trigger = {"up_to": max(u["id"] for u in updates), "updates": updates}
    conn.execute(
        "UPDATE dag_runs SET triggered_by = ? WHERE dag_id = ? AND run_id = ?",
        (json.dumps(trigger), spec.dag_id, run_id),
    )


def _consumed_up_to(conn: sqlite3.Connection, dag_id: str) -> int:
    row = conn.execute(
        "SELECT triggered_by FROM dag_runs WHERE dag_id = ? AND run_type = ? "
        "ORDER BY id DESC LIMIT 1",
        (dag_id, RUN_TYPE),
    ).fetchone()
    return int(json.loads(row[0])["up_to"]) if row and row[0] else 0
