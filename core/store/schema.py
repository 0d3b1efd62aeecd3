"""The SQLite schema of the store and its forward migrations; `open_connection` is the one way
to get a connection (WAL, busy timeout, schema checked and migrated on open, and a file that is
not a flowtui store, or cannot be opened, refused in one line)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flowtui.errors import FlowtuiError, SchemaTooNew, StoreDamaged, StoreNotAccessible

if TYPE_CHECKING:
    from sqlite_utils import Database

SCHEMA_VERSION = 6

_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_NOT_ACCESSIBLE = {3, 8, 14, 23}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_AUTH


def _create_v1(db: Database) -> None:
    """The first schema, every table in one place (long by design: it is a table listing)."""
    db.table("dags").create(
        {
            "dag_id": str,
            "fileloc": str,
            "is_paused": int,
            "is_active": int,
            "schedule": str,
            "description": str,
            "tags": str,
            "spec": str,
            "last_parsed": str,
            "next_run_at": str,
        },
        pk="dag_id",
        not_null={"fileloc", "spec"},
        defaults={"is_paused": 0, "is_active": 1, "description": "", "tags": "[]"},
    )
    db.table("dag_runs").create(
        {
            "id": int,
            "dag_id": str,
            "run_id": str,
            "run_type": str,
            "state": str,
            "logical_date": str,
            "data_interval_start": str,
            "data_interval_end": str,
            "conf": str,
            "queued_at": str,
            "start_date": str,
            "end_date": str,
            "runner_pid": int,
        },
        pk="id",
        not_null={"dag_id", "run_id", "run_type", "state", "logical_date"},
        defaults={"conf": "{}"},
    )
    db.table("dag_runs").create_index(["dag_id", "run_id"], unique=True)
    db.table("dag_runs").create_index(["state"])
    db.table("dag_runs").create_index(["dag_id", "logical_date"])
    db.table("task_instances").create(
        {
            "dag_id": str,
            "run_id": str,
            "task_id": str,
            "state": str,
            "try_number": int,
            "max_tries": int,
            "operator": str,
            "priority_weight": int,
            "queued_at": str,
            "start_date": str,
            "end_date": str,
            "duration": float,
            "pid": int,
            "hostname": str,
            "log_path": str,
            "next_try_at": str,
            "note": str,
        },
        pk=("dag_id", "run_id", "task_id"),
        not_null={"state", "try_number", "max_tries", "priority_weight"},
        defaults={"state": "none", "try_number": 0, "max_tries": 0, "priority_weight": 1},
    )
    db.table("task_instances").create_index(["state"])
    db.table("attempts").create(
        {
            "dag_id": str,
            "run_id": str,
            "task_id": str,
            "try_number": int,
            "state": str,
            "queued_at": str,
            "start_date": str,
            "end_date": str,
            "pid": int,
            "exit_code": int,
            "cause": str,
            "log_path": str,
        },
        pk=("dag_id", "run_id", "task_id", "try_number"),
    )
    db.table("xcom").create(
        {"dag_id": str, "run_id": str, "task_id": str, "key": str, "value": str, "timestamp": str},
        pk=("dag_id", "run_id", "task_id", "key"),
        not_null={"value", "timestamp"},
    )
    db.table("variables").create(
        {"key": str, "val": str, "description": str},
        pk="key",
        not_null={"val"},
        defaults={"description": ""},
    )
    db.table("import_errors").create(
        {"filename": str, "line": int, "message": str, "timestamp": str},
        pk="filename",
        not_null={"message", "timestamp"},
    )
    # AUTOINCREMENT so that ids never repeat: readers follow the table by the last id seen.
    db.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, "
        "kind TEXT NOT NULL, dag_id TEXT, run_id TEXT, task_id TEXT, try_number INTEGER, "
        "old_state TEXT, new_state TEXT, actor TEXT NOT NULL, detail TEXT)"
    )
    db.table("events").create_index(["dag_id", "run_id", "task_id"])


# Entry i migrates a store from version i to i + 1.
def _add_datasets_v2(db: Database) -> None:
    """Version 2: dataset updates, and what triggered a run (issue 5, datasets)."""
    db.table("dataset_events").create(
        {"id": int, "uri": str, "dag_id": str, "run_id": str, "task_id": str, "ts": str},
        pk="id",
        not_null={"uri", "ts"},
    )
    db.table("dataset_events").create_index(["uri", "id"])
    db.execute("ALTER TABLE dag_runs ADD COLUMN triggered_by TEXT")


def _add_pools_v3(db: Database) -> None:
    """Version 3: pools (issue 11). `default_pool` has no row until a user sets it: until then
    its slots follow `parallelism`."""
    db.table("pools").create(
        {"name": str, "slots": int, "description": str},
        pk="name",
        not_null={"slots"},
        defaults={"description": ""},
    )


def _add_asset_events_v4(db: Database) -> None:
    """Version 4: an asset event's `extra` (JSON, from `outlet_events[asset].extra`) and the
    aliases events came through (issue 12, assets). Older events have no extra and no alias."""
    db.execute("ALTER TABLE dataset_events ADD COLUMN extra TEXT")
    db.table("dataset_alias_events").create(
        {"alias": str, "event_id": int}, pk=("alias", "event_id")
    )
    db.table("dataset_alias_events").create_index(["event_id"])


_TI_COLUMNS = (
    "state TEXT NOT NULL DEFAULT 'none', try_number INTEGER NOT NULL DEFAULT 0, "
    "max_tries INTEGER NOT NULL DEFAULT 0, operator TEXT, "
    "priority_weight INTEGER NOT NULL DEFAULT 1, queued_at TEXT, start_date TEXT, "
    "end_date TEXT, duration FLOAT, pid INTEGER, hostname TEXT, log_path TEXT, "
    "next_try_at TEXT, note TEXT"
)
_ATTEMPT_COLUMNS = (
    "try_number INTEGER, state TEXT, queued_at TEXT, start_date TEXT, end_date TEXT, "
    "pid INTEGER, exit_code INTEGER, cause TEXT, log_path TEXT"
)
_XCOM_COLUMNS = "key TEXT, value TEXT NOT NULL, timestamp TEXT NOT NULL"


def _add_map_index_v5(db: Database) -> None:
    """Version 5: dynamic task mapping (issue 12). Task instances, attempts and XComs are keyed
    by `map_index` too (-1 for an unmapped task, as in Airflow), and a task's events name it.
    SQLite cannot change a primary key: each table is rebuilt, its rows copied in rowid order
    (readers list task instances by rowid) with map_index -1."""
    for table, columns, key in (
        ("task_instances", _TI_COLUMNS, ""),
        ("attempts", _ATTEMPT_COLUMNS, ", try_number"),
        ("xcom", _XCOM_COLUMNS, ", key"),
    ):
        names = [row[1] for row in db.execute(f"PRAGMA table_info({table})").fetchall()]
        if names:
            db.execute(f"ALTER TABLE {table} RENAME TO {table}_v4")
        db.execute(
            f"CREATE TABLE {table} (dag_id TEXT, run_id TEXT, task_id TEXT, "
            f"map_index INTEGER NOT NULL DEFAULT -1, {columns}, "
            f"PRIMARY KEY (dag_id, run_id, task_id, map_index{key}))"
        )
        if names:
            listed = ", ".join(names)
            db.execute(
                f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {table}_v4 ORDER BY rowid"
            )
            db.execute(f"DROP TABLE {table}_v4")
    db.execute("CREATE INDEX idx_task_instances_state ON task_instances (state)")
    if db.table("events").exists():
        db.execute("ALTER TABLE events ADD COLUMN map_index INTEGER NOT NULL DEFAULT -1")


def _add_rendered_fields_v6(db: Database) -> None:
    """Version 6: each attempt's rendered templated fields (issue 13, as Airflow's Rendered
    Template view shows them): JSON, field name -> value as rendered for that try, masked.
    Older attempts have none."""
    db.execute("ALTER TABLE attempts ADD COLUMN rendered TEXT")


_MIGRATIONS: list[Callable[[Database], None]] = [
    _create_v1,
    _add_datasets_v2,
    _add_pools_v3,
    _add_asset_events_v4,
    _add_map_index_v5,
    _add_rendered_fields_v6,
]


def open_connection(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the store at `path`, creating (mode 0600) and migrating it as needed.

    Raises:
        SchemaTooNew: the file was written by a newer flowtui.
        StoreDamaged: the file is not a flowtui store (garbage, another program's database)
            or is corrupt.
        StoreNotAccessible: the file (or its -wal or -shm) cannot be opened for this user.
    """
    try:
        return _open_readonly(path) if readonly else _open(path)
    except sqlite3.DatabaseError as exc:
        raise store_error(path, exc) or exc from None
    except OSError as exc:
        raise StoreNotAccessible(path, (exc.strerror or str(exc)).lower()) from None


