"""What wakes a sensor in reschedule mode before its next poke is due: a file matching a glob
it names being written (watched with watchdog, `authoring.sensors.waiting.GlobWatch`), or a
task instance of a DAG it names changing state in this scheduler. Each wake is a
`RescheduleDue` message for the loop; the sensor's timer stays, and a poke it finds already
done is ignored (`attempts.reschedule_due`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from flowtui.execution.base import AttemptKey
from flowtui.scheduling.changes import Change, TaskStateChanged
from flowtui.scheduling.messages import RescheduleDue

if TYPE_CHECKING:
    from flowtui.authoring.sensors.waiting import GlobWatch

_SLACK = 1.0
"""Seconds before the wait is registered from which a change wakes the sensor, when the poke's
start is unknown (a sensor taken over after a restart)."""


class SensorWakes:
    """Watches what the sensors waiting between pokes name; `wake(message)` goes to the
    loop's inbox."""

    def __init__(self, wake: Callable[[RescheduleDue], None]) -> None:
        self._wake = wake
        self._globs: GlobWatch | None = None
        self._dags: dict[AttemptKey, frozenset[str]] = {}
        self._changed: dict[str, float] = {}
        """dag_id -> when its task instances last changed state (epoch seconds)."""
        self._lock = threading.Lock()

    def watch(
        self, attempt: AttemptKey, wake: Iterable[tuple[str, str]], since: datetime | None
    ) -> None:
        """Wake `attempt` on what `wake` names, from `since` (the start of the poke that found
        the condition unmet: a change between that poke and now wakes it at once)."""
        wake = list(wake)
        start = since.timestamp() if since is not None else time.time() - _SLACK
        dags = frozenset(what for kind, what in wake if kind == "dag")
        paths = [what for kind, what in wake if kind == "path"]
        if dags:
            with self._lock:
                missed = any(self._changed.get(d, 0.0) >= start for d in dags)
                if not missed:
                    self._dags[attempt] = dags
            if missed:
                self._wake(RescheduleDue(attempt))
                return
        if paths:
            self._glob_watch().add(attempt, paths, start)

    def forget(self, attempt: AttemptKey) -> None:
        with self._lock:
            self._dags.pop(attempt, None)
        if self._globs is not None:
            self._globs.remove(attempt)

    def changed(self, changes: Iterable[Change]) -> None:
        """After a committed batch: wake the sensors waiting on the DAGs whose task instances
        just changed state."""
        dag_ids = {c.dag_id for c in changes if isinstance(c, TaskStateChanged)}
        now = time.time()
        with self._lock:
            for dag_id in dag_ids:
                self._changed[dag_id] = now
            woken = [a for a, dags in self._dags.items() if dags & dag_ids]
            for attempt in woken:
                del self._dags[attempt]
        for attempt in woken:
            self._wake(RescheduleDue(attempt))

    def stop(self) -> None:
        if self._globs is not None:
            self._globs.close()

    def _glob_watch(self) -> GlobWatch:
        if self._globs is None:  # watchdog's observer starts with the first file sensor
            from flowtui.authoring.sensors.waiting import GlobWatch

            self._globs = GlobWatch(self._file_written)
        return self._globs

    def _file_written(self, key: Hashable) -> None:
        if isinstance(key, AttemptKey):
            self._wake(RescheduleDue(key))
