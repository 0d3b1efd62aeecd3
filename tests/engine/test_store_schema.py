"""A new store is created from `fresh_schema` (plain SQL, no sqlite-utils import); an older one
is migrated step by step. Both must end with the same schema."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlite_utils import Database

from flowtui.store import fresh_schema
from flowtui.store.schema import _MIGRATIONS, SCHEMA_VERSION, migrated_schema, open_connection


def test_the_fresh_schema_is_what_the_migrations_make() -> None:
    """Fails after a migration is added until `scripts/fresh_schema.py` is run."""
    assert fresh_schema.VERSION == SCHEMA_VERSION
    assert list(fresh_schema.STATEMENTS) == migrated_schema()


def test_a_new_store_and_a_migrated_one_have_the_same_schema(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    _MIGRATIONS[0](Database(conn))  # a version 1 store, as the first release made it
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    migrated, new = open_connection(old), open_connection(tmp_path / "new.db")
    try:
        assert _schema(new) == _schema(migrated)
        assert _schema(new)  # not two empty stores
        version = "PRAGMA user_version"
        assert new.execute(version).fetchone() == migrated.execute(version).fetchone()
    finally:
        migrated.close()
        new.close()


def test_creating_a_store_does_not_import_sqlite_utils(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from flowtui.store.schema import open_connection\n"
        f"open_connection(Path({str(tmp_path / 'flowtui.db')!r})).close()\n"
        "print('sqlite_utils' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [tuple(row) for row in rows]
