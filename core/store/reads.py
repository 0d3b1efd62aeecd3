"""Every query the CLI and the dashboard make. Plain SQL over the schema in `schema.py`; each
function takes a connection and returns plain dicts, so readers in other processes need nothing
but the file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.clock import parse_datetime
from flowtui.spec import DagSpec
from flowtui.states import TaskState

if TYPE_CHECKING:
    from flowtui.store.access import StoreReader


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def rows_in_one_step(
    conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    """`sql`'s rows as `_rows` gives them, fetched as one JSON row: sqlite3 lets go of the GIL
    for every row it steps, and a reader thread beside a busy UI thread then waits up to the
    switch interval (5 ms) to get it back, so 200 rows can cost a second where one costs a
    millisecond (issue 13, point 9). For the dashboard's reads on its live thread."""
    names = [d[0] for d in conn.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).description]
    columns = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
    # The subquery keeps its ORDER BY: SQLite does not flatten it into an aggregate.
    (text,) = conn.execute(
        f"SELECT json_group_array(json_array({columns})) FROM ({sql})", params
    ).fetchone()
    return [dict(zip(names, row, strict=True)) for row in json.loads(text)]


def dags(conn: sqlite3.Connection, *, active_only: bool = True) -> list[dict[str, Any]]:
    where = "WHERE is_active = 1" if active_only else ""
    rows = _rows(
        conn,
        "SELECT dag_id, fileloc, is_paused, is_active, schedule, description, tags, spec, "
        f"last_parsed, next_run_at FROM dags {where} ORDER BY dag_id",
    )
    for row in rows:
        row["is_paused"] = bool(row["is_paused"])
        row["is_active"] = bool(row["is_active"])
        row["schedule"] = json.loads(row["schedule"]) if row["schedule"] else None
        row["tags"] = json.loads(row["tags"])
        row["spec"] = DagSpec.from_dict(json.loads(row["spec"]))
    return rows


def dag(conn: sqlite3.Connection, dag_id: str) -> dict[str, Any] | None:
    found = [d for d in dags(conn, active_only=False) if d["dag_id"] == dag_id]
    return found[0] if found else None


def dag_spec(conn: sqlite3.Connection, dag_id: str) -> DagSpec | None:
    row = conn.execute("SELECT spec FROM dags WHERE dag_id = ?", (dag_id,)).fetchone()
    return DagSpec.from_dict(json.loads(row[0])) if row else None


def active_specs(conn: sqlite3.Connection, dag_id: str | None = None) -> list[tuple[DagSpec, bool]]:
    """The spec of each active DAG and whether it is paused, by dag_id; only `dag_id`'s (if
    it is active) when given."""
    where, params = ("AND dag_id = ?", (dag_id,)) if dag_id is not None else ("", ())
    rows = conn.execute(
        f"SELECT spec, is_paused FROM dags WHERE is_active = 1 {where} ORDER BY dag_id", params
    )
    return [(DagSpec.from_dict(json.loads(spec)), bool(paused)) for spec, paused in rows]


