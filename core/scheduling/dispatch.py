"""Which queued runs start now (within each DAG's `max_active_runs`) and which scheduled task
instances start now: highest `priority_weight` first, within the home's `parallelism`, each
DAG's `max_active_tasks`, each pool's slots and each task's `max_active_tis_per_dag` and
`max_active_tis_per_dagrun`, while their DAG is not paused; the plain-data
request each becomes; the attempts handed to the executor until they exit."""

from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypeVar

from flowtui.config import Settings
from flowtui.execution.base import AttemptInfo, AttemptKey, AttemptRequest
from flowtui.loading.parse import Preload
from flowtui.scheduling import pools
from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.scheduling.run_book import RunBook, is_driven_elsewhere
from flowtui.states import RunState, TaskState
from flowtui.store import reads
from flowtui.store.reads import DEFAULT_POOL

R = TypeVar("R")


def start_queued_runs(
    book: RunBook, conn: sqlite3.Connection, paused: Callable[[], set[str]]
) -> int:
    """Start queued runs, oldest logical date first, where their DAG's `max_active_runs` and
    `paused()` allow; returns how many started. A run another live process drives is left to
    it. `paused` is called only when a run is queued."""
    queued = [r for r in book.runs.values() if r.state is RunState.QUEUED]
    if not queued:
        return 0
    held = paused()
    started = 0
    running = Counter(r.dag_id for r in book.runs.values() if r.state is RunState.RUNNING)
    for run in sorted(queued, key=lambda r: r.logical_date):
        if run.dag_id in held:
            continue
        if is_driven_elsewhere(run.runner_pid):
            continue  # its `dags test`/`backfill` process drives it; once gone, we do
        if running[run.dag_id] < run.spec.max_active_runs:
            running[run.dag_id] += 1
            book.start_run(conn, run)
            started += 1
    return started


class Dispatcher:
    """A priority queue of scheduled task instances, the count of live attempts, and the slots
    they hold of their DAG's `max_active_tasks` and of their pool."""

    def __init__(self, parallelism: int) -> None:
        self.parallelism = parallelism
        self.live: set[AttemptKey] = set()
        """Attempts handed to the executor that have not exited yet."""
        self._heap: list[tuple[int, int, RunKey, str, int]] = []
        self._seq = itertools.count()
        self._active_by_dag: Counter[str] = Counter()
        self._held: dict[AttemptKey, tuple[str, int]] = {}
        """The pool and slots each live attempt holds."""
        self._used: Counter[str] = Counter()
        """Slots of each pool that live attempts hold."""
        self._unpriced: set[AttemptKey] = set()
        """Live attempts handed over (`resume`, `reset`) whose pool is not looked up yet."""
        self._per_task: Counter[tuple[str, ...]] = Counter()
        """Live attempts of each task with a `max_active_tis_per_dag(run)` limit, by (dag_id,
        task_id) and by (dag_id, run_id, task_id); tasks without one are not counted."""

    def take(
        self,
        book: RunBook,
        paused: Callable[[], set[str]],
        queue: Callable[[ActiveRun, TI], R],
        conn: sqlite3.Connection,
    ) -> list[R]:
        """Queue the task instances that may start now with `queue(run, ti)`, which moves each
        to `queued` and starts its try, and return what it returned; those of `paused()` DAGs,
        over their DAG's `max_active_tasks` or without room in their pool wait for a later call
        (a lower-priority task that fits goes first, as in Airflow). One whose pool does not
        exist, or is smaller than its `pool_slots`, fails (`pools.refuse`). `paused` and the
        pools are looked up only when there is something to queue, the pools at every call: a
        pool changed by a command counts from the next call on (`conn`: the store the pools are
        read from and a refusal written to)."""
        while book.ready:
            run_key, task_id, map_index = book.ready.popleft()
            run = book.runs.get(run_key)
            if run is not None and task_id in run.spec.tasks:
                weight = run.spec.tasks[task_id].priority_weight
                entry = (-weight, next(self._seq), run_key, task_id, map_index)
                heapq.heappush(self._heap, entry)
        if not self._heap or len(self.live) >= self.parallelism:
            return []
        held = paused()
        slots = reads.pool_slots(conn)
        slots.setdefault(DEFAULT_POOL, self.parallelism)  # until a user sets it
        self._price(book)
        queued: list[R] = []
        deferred = []
        while self._heap and len(self.live) < self.parallelism:
            item = heapq.heappop(self._heap)
            run = book.runs.get(item[2])
            if run is None:
                continue
            ti = run.ti(item[3], item[4])
            if ti is None or ti.state is not TaskState.SCHEDULED:
                continue  # moved on, or just queued from an earlier entry (cleared meanwhile)
            if run.dag_id in held or self._active_by_dag[run.dag_id] >= run.spec.max_active_tasks:
                deferred.append(item)
                continue
            limits = _task_limits(run, ti.task_id)
            if limits and any(self._per_task[k] >= n for k, n in limits):
                deferred.append(item)
                continue
            pool, needed = _pool_of(run, ti.task_id)
            size = slots.get(pool)
            if size is None:
                pools.refuse(book, conn, run, ti, pools.unknown_pool(pool))
                continue
            if 0 < size < needed:  # a pool of 0 slots holds its tasks instead
                pools.refuse(
                    book, conn, run, ti, pools.pool_too_small(ti.task_id, pool, needed, size)
                )
                continue
            if self._used[pool] + needed > size:
                deferred.append(item)
                continue
            queued.append(queue(run, ti))
            key = run.attempt_key(ti)
            self.live.add(key)
            self._active_by_dag[run.dag_id] += 1
            self._held[key] = (pool, needed)
            self._used[pool] += needed
            self._per_task.update(k for k, _ in limits)
        for item in deferred:
            heapq.heappush(self._heap, item)
        return queued

    def reset(self, live: set[AttemptKey]) -> None:
        """Start again from the attempts in `live` (the executor's), with nothing queued."""
        self.live = set(live)
        self._heap.clear()
        self._active_by_dag = Counter(key.dag_id for key in live)
        self._held.clear()
        self._used.clear()
        self._per_task.clear()
        self._unpriced = set(live)

    def resume(self, key: AttemptKey) -> None:
        """Count an attempt an earlier scheduler started (recovery hands it over again)."""
        if key not in self.live:
            self.live.add(key)
            self._active_by_dag[key.dag_id] += 1
            self._unpriced.add(key)

    def ended(self, key: AttemptKey) -> bool:
        """Forget a live attempt, and free its slots; False if it was not one of ours."""
        if key not in self.live:
            return False
        self.live.discard(key)
        self._active_by_dag[key.dag_id] -= 1
        self._unpriced.discard(key)
        pool, needed = self._held.pop(key, (DEFAULT_POOL, 0))
        self._used[pool] -= needed
        if self._per_task:
            limited = ((key.dag_id, key.task_id), (key.dag_id, key.run_id, key.task_id))
            self._per_task.subtract(k for k in limited if self._per_task[k] > 0)
        return True

    def _price(self, book: RunBook) -> None:
        """Count the pool slots of attempts handed over before their runs were at hand."""
        for key in self._unpriced:
            run = book.runs.get(RunKey(key.dag_id, key.run_id))
            pool, needed = _pool_of(run, key.task_id) if run else (DEFAULT_POOL, 1)
            self._held[key] = (pool, needed)
            self._used[pool] += needed
            if run is not None:
                self._per_task.update(k for k, _ in _task_limits(run, key.task_id))
        self._unpriced.clear()


