"""Removing old logs (`log_retention_days` in flowtui.toml): a thread of the home's scheduler
that, when it starts and then every hour, deletes the files under `logs/<dag_id>/` (attempt
logs and tickets, DAG callback logs) not written to for that many days, and the folders that
leaves empty. A task instance that has not finished (running, queued, waiting to retry, a
sensor between pokes) keeps all its files, however old. The store, and with it the history of
every run and attempt, is left alone; the scheduler's own logs at the top of `logs/` too."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from flowtui.config import Settings
from flowtui.states import FINISHED
from flowtui.store import Store

logger = logging.getLogger(__name__)

INTERVAL = 3600.0
"""Seconds between two passes."""
_DAY = 86400.0


def remove_old_logs(logs_dir: Path, conn: sqlite3.Connection, cutoff: float) -> int:
    """Delete the files below `logs_dir`'s folders last written before `cutoff` (seconds since
    the epoch), except those of unfinished task instances, and the folders emptied so; return
    how many files went."""
    unfinished = _unfinished_task_instances(conn)
    removed = 0
    for dag_dir in (p for p in logs_dir.iterdir() if p.is_dir() and not p.is_symlink()):
        for folder, dirs, files in os.walk(dag_dir, topdown=False):
            here = Path(folder)
            parts = here.relative_to(logs_dir).parts
            if tuple(parts[:3]) in unfinished:
                continue  # <dag_id>/<run_id>/<task_id>/...: an attempt may still write here
            emptied = False
            for name in files:
                path = here / name
                with contextlib.suppress(FileNotFoundError):
                    if path.lstat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                        emptied = True
            if emptied or dirs:
                with contextlib.suppress(OSError):  # not empty: something stays or came
                    here.rmdir()
    return removed


def _unfinished_task_instances(conn: sqlite3.Connection) -> set[tuple[str, ...]]:
    finished = tuple(str(s) for s in FINISHED)
    marks = ", ".join("?" for _ in finished)
    rows = conn.execute(
        f"SELECT dag_id, run_id, task_id FROM task_instances WHERE state NOT IN ({marks})",
        finished,
    )
    return {tuple(row) for row in rows}


class LogRetention:
    """The thread that calls `remove_old_logs` at start and every `interval` seconds."""

    def __init__(self, settings: Settings, days: float, interval: float = INTERVAL) -> None:
        self.settings = settings
        self.days = days
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._pass()
            except Exception:  # a bad pass must not end the thread: the next one may work
                logger.exception("removing logs older than %g day(s) failed", self.days)
            self._stop.wait(self.interval)

    def _pass(self) -> None:
        store = Store(self.settings.db_path)
        try:
            removed = remove_old_logs(
                self.settings.logs_dir, store.conn, time.time() - self.days * _DAY
            )
        finally:
            store.close()
        if removed:
            logger.info(
                "removed %d file(s) under logs/ not written to in %g day(s) (log_retention_days)",
                removed,
                self.days,
            )