def store_error(path: Path, exc: sqlite3.DatabaseError) -> FlowtuiError | None:
    """The one-line error for an SQLite error that says the file itself is the problem
    (damaged, not a database, not ours to open); None for any other (a busy store, a full
    disk), which its caller handles."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # an extended code's low byte is its kind
    if code in _DAMAGED:
        return StoreDamaged(path)
    if code in _NOT_ACCESSIBLE:
        return StoreNotAccessible(path, str(exc))
    return None


def _open_readonly(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        f"file:{path}?mode=ro",
        timeout=30.0,
        isolation_level=None,
        check_same_thread=False,
        uri=True,
    )
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _open(path: Path) -> sqlite3.Connection:
    if not path.exists():
        # Create the file ourselves so it is 0600 from the first byte; SQLite gives the -wal
        # and -shm files the same mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    elif not os.access(path, os.R_OK | os.W_OK):
        # SQLite would open it read-only without a word and fail at the first write.
        raise StoreNotAccessible(path, "permission denied")
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode loses no committed transaction on a process crash, only on power
        # loss.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(path, version, SCHEMA_VERSION)
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()  # another process may have won
        if version == 0 and conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            raise StoreDamaged(path)  # another program's database: adding tables would harm it
        if version == 0:
            _create_fresh(conn)
        elif version < SCHEMA_VERSION:
            _run_migrations(conn, version)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _create_fresh(conn: sqlite3.Connection) -> None:
    """A new store: the schema the migrations end with, as the SQL `fresh_schema` holds (a
    test checks the two agree). Running the migrations instead would import sqlite-utils,
    which costs more than the rest of the dashboard's start-up on a new home."""
    from flowtui.store import fresh_schema

    if fresh_schema.VERSION != SCHEMA_VERSION:  # not regenerated after a new migration
        _run_migrations(conn, 0)
        return
    for statement in fresh_schema.STATEMENTS:
        conn.execute(statement)


def _run_migrations(conn: sqlite3.Connection, version: int) -> None:
    """Migrate a store, step by step, from `version`."""
    # Imported here: an up-to-date store is opened on every command, and sqlite-utils costs
    # more to import than the rest of the engine's start-up.
    from sqlite_utils import Database

    db = Database(conn)
    for step in range(version, SCHEMA_VERSION):
        _MIGRATIONS[step](db)


def migrated_schema() -> list[str]:
    """The SQL of every table and index a new store gets from the migrations, in the order
    they were made: what `fresh_schema.STATEMENTS` must hold (`scripts/fresh_schema.py` writes
    that module)."""
    from sqlite_utils import Database

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db = Database(conn)
        for migration in _MIGRATIONS:
            migration(db)
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()
    return [sql for (sql,) in rows]
