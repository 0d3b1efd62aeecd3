"""The store: one SQLite file per home. `Store` hands out one connection per thread and short
transactions; `schema` owns the tables and their migrations, `writes` every change of state
(each appended to `events`), `reads` and `summaries` the queries the CLI and the dashboard
make, `variables` the variables and their secrecy. It knows nothing of how states change."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flowtui.store.schema import open_connection


class Store:
    """One store file; safe to share between threads (each gets its own connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self.conn  # noqa: B018 -- open (and create or migrate) now, so errors surface at once

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_connection(self.path)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): all or nothing, never a lost update."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk at COMMIT): the error that
            # matters is the one being raised.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def is_disk_full(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed for want of space ("database or disk is full"): something that
    passes once space is freed."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
