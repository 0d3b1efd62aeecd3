"""What a clear selects: the tasks, runs and instances a `Clear` names (`clear_selection`,
`runs_to_clear`, `instances_to_clear`; `clear_preview` lists them from the store alone), and
what it takes along, as Airflow's clear does: a task's relevant setups and their teardowns
(`tasks_to_clear`, Airflow's `partial_subset`), and through an `ExternalTaskMarker` the other
DAG's task and its downstream in the run of the same logical date, recursively
(`external_clears`). Pure reads of specs and runs; resetting task instances is `apply`'s."""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol, TypeVar

from flowtui.clock import parse_datetime
from flowtui.commands.model import Clear
from flowtui.errors import CommandRejected, DagNotFound, InvalidInput, RunNotFound
from flowtui.spec import DagSpec
from flowtui.states import FAILED_STATES, TaskState
from flowtui.store import reads


def tasks_to_clear(
    spec: DagSpec, selected: Iterable[str], *, upstream: bool, downstream: bool
) -> set[str]:
    """The selected tasks, with their downstream and upstream when asked, and the setups and
    teardowns Airflow clears with them: a task's relevant setups (`DagSpec.setup_scope`) and
    their teardowns, a setup's teardowns, and with `upstream` every setup's teardowns."""
    selected = list(selected)
    tasks = spec.tasks
    chosen = set(selected)
    if not any(task.is_setup for task in tasks.values()):
        # One walk each way for all of them: a regex may select most of a large DAG.
        if downstream:
            chosen.update(spec.relatives(selected, "downstream"))
        if upstream:
            chosen.update(spec.relatives(selected, "upstream"))
        return chosen
    for task_id in selected:
        task = tasks[task_id]
        if downstream:
            for below in spec.relatives([task_id], "downstream"):
                chosen.add(below)
                is_marked = tasks[below].is_setup or tasks[below].is_teardown
                if below not in selected and not is_marked:
                    chosen.update(spec.setup_scope(below))
        if upstream:
            for above in spec.relatives([task_id], "upstream"):
                chosen.add(above)
                if tasks[above].is_setup:
                    chosen.update(_teardowns(spec, above, but=task_id))
        elif not (task.is_setup or task.is_teardown):
            chosen.update(spec.setup_scope(task_id))
        if task.is_setup and not downstream:
            chosen.update(_teardowns(spec, task_id, but=None))
    return chosen


def _teardowns(spec: DagSpec, setup: str, but: str | None) -> list[str]:
    return [d for d in spec.tasks[setup].downstream if spec.tasks[d].is_teardown and d != but]


class ExternalClear(NamedTuple):
    """Task instances of another DAG's run that an `ExternalTaskMarker` clears."""

    spec: DagSpec
    run: dict[str, Any]
    task_ids: list[str]


class _Marker(NamedTuple):
    dag_id: str
    run_id: str
    task_id: str


def external_clears(
    conn: sqlite3.Connection,
    spec: DagSpec,
    run: dict[str, Any],
    task_ids: Iterable[str],
    *,
    only_failed: bool,
) -> list[ExternalClear]:
    """The other DAGs' task instances that clearing `task_ids` in `run` clears through the
    `ExternalTaskMarker`s among them, and through the markers those clear, as Airflow does:
    the marker's task in its DAG's run of the same logical date, with its downstream (and
    their setups and teardowns); no such run, nothing. With `only_failed`, only failed task
    instances, markers included, count.

    Raises:
        CommandRejected: a chain of markers deeper than the first marker's `recursion_depth`
            (Airflow refuses the whole clear: too many tasks, or a cycle of markers).
    """
    found: list[ExternalClear] = []
    seen: set[_Marker] = set()
    todo = [(spec, run, list(task_ids), 0)]
    limit: int | None = None
    while todo:
        spec, run, ids, depth = todo.pop(0)
        for task_id in ids:
            marker = spec.tasks[task_id].external_task_marker
            key = _Marker(spec.dag_id, run["run_id"], task_id)
            if marker is None or key in seen:
                continue
            seen.add(key)
            dag_id, external_task_id, recursion_depth = marker
            limit = recursion_depth if limit is None else limit
            if depth + 1 > limit:
                raise CommandRejected(
                    f"ExternalTaskMarker {task_id!r} of DAG {spec.dag_id!r}: the clear reaches "
                    f"further than recursion_depth {limit} (Airflow's limit); too many tasks, "
                    f"or markers that lead back to each other"
                )
            other = _external_run(conn, dag_id, run["logical_date"])
            other_spec = reads.dag_spec(conn, dag_id)
            if other is None or other_spec is None or external_task_id not in other_spec.tasks:
                continue
            chosen = tasks_to_clear(other_spec, [external_task_id], upstream=False, downstream=True)
            cleared = [t for t in other_spec.tasks if t in chosen]
            if only_failed:
                failed = reads.task_ids_by_run(
                    conn, dag_id, ("failed", "upstream_failed"), other["run_id"]
                ).get(other["run_id"], set())
                cleared = [t for t in cleared if t in failed]
            if cleared:
                found.append(ExternalClear(other_spec, other, cleared))
                todo.append((other_spec, other, cleared, depth + 1))
    return found