def _pool_of(run: ActiveRun, task_id: str) -> tuple[str, int]:
    """The pool a task's attempt takes slots of, and how many (a task a hot reload took out of
    the DAG: one of `default_pool`)."""
    task = run.spec.tasks.get(task_id)
    return (task.pool, task.pool_slots) if task is not None else (DEFAULT_POOL, 1)


def _task_limits(run: ActiveRun, task_id: str) -> list[tuple[tuple[str, ...], int]]:
    """The task's `max_active_tis_per_dag` and `max_active_tis_per_dagrun`, each with the key
    its live attempts are counted under; [] for a task without either (most)."""
    task = run.spec.tasks.get(task_id)
    if task is None:
        return []
    limits: list[tuple[tuple[str, ...], int]] = []
    if task.max_active_tis_per_dag is not None:
        limits.append(((run.dag_id, task_id), task.max_active_tis_per_dag))
    if task.max_active_tis_per_dagrun is not None:
        limits.append(((run.dag_id, run.run_id, task_id), task.max_active_tis_per_dagrun))
    return limits


def attempt_request(
    conn: sqlite3.Connection,
    settings: Settings,
    run: ActiveRun,
    ti: TI,
    log_path: str,
    preload: Mapping[str, Preload],
) -> AttemptRequest:
    """What the executor gets for the queued try of `ti`."""
    info = AttemptInfo(
        dag_id=run.dag_id,
        task_id=ti.task_id,
        run_id=run.run_id,
        try_number=ti.try_number,
        max_tries=ti.max_tries,
        logical_date=run.logical_date,
        data_interval_start=run.data_interval_start,
        data_interval_end=run.data_interval_end,
        run_type=run.run_type,
        conf=run.conf,
        db_path=str(settings.db_path),
        prev_success=_prev_success(conn, run),
        map_index=ti.map_index,
    )
    task = run.spec.tasks[ti.task_id]
    return AttemptRequest(
        info,
        run.spec.fileloc,
        log_path,
        runs_bash=task.runs_bash,
        preload=preload.get(run.spec.fileloc, ""),
        queued_at=ti.queued_at or "",
        kill_grace=settings.task_kill_grace_seconds,
        queue=task.queue,
        executor=task.executor,
    )


def _prev_success(conn: sqlite3.Connection, run: ActiveRun) -> tuple[str | None, str | None]:
    """Context's prev_data_interval_*_success, looked up here once per run so that the
    attempt's process never has to open the store for it."""
    if run.prev_success is None:
        run.prev_success = reads.previous_success(conn, run.dag_id, run.logical_date)
    return run.prev_success
