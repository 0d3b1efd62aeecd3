"""The live feed: one thread with its own read-only connection that re-reads what the current
screen shows whenever the store changed (`PRAGMA data_version`, checked every 250 ms: the
only way to see another process's writes) or when nudged, and posts it as `StateLoaded`, with
the header's counts of the present (task instances of active and latest runs)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowtui.store.reads import task_failures_since
from flowtui.store.schema import open_connection
from flowtui.store.summaries import data_version
from flowtui.tui.messages import StateLoaded, TasksFailed
from flowtui.tui.present import PresentCounts

logger = logging.getLogger(__name__)

Loader = Callable[[sqlite3.Connection], Any]
Post = Callable[[StateLoaded | TasksFailed], Any]

INTERVAL = 0.25
"""Seconds between two idle checks of the store."""


class LiveFeed:
    """Reads for the screen on display, off the UI thread."""

    def __init__(self, db_path: Path, post: Post) -> None:
        self.db_path = db_path
        self.post = post
        self._target: object | None = None
        self._loader: Loader | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._is_nudged = False
        """A re-read was asked for since the thread last looked (guarded by `_lock`)."""
        self._counts = PresentCounts()
        self._seen_event: int | None = None
        """The newest event read for failures; None until the first read (older failures are
        not news)."""
        self._thread = threading.Thread(target=self._run, name="flowtui-live", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2)

    def show(self, target: object, loader: Loader) -> None:
        """From now on read `loader(conn)` for `target`; reads once at once."""
        with self._lock:
            self._target, self._loader = target, loader
        self.nudge()

    def nudge(self) -> None:
        """Re-read now (something changed, or the user asked for other data)."""
        with self._lock:
            self._is_nudged = True
        self._wake.set()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        seen = -1
        while not self._stop.is_set():
            self._wake.wait(INTERVAL)
            # Not wait()'s result: a nudge that lands between a timed-out wait and clear()
            # would be lost, and the screen left blank until the store changes.
            self._wake.clear()
            with self._lock:
                forced, self._is_nudged = self._is_nudged, False
            if self._stop.is_set():
                break
            try:
                if conn is None:
                    if not self.db_path.exists():
                        continue
                    conn = open_connection(self.db_path, readonly=True)
                version = data_version(conn)
                if version == seen and not forced:
                    continue
                seen = version
                self._load(conn)
            except sqlite3.Error:
                # e.g. the scheduler just started has not created the tables yet: start afresh
                logger.info("reading the store failed; retrying", exc_info=True)
                if conn is not None:
                    conn.close()
                conn, seen = None, -1

    def _load(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            target, loader = self._target, self._loader
        if loader is None:
            return
        conn.execute("BEGIN")  # one consistent snapshot for the screen and the header
        try:
            data = loader(conn)
            counts = _totals(self._counts.read(conn))
            failures = self._new_failures(conn, self._counts.newest_event or 0)
        finally:
            conn.execute("COMMIT")
        self.post(StateLoaded(target, data, counts))
        if failures:
            self.post(TasksFailed(failures))

    def _new_failures(self, conn: sqlite3.Connection, newest: int) -> list[dict[str, Any]]:
        """Failures after the last read, up to `newest` (this read's snapshot ends there)."""
        seen, self._seen_event = self._seen_event, newest
        if seen is None or newest <= seen:
            return []
        return task_failures_since(conn, seen)


def _totals(by_dag: dict[str, dict[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counts in by_dag.values():
        for state, count in counts.items():
            totals[state] = totals.get(state, 0) + count
    return totals
