"""Every write to the store except variables' (`variables.py`). A task instance's or a run's
state changes only through `set_task_state` / `set_run_state`, which append the change to
`events` in the same transaction; callers hold that transaction (see `Store.transaction`)."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from flowtui.spec import DagSpec

_TI_COLUMNS = frozenset(
    {
        "try_number",
        "max_tries",
        "queued_at",
        "start_date",
        "end_date",
        "duration",
        "pid",
        "hostname",
        "log_path",
        "next_try_at",
        "note",
    }
)
_RUN_COLUMNS = frozenset({"queued_at", "start_date", "end_date", "runner_pid", "conf"})

TIKey = tuple[str, str, str, int]
"""How writes name a task instance: (dag_id, run_id, task_id, map_index); map_index -1 for an
unmapped task (and a mapped one not expanded yet), as in Airflow."""


def set_task_state(
    conn: sqlite3.Connection,
    key: TIKey,
    old: str,
    new: str,
    *,
    ts: str,
    actor: str,
    attempt: int | None = None,
    detail: str | None = None,
    **fields: Any,
) -> None:
    """Move task instance `key` from `old` to `new`, with `fields`; the event names `attempt`,
    the try it concerns."""
    conn.execute(_ti_update(tuple(fields)), (new, *fields.values(), *key))
    if old != new or detail:
        _event(conn, ts, "task_state", actor, *key[:3], attempt, old, new, detail, key[3])


@functools.cache
def _ti_update(names: tuple[str, ...]) -> str:
    """The UPDATE of a task instance's state and the columns `names` (a handful of
    combinations, each built once: this runs several times per attempt)."""
    unknown = set(names) - _TI_COLUMNS
    if unknown:
        raise TypeError(f"not task_instances columns: {sorted(unknown)}")
    sets = "".join(f", {name} = ?" for name in names)
    where = "WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ?"
    return f"UPDATE task_instances SET state = ?{sets} {where}"


def set_run_state(
    conn: sqlite3.Connection,
    dag_id: str,
    run_id: str,
    old: str,
    new: str,
    *,
    ts: str,
    actor: str,
    detail: str | None = None,
    **fields: Any,
) -> None:
    unknown = fields.keys() - _RUN_COLUMNS
    if unknown:
        raise TypeError(f"not dag_runs columns: {sorted(unknown)}")
    sets = "".join(f", {name} = ?" for name in fields)
    conn.execute(
        f"UPDATE dag_runs SET state = ?{sets} WHERE dag_id = ? AND run_id = ?",
        (new, *fields.values(), dag_id, run_id),
    )
    if old != new:
        _event(conn, ts, "run_state", actor, dag_id, run_id, None, None, old, new, detail)


def insert_run(
    conn: sqlite3.Connection,
    spec: DagSpec,
    run: Mapping[str, Any],
    *,
    ts: str,
    actor: str,
) -> None:
    """Create a run (state queued) and a task instance (state none) for each task of `spec`."""
    conn.execute(
        "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
        "data_interval_start, data_interval_end, conf, queued_at, runner_pid) "
        "VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
        (
            spec.dag_id,
            run["run_id"],
            run["run_type"],
            run["logical_date"],
            run.get("data_interval_start"),
            run.get("data_interval_end"),
            json.dumps(run.get("conf") or {}),
            ts,
            run.get("runner_pid"),
        ),
    )
    insert_task_instances(conn, spec, run["run_id"], spec.tasks)
    _event(
        conn,
        ts,
        "run_created",
        actor,
        spec.dag_id,
        run["run_id"],
        None,
        None,
        None,
        "queued",
        json.dumps({"run_type": run["run_type"], "conf": run.get("conf") or {}}),
    )


def delete_run(conn: sqlite3.Connection, dag_id: str, run_id: str, *, ts: str, actor: str) -> None:
    """Remove a run and all of it (`dags test` replacing its earlier test of the same date)."""
    for table in ("xcom", "attempts", "task_instances", "dag_runs"):
        conn.execute(f"DELETE FROM {table} WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
    _event(conn, ts, "run_deleted", actor, dag_id, run_id, None, None, None, None, None)


def insert_task_instances(
    conn: sqlite3.Connection,
    spec: DagSpec,
    run_id: str,
    task_ids: Iterable[str],
    map_indexes: Iterable[int] = (-1,),
) -> None:
    """A task instance (state none) of each of `task_ids` for each of `map_indexes`."""
    indexes = tuple(map_indexes)
    conn.executemany(
        "INSERT INTO task_instances (dag_id, run_id, task_id, map_index, state, try_number, "
        "max_tries, operator, priority_weight) VALUES (?, ?, ?, ?, 'none', 0, ?, ?, ?)",
        [
            (
                spec.dag_id,
                run_id,
                t,
                i,
                spec.tasks[t].retries,
                spec.tasks[t].operator,
                spec.tasks[t].priority_weight,
            )
            for t in task_ids
            for i in indexes
        ],
    )


def delete_task_instance(conn: sqlite3.Connection, key: TIKey, *, ts: str, actor: str) -> None:
    """Remove a task instance: a mapped task's unexpanded one (map_index -1) becomes its
    instance 0, 1, ... once it expands (as Airflow renumbers it)."""
    conn.execute(
        "DELETE FROM task_instances WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index = ?",
        key,
    )
    _event(conn, ts, "expanded", actor, *key[:3], None, None, None, None, key[3])


def record_event(
    conn: sqlite3.Connection,
    kind: str,
    *,
    ts: str,
    actor: str,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    try_number: int | None = None,
    detail: str | None = None,
    map_index: int = -1,
) -> None:
    """Append a non-state event: a user command, a kill, a recovery, a parse, an alert."""
    _event(
        conn, ts, kind, actor, dag_id, run_id, task_id, try_number, None, None, detail, map_index
    )


def _event(
    conn: sqlite3.Connection,
    ts: str,
    kind: str,
    actor: str,
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None,
    try_number: int | None,
    old: str | None,
    new: str | None,
    detail: str | None,
    map_index: int = -1,
) -> None:
    conn.execute(
        "INSERT INTO events (ts, kind, dag_id, run_id, task_id, try_number, old_state, "
        "new_state, actor, detail, map_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ts, kind, dag_id, run_id, task_id, try_number, old, new, actor, detail, map_index),
    )


def upsert_attempt(conn: sqlite3.Connection, key: TIKey, try_number: int, **fields: Any) -> None:
    """Create or update the row of one attempt (try) of a task instance."""
    names = ", ".join(fields)
    marks = ", ".join("?" for _ in fields)
    updates = ", ".join(f"{name} = excluded.{name}" for name in fields)
    conn.execute(
        f"INSERT INTO attempts (dag_id, run_id, task_id, map_index, try_number, {names}) "
        f"VALUES (?, ?, ?, ?, ?, {marks}) "
        f"ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) "
        f"DO UPDATE SET {updates}",
        (*key, try_number, *fields.values()),
    )


def write_xcom(conn: sqlite3.Connection, key: TIKey, values: Mapping[str, Any], ts: str) -> None:
    """Store `values` (key -> JSON-able value) as the XComs of task instance `key`."""
    conn.executemany(
        "INSERT OR REPLACE INTO xcom (dag_id, run_id, task_id, map_index, key, value, "
        "timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*key, name, json.dumps(value), ts) for name, value in values.items()],
    )


def delete_xcom(conn: sqlite3.Connection, key: TIKey) -> None:
    conn.execute(
        "DELETE FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ?", key
    )


def upsert_dag(conn: sqlite3.Connection, spec: DagSpec, ts: str) -> None:
    """Record the latest parse of a DAG; keeps its paused flag."""
    conn.execute(
        "INSERT INTO dags (dag_id, fileloc, is_active, schedule, description, tags, spec, "
        "last_parsed) VALUES (?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (dag_id) DO UPDATE SET "
        "fileloc = excluded.fileloc, is_active = 1, schedule = excluded.schedule, "
        "description = excluded.description, tags = excluded.tags, spec = excluded.spec, "
        "last_parsed = excluded.last_parsed",
        (
            spec.dag_id,
            spec.fileloc,
            json.dumps(spec.schedule),
            spec.description,
            json.dumps(list(spec.tags)),
            json.dumps(spec.to_dict()),
            ts,
        ),
    )


def deactivate_dags(conn: sqlite3.Connection, dag_ids: Iterable[str]) -> None:
    """Mark DAGs whose file is gone or broken as inactive; their history stays."""
    conn.executemany("UPDATE dags SET is_active = 0 WHERE dag_id = ?", [(d,) for d in dag_ids])


def set_paused(conn: sqlite3.Connection, dag_id: str, is_paused: bool) -> None:
    conn.execute("UPDATE dags SET is_paused = ? WHERE dag_id = ?", (int(is_paused), dag_id))


def set_import_error(
    conn: sqlite3.Connection, filename: str, line: int | None, message: str, ts: str
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO import_errors (filename, line, message, timestamp) "
        "VALUES (?, ?, ?, ?)",
        (filename, line, message, ts),
    )


def clear_import_errors(conn: sqlite3.Connection, filenames: Iterable[str]) -> None:
    conn.executemany("DELETE FROM import_errors WHERE filename = ?", [(f,) for f in filenames])


def record_dataset_updates(
    conn: sqlite3.Connection, key: TIKey, uris: Iterable[str], ts: str
) -> None:
    """Task instance `key` succeeded: each dataset of its outlets was updated."""
    record_asset_events(conn, key, [(uri, None, ()) for uri in uris], ts)


def record_asset_events(
    conn: sqlite3.Connection,
    key: TIKey,
    events: Iterable[tuple[str, dict[str, Any] | None, tuple[str, ...]]],
    ts: str,
) -> None:
    """Task instance `key` succeeded: record each asset event of its outlets, as (uri, extra,
    the aliases it came through)."""
    for uri, extra, aliases in events:
        cursor = conn.execute(
            "INSERT INTO dataset_events (uri, dag_id, run_id, task_id, ts, extra) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (uri, *key[:3], ts, json.dumps(extra) if extra else None),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO dataset_alias_events (alias, event_id) VALUES (?, ?)",
            [(alias, cursor.lastrowid) for alias in aliases],
        )


def set_pool(conn: sqlite3.Connection, name: str, slots: int, description: str | None) -> None:
    """Create or resize a pool; a None description keeps the one it had."""
    conn.execute(
        "INSERT INTO pools (name, slots, description) VALUES (?, ?, COALESCE(?, '')) "
        "ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, "
        "description = COALESCE(?, description)",
        (name, slots, description, description),
    )


def delete_pool(conn: sqlite3.Connection, name: str) -> bool:
    """Remove a pool; False if there was none of that name."""
    return conn.execute("DELETE FROM pools WHERE name = ?", (name,)).rowcount > 0
