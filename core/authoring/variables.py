"""Variables: named settings kept in the store's `variables` table, readable from DAG files,
templates (`var.value.X`) and tasks; `FLOWTUI_VAR_<KEY>` in the environment overrides the store.
Writes keep the masking marker in step (see `flowtui.execution.masking`); the CLI and the dashboard
write through `set_variable` / `delete_variable`, which also record who did it in `events`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flowtui.errors import InvalidInput, VariableNotFound
from flowtui.execution import masking

_db_path: Path | None = None
_MISSING: Any = object()
_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,250}")


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
            return json.loads(text)
        return text

    @staticmethod
    def set(
        key: str, value: Any, serialize_json: bool = False, description: str | None = None
    ) -> None:
        """Store `value` (as text, or JSON with `serialize_json`) under `key` in the store."""
        text = json.dumps(value) if serialize_json else str(value)
        set_variable(key, text, description=description)

    @staticmethod
    def delete(key: str) -> bool:
        """Remove `key` from the store; returns whether it was there."""
        return delete_variable(key)


def check_key(key: str) -> str:
    """`key` if it is a usable variable name (it also names `FLOWTUI_VAR_<KEY>`).

    Raises:
        InvalidInput: empty, too long, or other characters than letters, digits, `_.-`.
    """
    if not _KEY.fullmatch(key):
        raise InvalidInput("variable key", key, "use 1 to 250 letters, digits, '_', '.' or '-'")
    return key


def set_variable(
    key: str,
    text: str,
    *,
    description: str | None = None,
    actor: str | None = None,
    path: Path | None = None,
) -> None:
    """Store `text` under `key`; with an `actor`, record a `command` event (a secret-looking
    key's value is left out of it). A None `description` keeps the one the key had."""
    from flowtui.store import writes

    with _writing(path or db_path()) as conn:
        writes.upsert_variable(conn, key, text, description)
        if actor is not None:
            shown = masking.MASK if masking.is_secret_key(key) else text
            args = {"key": key, "value": shown, "description": description}
            _record(conn, actor, "set_variable", args)


def delete_variable(key: str, *, actor: str | None = None, path: Path | None = None) -> bool:
    """Remove `key` from the store; returns whether it was there. With an `actor`, a removal
    is recorded as a `command` event."""
    from flowtui.store import writes

    path = path or db_path()
    if not path.exists():
        return False
    with _writing(path) as conn:
        deleted = writes.delete_variable(conn, key)
        if deleted and actor is not None:
            _record(conn, actor, "delete_variable", {"key": key})
    return deleted


def overview(conn: sqlite3.Connection, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """Stored variables (key, val, description) with `is_secret` and `env_override` (the
    name of the environment variable that overrides it in `environ`, else None)."""
    from flowtui.store import reads

    rows = reads.variables(conn)
    for row in rows:
        row["is_secret"] = masking.is_secret_key(row["key"])
        name = env_name(row["key"])
        row["env_override"] = name if name in environ else None
    return rows


def shown_value(row: Mapping[str, Any], reveal: bool = False) -> str:
    """The value of an `overview` row as lists show it: `***` for a secret unless revealed."""
    return masking.MASK if row["is_secret"] and not reveal else str(row["val"])


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[sqlite3.Connection]:
    """A write transaction that leaves the masking marker matching the table."""
    from flowtui.store.schema import open_connection

    path.parent.mkdir(parents=True, exist_ok=True)
    conn = open_connection(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            masking.sync_marker(conn, path)  # under the write lock: writers cannot interleave
            conn.execute("COMMIT")
        except BaseException:
            masking.mark_secrets(path)  # unsure whether a secret is left: mask, to be safe
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _record(conn: sqlite3.Connection, actor: str, command: str, args: dict[str, Any]) -> None:
    from flowtui.clock import to_text, utcnow
    from flowtui.store import writes

    detail = json.dumps({"command": command, "args": args})
    writes.record_event(conn, "command", ts=to_text(utcnow()), actor=actor, detail=detail)


def _read(key: str) -> str | None:
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