def _external_run(
    conn: sqlite3.Connection, dag_id: str, logical_date: str
) -> dict[str, Any] | None:
    """The DAG's run of `logical_date` (compared as a datetime), the newest if several."""
    wanted = parse_datetime(logical_date)
    for row in reads.runs(conn, dag_id):
        if parse_datetime(row["logical_date"]) == wanted:
            return row
    return None


class ClearPreview(NamedTuple):
    """What a clear would clear: task ids by run id in its DAG (newest run first), and what
    ExternalTaskMarkers among them would clear in other DAGs."""

    runs: dict[str, list[str]]
    external: list[ExternalClear]


def clear_preview(conn: sqlite3.Connection, command: Clear) -> ClearPreview:
    """What `command` would clear, as the store has it now; nothing is changed (`flowtui tasks
    clear` shows it before it asks).

    Raises:
        FlowtuiError: as `apply` would for the same command.
    """
    spec, chosen, picked = clear_selection(conn, command)
    found = reads.instance_states_by_run(conn, spec.dag_id, command.run_id)
    preview = ClearPreview({}, [])
    for row in runs_to_clear(conn, spec, command):
        by_task = defaultdict(list, found.get(row["run_id"], {}))  # no instance: none to clear
        instances = instances_to_clear(spec, chosen, picked, by_task.__getitem__, command)
        if instances:
            ids = list(dict.fromkeys(i.task_id for i in instances))
            preview.runs[row["run_id"]] = ids
            marked = external_clears(conn, spec, row, ids, only_failed=command.only_failed)
            preview.external.extend(marked)
    return preview


def clear_selection(conn: sqlite3.Connection, command: Clear) -> tuple[DagSpec, set[str], set[str]]:
    """The DAG, the ids of the tasks `command` clears (those its regex picks, with their
    downstream or upstream tasks if asked) and of the picked ones alone."""
    spec = reads.dag_spec(conn, command.dag_id)
    if spec is None:
        raise DagNotFound(command.dag_id)
    try:
        pattern = re.compile(command.task_regex) if command.task_regex else None
    except re.error as exc:
        raise InvalidInput("--task regex", command.task_regex, f"{exc}") from None
    selected = [t for t in spec.tasks if pattern is None or pattern.search(t)]
    if not selected:
        raise CommandRejected(
            f"DAG {spec.dag_id!r} has no task matching {command.task_regex!r}; "
            f"tasks: {', '.join(spec.tasks)}"
        )
    chosen = tasks_to_clear(
        spec, selected, upstream=command.upstream, downstream=command.downstream
    )
    return spec, chosen, set(selected)


def runs_to_clear(conn: sqlite3.Connection, spec: DagSpec, command: Clear) -> list[dict[str, Any]]:
    if not command.run_id:
        return reads.runs(conn, spec.dag_id)
    row = reads.run(conn, spec.dag_id, command.run_id)
    if row is None:
        raise RunNotFound(spec.dag_id, command.run_id)
    return [row]


class _Instance(Protocol):
    @property
    def task_id(self) -> str: ...
    @property
    def map_index(self) -> int: ...
    @property
    def state(self) -> TaskState: ...


_I = TypeVar("_I", bound=_Instance)


def instances_to_clear(
    spec: DagSpec,
    chosen: set[str],
    picked: set[str],
    instances: Callable[[str], list[_I]],
    command: Clear,
) -> list[_I]:
    """The instances (`instances(task_id)`: a run's, in the scheduler or the store) of the
    chosen tasks that `command` clears, in the DAG's order: with `map_index`, only that
    instance of a picked mapped task (picked tasks that are not expanded, their instance -1,
    and the relatives are taken whole); with `only_failed`, only failed ones."""
    return [
        ti
        for t in spec.tasks
        if t in chosen
        for ti in instances(t)
        if _in_instance(command.map_index, t in picked, ti.map_index)
        and (not command.only_failed or ti.state in FAILED_STATES)
    ]


def _in_instance(wanted: int | None, is_picked: bool, map_index: int) -> bool:
    return wanted is None or not is_picked or map_index < 0 or map_index == wanted
