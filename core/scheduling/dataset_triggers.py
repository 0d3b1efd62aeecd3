"""Asset-triggered runs: a task's success records an event of each asset of its `outlets`
(and of each asset it attached to an outlet alias); a DAG scheduled on assets gets a run once
its condition holds over the assets updated since its previous asset-triggered run (a plain
list: all of them; `a | b`, `a & b`, nested; an alias: an event came through it, or an asset it
stood for was updated, as Airflow resolves aliases), and that run keeps which updates
triggered it (`dag_runs.triggered_by`, JSON) for the dashboard and `runs show`. When the
condition is read from the spec, `scheduling.timetables.assets` says what it means."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from flowtui.scheduling.run_book import RunBook
from flowtui.scheduling.timetables.assets import asset_condition, condition_holds, condition_leaves
from flowtui.spec import DagSpec
from flowtui.store import reads

RUN_TYPE = "dataset_triggered"
_UPDATE_COLUMNS = ("id", "uri", "dag_id", "run_id", "task_id", "ts")
"""What `dag_runs.triggered_by` keeps of each update that triggered a run."""


def consumers(conn: sqlite3.Connection, uris: set[str]) -> list[DagSpec]:
    """Active, unpaused DAGs scheduled on any of `uris` (or on an alias that stood for one)."""
    found = []
    rows = conn.execute(
        "SELECT dag_id, schedule FROM dags WHERE is_active = 1 AND is_paused = 0 "
        "AND schedule LIKE '%datasets%'"
    )
    for dag_id, schedule in rows.fetchall():
        condition = asset_condition(json.loads(schedule))
        if condition is None:
            continue
        wanted, aliases = condition_leaves(condition)
        resolved = set().union(*_resolve(conn, aliases).values())
        if uris.intersection(wanted) or uris.intersection(resolved):
            spec = reads.dag_spec(conn, dag_id)
            if spec is not None:
                found.append(spec)
    return found


def trigger_if_ready(conn: sqlite3.Connection, book: RunBook, spec: DagSpec, now: datetime) -> None:
    """Create a run of `spec` if its asset condition holds over the assets updated since its
    previous asset-triggered run; the run consumes every such update."""
    condition = asset_condition(spec.schedule)
    if condition is None:
        return
    uris, aliases = condition_leaves(condition)
    resolved = _resolve(conn, aliases)
    wanted = list(dict.fromkeys([*uris, *sorted(set().union(*resolved.values()))]))
    if not wanted:
        return
    marks = ", ".join("?" for _ in wanted)
    rows = conn.execute(
        "SELECT id, uri, dag_id, run_id, task_id, ts FROM dataset_events WHERE id IN "
        f"(SELECT MAX(id) FROM dataset_events WHERE uri IN ({marks}) AND id > ? GROUP BY uri)",
        (*wanted, _consumed_up_to(conn, spec.dag_id)),
    )
    latest = {row[1]: dict(zip(_UPDATE_COLUMNS, row, strict=True)) for row in rows}
    hit_aliases = {alias for alias, stood_for in resolved.items() if stood_for & latest.keys()}
    if not latest or not condition_holds(condition, latest.keys(), hit_aliases):
        return
    updates = [latest[uri] for uri in wanted if uri in latest]
    run_id = f"{RUN_TYPE}__{now.isoformat()}"
    book.create_run(conn, spec, run_id, RUN_TYPE, now, data_interval=(now, now))
    trigger = {"up_to": max(u["id"] for u in updates), "updates": updates}
    conn.execute(
        "UPDATE dag_runs SET triggered_by = ? WHERE dag_id = ? AND run_id = ?",
        (json.dumps(trigger), spec.dag_id, run_id),
    )


def _resolve(conn: sqlite3.Connection, aliases: list[str]) -> dict[str, set[str]]:
    """Each alias's assets: those of the events that came through it so far."""
    resolved: dict[str, set[str]] = {alias: set() for alias in aliases}
    if not aliases:
        return resolved
    marks = ", ".join("?" for _ in aliases)
    rows = conn.execute(
        "SELECT DISTINCT a.alias, e.uri FROM dataset_alias_events a JOIN dataset_events e "
        f"ON e.id = a.event_id WHERE a.alias IN ({marks})",
        aliases,
    )
    for alias, uri in rows:
        resolved[alias].add(uri)
    return resolved


def _consumed_up_to(conn: sqlite3.Connection, dag_id: str) -> int:
    row = conn.execute(
        "SELECT triggered_by FROM dag_runs WHERE dag_id = ? AND run_type = ? "
        "ORDER BY id DESC LIMIT 1",
        (dag_id, RUN_TYPE),
    ).fetchone()
    return int(json.loads(row[0])["up_to"]) if row and row[0] else 0