def runs(conn: sqlite3.Connection, dag_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Runs of a DAG, newest logical date first."""
    rows = _rows(
        conn,
        "SELECT * FROM dag_runs WHERE dag_id = ? ORDER BY logical_date DESC, id DESC LIMIT ?",
        (dag_id, -1 if limit is None else limit),
    )
    for row in rows:
        row["conf"] = json.loads(row["conf"])
    return rows


def run(conn: sqlite3.Connection, dag_id: str, run_id: str | None = None) -> dict[str, Any] | None:
    """One run, or the DAG's latest (by logical date) when `run_id` is None."""
    if run_id is None:
        found = runs(conn, dag_id, limit=1)
        return found[0] if found else None
    rows = _rows(conn, "SELECT * FROM dag_runs WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
    for row in rows:
        row["conf"] = json.loads(row["conf"])
    return rows[0] if rows else None


def active_runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = _rows(
        conn,
        "SELECT * FROM dag_runs WHERE state IN ('queued', 'running') ORDER BY logical_date, id",
    )
    for row in rows:
        row["conf"] = json.loads(row["conf"])
    return rows


def previous_success(
    conn: StoreReader, dag_id: str, logical_date: str
) -> tuple[str | None, str | None]:
    """Data interval (start, end) of the DAG's latest successful run before `logical_date`
    (its logical date where it has none); (None, None) when there is none. Logical dates are
    compared as datetimes, not text, so that differently written offsets still order right."""
    before = parse_datetime(logical_date)
    rows = conn.execute(
        "SELECT logical_date, data_interval_start, data_interval_end FROM dag_runs "
        "WHERE dag_id = ? AND state = 'success' ORDER BY logical_date DESC",
        (dag_id,),
    )
    for logical, start, end in rows:
        if parse_datetime(logical) < before:
            rows.close()
            return start or logical, end or logical
    return None, None


def task_instances(conn: sqlite3.Connection, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The run's task instances, in the order they were made (a mapped task's by map_index)."""
    return _rows(
        conn,
        "SELECT * FROM task_instances WHERE dag_id = ? AND run_id = ? ORDER BY rowid",
        (dag_id, run_id),
    )


def mapped_instances(
    conn: sqlite3.Connection, dag_id: str, run_id: str, task_id: str
) -> list[dict[str, Any]]:
    """The instances of a mapped task in one run, by map_index ([] before it expands)."""
    return _rows(
        conn,
        "SELECT * FROM task_instances WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index >= 0 ORDER BY map_index",
        (dag_id, run_id, task_id),
    )


def task_ids_by_run(
    conn: sqlite3.Connection, dag_id: str, states: Iterable[str], run_id: str | None = None
) -> dict[str, set[str]]:
    """The ids of the DAG's task instances in one of `states`, by run id (only `run_id`'s
    when given)."""
    wanted = tuple(states)
    sql = (
        "SELECT run_id, task_id FROM task_instances WHERE dag_id = ? "
        f"AND state IN ({', '.join('?' for _ in wanted)})"
    )
    params: tuple[str, ...] = (dag_id, *wanted)
    if run_id is not None:
        sql += " AND run_id = ?"
        params += (run_id,)
    found: dict[str, set[str]] = {}
    for run, task_id in conn.execute(sql, params):
        found.setdefault(run, set()).add(task_id)
    return found


class InstanceState(NamedTuple):
    """One task instance's id, map index (-1 unmapped) and state."""

    task_id: str
    map_index: int
    state: TaskState


def instance_states_by_run(
    conn: sqlite3.Connection, dag_id: str, run_id: str | None = None
) -> dict[str, dict[str, list[InstanceState]]]:
    """The DAG's task instances, by run id then task id, a mapped task's in map_index order
    (only `run_id`'s when given)."""
    sql = "SELECT run_id, task_id, map_index, state FROM task_instances WHERE dag_id = ?"
    params: tuple[str, ...] = (dag_id,)
    if run_id is not None:
        sql += " AND run_id = ?"
        params += (run_id,)
    found: dict[str, dict[str, list[InstanceState]]] = {}
    for run, task_id, map_index, state in conn.execute(sql + " ORDER BY map_index", params):
        instance = InstanceState(task_id, map_index, TaskState(state))
        found.setdefault(run, {}).setdefault(task_id, []).append(instance)
    return found


def task_instance(
    conn: sqlite3.Connection, dag_id: str, run_id: str, task_id: str, map_index: int = -1
) -> dict[str, Any] | None:
    rows = _rows(
        conn,
        "SELECT * FROM task_instances WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index = ?",
        (dag_id, run_id, task_id, map_index),
    )
    return rows[0] if rows else None


def attempts(
    conn: sqlite3.Connection,
    dag_id: str,
    run_id: str,
    task_id: str | None = None,
    map_index: int = -1,
) -> list[dict[str, Any]]:
    """The attempts of a run (by start), or of one task instance (by try)."""
    if task_id is None:
        return rows_in_one_step(
            conn,
            "SELECT * FROM attempts WHERE dag_id = ? AND run_id = ? ORDER BY start_date",
            (dag_id, run_id),
        )
    return _rows(
        conn,
        "SELECT * FROM attempts WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index = ? ORDER BY try_number",
        (dag_id, run_id, task_id, map_index),
    )


def tasks_asking_for_email(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(fileloc, dag_id, task_id) of each active DAG's tasks that send mail: EmailOperators,
    and tasks with an `email` and email_on_failure or email_on_retry (what
    `flowtui.alert_config.asks_for_email` says of a spec, asked of the stored JSON in SQLite)."""
    rows = conn.execute(
        "SELECT d.fileloc, d.dag_id, t.key FROM dags d, json_each(d.spec, '$.tasks') t "
        "WHERE d.is_active = 1 AND (json_extract(t.value, '$.operator') = 'EmailOperator' "
        "OR (json_array_length(t.value, '$.email') > 0 "
        "AND (json_extract(t.value, '$.email_on_failure') "
        "OR json_extract(t.value, '$.email_on_retry')))) ORDER BY d.dag_id, t.key"
    )
    return [(fileloc, dag_id, task_id) for fileloc, dag_id, task_id in rows]


def import_errors(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT * FROM import_errors ORDER BY filename")


def events(
    conn: sqlite3.Connection,
    *,
    after_id: int = 0,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    limit: int = 10_000,
    map_index: int | None = None,
) -> list[dict[str, Any]]:
    """Events after `after_id`, oldest first, optionally for one DAG / run / task / instance."""
    clauses, params = ["id > ?"], [after_id]
    columns = (("dag_id", dag_id), ("run_id", run_id), ("task_id", task_id))
    for column, value in (*columns, ("map_index", map_index)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)  # type: ignore[arg-type]  # ints and strs both bind
    return _rows(
        conn,
        f"SELECT * FROM events WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?",
        (*params, limit),
    )


DEFAULT_POOL = "default_pool"
"""The pool of every task that names none; it always exists."""


class PoolRow(NamedTuple):
    """A pool as `flowtui pools list` and the dashboard show it."""

    name: str
    slots: int
    used: int
    """Slots held by the pool's live attempts (task instances queued, running or restarting)."""
    queued: int
    """Task instances scheduled and waiting for the pool."""
    description: str


def pool_slots(conn: sqlite3.Connection) -> dict[str, int]:
    """The stored pools' slots by name (`default_pool` only once a user set it)."""
    return dict(conn.execute("SELECT name, slots FROM pools"))


def pools(conn: sqlite3.Connection, parallelism: int) -> list[PoolRow]:
    """Every pool by name, `default_pool` first (with `parallelism` slots unless set), and
    how much of each the task instances use now. A task's pool is read from its DAG's stored
    spec, in one pass over the specs of the DAGs that have live or scheduled instances."""
    usage = {
        pool: (used, queued)
        for pool, used, queued in conn.execute(
            "WITH live AS (SELECT dag_id, task_id, state FROM task_instances "
            "WHERE state IN ('scheduled', 'queued', 'running', 'restarting')), "
            "tasks AS (SELECT d.dag_id, t.key AS task_id, "
            f"COALESCE(json_extract(t.value, '$.pool'), '{DEFAULT_POOL}') AS pool, "
            "COALESCE(json_extract(t.value, '$.pool_slots'), 1) AS pool_slots "
            "FROM dags d, json_each(d.spec, '$.tasks') t "
            "WHERE d.dag_id IN (SELECT dag_id FROM live)) "
            "SELECT tasks.pool, "
            "SUM(CASE WHEN live.state = 'scheduled' THEN 0 ELSE tasks.pool_slots END), "
            "SUM(live.state = 'scheduled') "
            "FROM live JOIN tasks ON tasks.dag_id = live.dag_id AND tasks.task_id = live.task_id "
            "GROUP BY tasks.pool"
        )
    }
    stored = {
        name: (slots, description)
        for name, slots, description in conn.execute(
            "SELECT name, slots, description FROM pools ORDER BY name"
        )
    }
    stored.setdefault(DEFAULT_POOL, (parallelism, "slots follow parallelism until set"))
    names = sorted(stored, key=lambda name: (name != DEFAULT_POOL, name))
    return [PoolRow(n, stored[n][0], *usage.get(n, (0, 0)), stored[n][1]) for n in names]


class DatasetUpdate(NamedTuple):
    """One dataset update that triggered a run (`dag_runs.triggered_by`). A named tuple, not
    a frozen dataclass: ~0.13 ms to make at start-up instead of ~1 ms."""

    uri: str
    dag_id: str
    task_id: str
    ts: str


def triggering_updates(triggered_by: str | None) -> list[DatasetUpdate]:
    """The dataset updates a run's `triggered_by` column names; none for other runs."""
    if not triggered_by:
        return []
    updates: list[dict[str, Any]] = json.loads(triggered_by).get("updates", [])
    return [DatasetUpdate(u["uri"], u["dag_id"], u["task_id"], u["ts"]) for u in updates]


def task_failures_since(conn: sqlite3.Connection, after_id: int) -> list[dict[str, Any]]:
    """Attempts that failed after event `after_id` (the task instance went to failed or
    up_for_retry), oldest first, with the event's id and detail (the cause); a user's mark
    (actor `dashboard:` or `cli:`) is not a failure."""
    return _rows(
        conn,
        "SELECT id, dag_id, run_id, task_id, map_index, try_number, new_state, detail FROM events "
        "WHERE id > ? AND kind = 'task_state' AND new_state IN ('failed', 'up_for_retry') "
        "AND actor NOT LIKE 'dashboard:%' AND actor NOT LIKE 'cli:%' ORDER BY id",
        (after_id,),
    )


def dag_ids(conn: sqlite3.Connection) -> list[str]:
    """The ids of the active DAGs, sorted (no spec parsed: the palette's "go to DAG")."""
    return [d for (d,) in conn.execute("SELECT dag_id FROM dags WHERE is_active = 1 ORDER BY 1")]
