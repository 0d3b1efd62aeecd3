"""Variables in the store: reading and writing them, which keys count as secret (their values
are masked wherever flowtui shows them), the environment variable that overrides a key, and the
marker file beside the store that exists while any secret does, so that an attempt learns with
one `stat` (instead of opening SQLite) whether there is anything to mask."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from flowtui.errors import InvalidInput

SENSITIVE_NAMES = ("password", "secret", "token", "api_key", "credential")
"""A variable is secret when its key contains one of these, in any case (as Airflow's
sensitive field names)."""

MASK = "***"
"""What a secret value looks like wherever flowtui shows it."""

ENV_PREFIX = "FLOWTUI_VAR_"
"""`FLOWTUI_VAR_<KEY>` in the environment overrides variable `key` of the store."""

_KEY = r"[A-Za-z0-9_.\-]{1,250}"
"""A usable key; compiled (and cached by `re`) on the first check, not at import (0.25 ms)."""


def is_secret_key(key: str) -> bool:
    """Whether variable `key` looks secret (password, secret, token, api_key, credential)."""
    lowered = key.lower()
    return any(name in lowered for name in SENSITIVE_NAMES)


def env_name(key: str) -> str:
    """The environment variable that overrides variable `key`."""
    return ENV_PREFIX + key.upper()


def check_key(key: str) -> str:
    """`key` if it is a usable variable name (it also names `FLOWTUI_VAR_<KEY>`).

    Raises:
        InvalidInput: empty, too long, or other characters than letters, digits, `_.-`.
    """
    if not re.fullmatch(_KEY, key):
        raise InvalidInput("variable key", key, "use 1 to 250 letters, digits, '_', '.' or '-'")
    return key


class VariableRow(NamedTuple):
    """A stored variable as lists show it. A named tuple, not a frozen dataclass: ~0.13 ms to
    make at start-up instead of ~1 ms."""

    key: str
    val: str
    description: str
    is_secret: bool
    env_override: str | None
    """The environment variable that overrides it where the list was read, else None."""

    def shown_value(self, reveal: bool = False) -> str:
        """The value, or `***` for a secret unless `reveal`."""
        return MASK if self.is_secret and not reveal else self.val


def overview(conn: sqlite3.Connection, environ: Mapping[str, str]) -> list[VariableRow]:
    """Every stored variable, by key, with whether it is secret and overridden in `environ`."""
    rows = conn.execute("SELECT key, val, description FROM variables ORDER BY key").fetchall()
    return [
        VariableRow(
            key,
            str(val),
            description or "",
            is_secret_key(key),
            env_name(key) if env_name(key) in environ else None,
        )
        for key, val, description in rows
    ]


def read(conn: sqlite3.Connection, key: str) -> str | None:
    """The stored text of `key`, or None (also for a store that was never migrated)."""
    try:
        row = conn.execute("SELECT val FROM variables WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # a store that was never migrated has no table yet
        return None
    return None if row is None else str(row[0])


def write(conn: sqlite3.Connection, key: str, text: str, description: str | None) -> None:
    """Store `text` under `key` (a None `description` keeps the one it had), inside the
    caller's write transaction. A secret key creates the marker before the commit: a write
    that fails after that errs on the masking side."""
    conn.execute(
        "INSERT INTO variables (key, val, description) VALUES (?, ?, coalesce(?, '')) "
        "ON CONFLICT (key) DO UPDATE SET val = excluded.val, "
        "description = coalesce(?, variables.description)",
        (check_key(key), text, description, description),
    )
    if is_secret_key(key):
        mark_secrets(_database_file(conn))


def delete(conn: sqlite3.Connection, key: str) -> bool:
    """Remove `key`, inside the caller's transaction; returns whether it was there. Call
    `refresh_marker` after the commit: the marker may have outlived the last secret."""
    deleted: int = conn.execute("DELETE FROM variables WHERE key = ?", (key,)).rowcount
    return deleted > 0


def marker_path(db_path: Path | str) -> Path:
    """The file that exists while the store at `db_path` holds a secret-looking key."""
    return Path(_marker_file(db_path))


def _marker_file(db_path: Path | str) -> str:
    """`marker_path` as text, made without pathlib: every attempt looks for it."""
    return os.fspath(db_path) + ".secret-variables"


def mark_secrets(db_path: Path | str) -> None:
    """Create the marker file."""
    marker = marker_path(db_path)
    if not marker.exists():
        fd = os.open(marker, os.O_CREAT | os.O_WRONLY, 0o600)
        os.write(fd, b"flowtui: the store holds secret-looking variables; tasks mask them\n")
        os.close(fd)


def refresh_marker(db_path: Path) -> None:
    """Remove the marker when no secret key is left. Under the write lock, so that no writer
    can add a secret between the look and the removal."""
    marker = marker_path(db_path)
    if not marker.exists():
        return
    from flowtui.store.schema import open_connection

    conn = open_connection(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            keys = [str(key) for (key,) in conn.execute("SELECT key FROM variables")]
            if not any(is_secret_key(key) for key in keys):
                with contextlib.suppress(FileNotFoundError):
                    marker.unlink()
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()


def stored_secret_values(db_path: Path | str) -> list[str]:
    """Values of the store's secret-looking variables; the store is opened only while its
    marker exists: one stat instead of opening SQLite, on the path most attempts take."""
    if not os.path.exists(_marker_file(db_path)):
        return []
    try:
        conn = sqlite3.connect(
            Path(db_path).resolve().as_uri() + "?mode=ro", uri=True, timeout=30.0
        )
    except sqlite3.Error:
        return []
    try:
        rows = conn.execute("SELECT key, val FROM variables").fetchall()
    except sqlite3.Error:  # a store that was never migrated has no table yet
        return []
    finally:
        conn.close()
    return [str(val) for key, val in rows if is_secret_key(str(key))]


def _database_file(conn: sqlite3.Connection) -> Path:
    """The file of the connection's main database (where the marker goes beside)."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file)
    raise RuntimeError("the connection has no main database")
