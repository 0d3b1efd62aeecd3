"""Datasets: a task with `outlets=[Dataset(uri)]` records an update of each dataset when it
succeeds; a DAG with `schedule=[Dataset(...), ...]` gets a run once every one of its datasets
was updated since its previous dataset-triggered run, and that run keeps which updates
triggered it (`dag_runs.triggered_by`, JSON) for the dashboard and `runs show`."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from flowtui.scheduling.run_book import RunBook
from flowtui.spec import DagSpec
from flowtui.store import reads

RUN_TYPE = "dataset_triggered"


def consumers(conn: sqlite3.Connection, uris: set[str]) -> list[DagSpec]:
    """Active, unpaused DAGs scheduled on any of `uris`."""
    found = []
    rows = conn.execute(
        "SELECT dag_id, schedule FROM dags WHERE is_active = 1 AND is_paused = 0 "
        "AND schedule LIKE '%datasets%'"
    )
    for dag_id, schedule in rows.fetchall():
        wanted = set((json.loads(schedule) or {}).get("datasets", []))
        if wanted & uris:
            spec = reads.dag_spec(conn, dag_id)
            if spec is not None:
                found.append(spec)
    return found


def trigger_if_ready(conn: sqlite3.Connection, book: RunBook, spec: DagSpec, now: datetime) -> None:
    """Create a run of `spec` if each of its datasets was updated since its previous
    dataset-triggered run."""
    wanted = (spec.schedule or {}).get("datasets", []) if isinstance(spec.schedule, dict) else []
    if not wanted:
        return
    since = _consumed_up_to(conn, spec.dag_id)
    updates = []
    for uri in wanted:
        row = conn.execute(
            "SELECT id, uri, dag_id, run_id, task_id, ts FROM dataset_events "
            "WHERE uri = ? AND id > ? ORDER BY id DESC LIMIT 1",
            (uri, since),
        ).fetchone()
        if row is None:
            return
        updates.append(
            dict(zip(("id", "uri", "dag_id", "run_id", "task_id", "ts"), row, strict=True))
        )
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
