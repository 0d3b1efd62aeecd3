"""Variables: named settings kept in the store's `variables` table, readable from DAG files,
templates (`var.value.X`) and tasks; `FLOWTUI_VAR_<KEY>` in the environment overrides the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flowtui.errors import VariableNotFound

_db_path: Path | None = None
_MISSING: Any = object()


def configure(db_path: Path | str) -> None:
    """Make Variable use the store at `db_path` (the attempt runner calls this in the child)."""
    global _db_path
    _db_path = Path(db_path)


def db_path() -> Path:
    """The store Variable uses: the configured one, else `$FLOWTUI_HOME/flowtui.db`."""
    if _db_path is not None:
        return _db_path
    home = os.environ.get("FLOWTUI_HOME") or str(Path.home() / ".flowtui")
    return Path(home).expanduser() / "flowtui.db"


def env_name(key: str) -> str:
    """The environment variable that overrides variable `key`."""
    return "FLOWTUI_VAR_" + key.upper()


class Variable:
    """Airflow-style access to variables: `Variable.get("key")`, `Variable.set("key", v)`."""

    @staticmethod
    def get(key: str, default_var: Any = _MISSING, deserialize_json: bool = False) -> Any:
        """Return the value of variable `key`; the environment wins over the store.

        Args:
            key: the variable's name.
            default_var: returned (as given) when the variable is not set anywhere.
            deserialize_json: parse the stored text as JSON.

        Raises:
            VariableNotFound: not set and no default given.
        """
        text = os.environ.get(env_name(key))
        if text is None:
            text = _read(key)
        if text is None:
            if default_var is _MISSING:
                raise VariableNotFound(key)
            return default_var
        if deserialize_json:
            import json

            return json.loads(text)
        return text

    @staticmethod
    def set(
        key: str, value: Any, serialize_json: bool = False, description: str | None = None
    ) -> None:
        """Store `value` (as text, or JSON with `serialize_json`) under `key` in the store."""
        import json

        from flowtui.store.schema import open_connection

        text = json.dumps(value) if serialize_json else str(value)
        path = db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = open_connection(path)
        try:
            conn.execute(
                "INSERT INTO variables (key, val, description) VALUES (?, ?, coalesce(?, '')) "
                "ON CONFLICT (key) DO UPDATE SET val = excluded.val, "
                "description = coalesce(?, variables.description)",
                (key, text, description, description),
            )
        finally:
            conn.close()

    @staticmethod
    def delete(key: str) -> bool:
        """Remove `key` from the store; returns whether it was there."""
        from flowtui.store.schema import open_connection

        path = db_path()
        if not path.exists():
            return False
        conn = open_connection(path)
        try:
            deleted: int = conn.execute("DELETE FROM variables WHERE key = ?", (key,)).rowcount
            return deleted > 0
        finally:
            conn.close()


def _read(key: str) -> str | None:
    import sqlite3

    from flowtui.store.schema import open_connection

    path = db_path()
    if not path.exists():
        return None
    conn = open_connection(path, readonly=True)
    try:
        row = conn.execute("SELECT val FROM variables WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # a store that was never migrated has no table yet
        return None
    finally:
        conn.close()
    return None if row is None else str(row[0])
