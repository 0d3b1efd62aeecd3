"""Dynamic task mapping on the scheduler's side: a mapped task expands into one instance per
element of what it maps over once its trigger rule lets it run, as Airflow's
`expand_mapped_task` does. The length comes from the spec's literals and the upstream XComs in
the store; the expansion is written in the transaction that evaluated the task (the one that
recorded its upstream's success), so a crash leaves it either done or to be done again."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Protocol

from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.spec import TaskSpec
from flowtui.states import ACTIVE, TaskState
from flowtui.store import writes


class RunBook(Protocol):
    """What expanding needs of `run_book.RunBook` (which calls it)."""

    actor: str
    touched: set[RunKey]

    def now(self) -> str: ...

    def set_state(
        self,
        conn: sqlite3.Connection,
        run: ActiveRun,
        ti: TI,
        new: TaskState,
        *,
        detail: str | None = None,
        actor_detail: str | None = None,
        **fields: Any,
    ) -> None: ...


class _Unmappable(Exception):
    """What the task maps over has no length: the reason, for the event's detail."""


def expand(book: RunBook, conn: sqlite3.Connection, run: ActiveRun, task: TaskSpec) -> list[TI]:
    """The mapped `task` may run: its instances in state none that are to run now. Its first
    expansion turns its instance -1 into instances 0..n-1; n = 0 skips it, and an upstream
    value that cannot be mapped over (missing, not a list or dict) makes it upstream_failed,
    as in Airflow. Expanded before (some instances cleared), the length is counted again:
    instances past it become removed, missing ones are added. [] when nothing is to run."""
    reason = ""
    try:
        length: int | None = map_length(conn, run, task)
    except _Unmappable as exc:
        length, reason = None, str(exc)
    unexpanded = run.tis.get(task.task_id)
    if unexpanded is not None:
        if length is None or length == 0:
            new = TaskState.UPSTREAM_FAILED if length is None else TaskState.SKIPPED
            now = book.now()
            detail = reason if length is None else "it maps over nothing (length 0)"
            book.set_state(conn, run, unexpanded, new, start_date=now, end_date=now, detail=detail)
            return []
        del run.tis[task.task_id]
        run.counts[unexpanded.state] -= 1
        writes.delete_task_instance(conn, run.ti_key(unexpanded), ts=book.now(), actor=book.actor)
        run.mapped[task.task_id] = []
    instances = run.mapped[task.task_id]
    if length is None:
        for ti in [ti for ti in instances if ti.state is TaskState.NONE]:
            book.set_state(conn, run, ti, TaskState.UPSTREAM_FAILED, detail=reason)
        return []
    _grow(book, conn, run, task, instances, length)
    for ti in instances[length:]:
        if ti.state not in ACTIVE and ti.state is not TaskState.REMOVED:
            detail = f"the mapped task has {length} instance(s) now"
            book.set_state(conn, run, ti, TaskState.REMOVED, detail=detail)
    return [ti for ti in instances[:length] if ti.state is TaskState.NONE]


def _grow(
    book: RunBook,
    conn: sqlite3.Connection,
    run: ActiveRun,
    task: TaskSpec,
    instances: list[TI],
    length: int,
) -> None:
    added = range(len(instances), length)
    if not added:
        return
    writes.insert_task_instances(conn, run.spec, run.run_id, [task.task_id], added)
    instances.extend(TI(task.task_id, TaskState.NONE, 0, task.retries, map_index=i) for i in added)
    run.counts[TaskState.NONE] += len(added)
    book.touched.add(run.key)


def map_length(conn: sqlite3.Connection, run: ActiveRun, task: TaskSpec) -> int:
    """How many instances the mapped task gets: the product of its inputs' lengths (the cross
    product of several `expand` arguments, as Airflow's).

    Raises:
        _Unmappable: an upstream value is missing or is not a list or dict.
    """
    total = 1
    for source in task.map_over or ():
        total *= source if isinstance(source, int) else _xcom_length(conn, run, *source)
    return total


def _xcom_length(conn: sqlite3.Connection, run: ActiveRun, task_id: str, key: str) -> int:
    upstream = run.spec.tasks.get(task_id)
    rows = conn.execute(
        "SELECT map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND key = ?",
        (run.dag_id, run.run_id, task_id, key),
    ).fetchall()
    if upstream is not None and upstream.is_mapped:  # one element per instance that pushed
        return sum(1 for map_index, _ in rows if map_index >= 0)
    if not rows:
        raise _Unmappable(f"nothing to map over: task {task_id!r} pushed no XCom {key!r}")
    value = json.loads(rows[0][1])
    if not isinstance(value, list | dict):
        raise _Unmappable(
            f"cannot map over XCom {key!r} of task {task_id!r}: a {type(value).__name__}, "
            f"not a list or dict"
        )
    return len(value)
