"""What wakes a sensor in reschedule mode before its next poke is due: a file matching a glob
it names being written (watched with watchdog, `authoring.sensors.waiting.GlobWatch`), or a
task instance of a DAG it names changing state in this scheduler. Each wake is a
`RescheduleDue` message for the loop; the sensor's timer stays, and a poke it finds already
done is ignored (`attempts.reschedule_due`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING

from flowtui.execution.base import AttemptKey
from flowtui.scheduling.changes import Change, TaskStateChanged
from flowtui.scheduling.messages import RescheduleDue

if TYPE_CHECKING:
    from flowtui.authoring.sensors.waiting import GlobWatch

_SLACK = 1.0
"""Seconds before the wait is registered from which a written file wakes the sensor: the poke
that found the condition unmet ran a moment earlier, and a file written in between must not
wait for the timer. (A file the poke saw and found wanting may cost one extra poke.)"""


class SensorWakes:
    """Watches what the sensors waiting between pokes name; `wake(message)` goes to the
    loop's inbox."""

    def __init__(self, wake: Callable[[RescheduleDue], None]) -> None:
        self._wake = wake
        self._globs: GlobWatch | None = None
        self._dags: dict[AttemptKey, frozenset[str]] = {}
        self._lock = threading.Lock()

    def watch(self, attempt: AttemptKey, wake: Iterable[tuple[str, str]]) -> None:
        wake = list(wake)
        dags = frozenset(what for kind, what in wake if kind == "dag")
        paths = [what for kind, what in wake if kind == "path"]
        if dags:
            with self._lock:
                self._dags[attempt] = dags
        if paths:
            self._glob_watch().add(attempt, paths, time.time() - _SLACK)

    def forget(self, attempt: AttemptKey) -> None:
        with self._lock:
            self._dags.pop(attempt, None)
        if self._globs is not None:
            self._globs.remove(attempt)

    def changed(self, changes: Iterable[Change]) -> None:
        """After a committed batch: wake the sensors waiting on the DAGs whose task instances
        just changed state."""
        with self._lock:
            if not self._dags:
                return
            dag_ids = {c.dag_id for c in changes if isinstance(c, TaskStateChanged)}
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
