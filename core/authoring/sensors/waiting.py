"""Ending a sensor's wait early. `GlobWatch` calls back when a file matching a watched glob is
written, checking on each filesystem event watchdog reports under the glob's nearest existing
folder (and once when the glob is added, so a file written just before is not missed).
`Waker` is a poke-mode sensor's wait: it sleeps until the next poke is due or until what the
sensor named happens (a matching file, or a write to the store for another DAG's state)."""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

_MAGIC = ("*", "?", "[")


def watched_folder(pattern: str) -> tuple[str, bool]:
    """The nearest existing folder a file matching `pattern` would appear under, and whether
    it must be watched recursively (the match may lie more than one level below it)."""
    parts = Path(pattern).parts
    fixed = next((i for i, p in enumerate(parts) if any(c in p for c in _MAGIC)), len(parts))
    folder = Path(*parts[: max(fixed, 1)]) if fixed < len(parts) else Path(pattern).parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    below = Path(pattern).relative_to(folder).parts if Path(pattern).is_relative_to(folder) else ()
    return str(folder), len(below) > 1 or "**" in pattern


def changed_since(pattern: str, since: float) -> bool:
    """Whether a file or folder matching `pattern` was written at or after `since` (epoch
    seconds): a folder's time changes when an entry is added to it."""
    for match in glob.glob(pattern, recursive=True):
        try:
            if os.stat(match).st_mtime >= since:
                return True
        except OSError:  # gone again
            continue
    return False


class GlobWatch(FileSystemEventHandler):
    """Calls `on_match(key)` (on a watchdog thread, or in `add`) once a file matching one of
    the globs added under `key` is written after the time given with them; the key is then no
    longer watched. Files that matched before that time (those the last poke saw and found
    wanting) wake nobody."""

    def __init__(self, on_match: Callable[[Hashable], None]) -> None:
        super().__init__()
        self._on_match = on_match
        self._patterns: dict[Hashable, tuple[list[str], float]] = {}
        self._watches: dict[tuple[str, bool], ObservedWatch] = {}
        self._observer: BaseObserver | None = None
        self._lock = threading.Lock()

    def add(self, key: Hashable, patterns: Iterable[str], since: float) -> None:
        """Watch `patterns` for `key` for files written at or after `since` (the poke's start:
        one written since, before the watch began, is found at once)."""
        patterns = list(patterns)
        if not patterns:
            return
        with self._lock:
            self._patterns[key] = (patterns, since)
            for pattern in patterns:
                self._schedule(*watched_folder(pattern))
        self._check([key])

    def remove(self, key: Hashable) -> None:
        with self._lock:
            self._patterns.pop(key, None)

    def close(self) -> None:
        with self._lock:
            observer, self._observer = self._observer, None
            self._patterns.clear()
            self._watches.clear()
        if observer is not None:
            observer.stop()
            observer.join(timeout=2)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        with self._lock:
            keys = list(self._patterns)
        self._check(keys)

    def _schedule(self, folder: str, recursive: bool) -> None:
        """Watch `folder` (holding the lock)."""
        if (folder, recursive) in self._watches:
            return
        if self._observer is None:
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
        with contextlib.suppress(OSError):  # unreadable, or gone since: the timer still pokes
            self._watches[folder, recursive] = self._observer.schedule(
                self, folder, recursive=recursive
            )

    def _check(self, keys: list[Hashable]) -> None:
        for key in keys:
            with self._lock:
                watched = self._patterns.get(key)
            if watched and any(changed_since(p, watched[1]) for p in watched[0]):
                with self._lock:
                    if self._patterns.pop(key, None) is None:
                        continue  # another thread found it first
                self._on_match(key)


class Waker:
    """A poke-mode sensor's wait between pokes (see the module docstring). A write to the store
    wakes it at most every `_STORE_QUIET` seconds, however often other tasks write."""

    _STORE_QUIET = 0.5

    def __init__(
        self, wake: Iterable[tuple[str, str]], store_path: Path | None, since: float
    ) -> None:
        self._event = threading.Event()
        self._globs: GlobWatch | None = None
        self._store: BaseObserver | None = None
        wake = list(wake)
        paths = [what for kind, what in wake if kind == "path"]
        self._paths = paths
        if paths:
            self._globs = GlobWatch(lambda _key: self._event.set())
            self._globs.add("sensor", paths, since)
        # A remote attempt has no store to watch (None): it pokes on its interval.
        if any(kind == "dag" for kind, _ in wake) and store_path and store_path.parent.is_dir():
            self._store = Observer()
            self._store.daemon = True
            self._store.schedule(_StoreWrites(store_path, self._event), str(store_path.parent))
            self._store.start()

    def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less when what the sensor waits for may have happened. The
        next poke starts when this returns: what is written from then on wakes the wait
        after it."""
        woken = self._event.wait(max(0.0, seconds))
        if woken and self._store is not None:
            time.sleep(self._STORE_QUIET)  # a burst of writes makes one poke, not many
        self._event.clear()
        if self._globs is not None:
            self._globs.add("sensor", self._paths, time.time())

    def close(self) -> None:
        if self._globs is not None:
            self._globs.close()
        if self._store is not None:
            self._store.stop()
            self._store.join(timeout=2)


class _StoreWrites(FileSystemEventHandler):
    """Sets `event` when the store (or its write-ahead log) is written."""

    def __init__(self, store_path: Path, event: threading.Event) -> None:
        super().__init__()
        self._names = (store_path.name, f"{store_path.name}-wal")
        self._event = event

    def on_modified(self, event: FileSystemEvent) -> None:
        if os.path.basename(str(event.src_path)) in self._names:
            self._event.set()
