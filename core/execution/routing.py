"""The routing executor: with `executor = "dask"`, a task that says `executor="local"` (Airflow's
per-task executor) runs in the scheduler's fork server while the others go to the cluster. It
hands each attempt to the executor its request names and sends stops to the one that has it;
running the attempts is theirs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from flowtui.execution.base import (
    AttemptExited,
    AttemptKey,
    AttemptRequest,
    Executor,
    ExecutorEvent,
)


class RoutingExecutor:
    """An `Executor` made of others: `default` runs the attempts whose task names no executor,
    `named[name]` those whose task names `name`."""

    def __init__(self, default: Executor, named: Mapping[str, Executor]) -> None:
        self.default = default
        self.named = dict(named)
        self._lock = threading.Lock()
        self._owners: dict[AttemptKey, Executor] = {}
        """The executor each attempt was handed to, until its exit is reported."""

    @property
    def executors(self) -> list[Executor]:
        """Each executor once, the default first."""
        found = [self.default]
        found += [e for e in self.named.values() if all(e is not f for f in found)]
        return found

    def listen(self, on_event: Callable[[ExecutorEvent], None]) -> None:
        def forward(event: ExecutorEvent) -> None:
            if isinstance(event, AttemptExited):
                with self._lock:
                    self._owners.pop(event.key, None)
            on_event(event)

        for executor in self.executors:
            executor.listen(forward)

    @property
    def is_started(self) -> bool:
        return all(executor.is_started for executor in self.executors)

    def start(self) -> None:
        for executor in self.executors:
            if not executor.is_started:
                executor.start()

    def submit(self, request: AttemptRequest) -> None:
        executor = self.named.get(request.executor or "", self.default)
        with self._lock:
            self._owners[request.key] = executor
        executor.submit(request)

    def stop_attempt(self, key: AttemptKey, *, force: bool) -> bool:
        with self._lock:
            executor = self._owners.get(key)
        return executor is not None and executor.stop_attempt(key, force=force)

    def stop(self, *, leave_attempts: bool = False) -> None:
        for executor in self.executors:
            executor.stop(leave_attempts=leave_attempts)
