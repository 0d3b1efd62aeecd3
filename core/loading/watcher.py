"""Watching the DAG folder: watchdog reports `.py` files created, edited, moved or deleted (and
every `.py` file below an ignore file that changed), and after a short quiet spell (editors write
a file in several steps) the changed paths go to the scheduler as one batch."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from flowtui.loading.ignore import is_ignore_file

logger = logging.getLogger(__name__)

QUIET = 0.1
"""Seconds without further events before a batch of changes is handed over."""


class DagFolderWatcher(FileSystemEventHandler):
    """Calls `on_change(paths)` with the `.py` files of `folder` that changed."""

    def __init__(self, folder: Path, on_change: Callable[[set[str]], None]) -> None:
        super().__init__()
        self.folder = folder
        self.on_change = on_change
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._observer: BaseObserver | None = None

    def start(self) -> None:
        if not self.folder.is_dir():
            logger.warning("DAG folder %s does not exist; not watching it", self.folder)
            return
        observer = Observer()
        observer.schedule(self, str(self.folder), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("created", "modified", "deleted", "moved", "closed"):
            return
        paths = {str(event.src_path), str(getattr(event, "dest_path", "") or "")}
        changed = {p for p in paths if p.endswith(".py") and "__pycache__" not in p}
        for path in paths:
            if is_ignore_file(path):  # what it excludes may have changed: look at all again
                changed |= {str(p) for p in Path(path).parent.rglob("*.py")}
        if not changed:
            return
        with self._lock:
            self._pending |= changed
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(QUIET, self._flush)
            self._timer.daemon = True
            self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            paths, self._pending = self._pending, set()
            self._timer = None
        if paths:
            try:
                self.on_change(paths)
            except Exception:
                logger.exception("handling changed DAG files %s failed", sorted(paths))
