"""What the scheduler tells its listeners after each committed batch: the state changes of task
instances and runs, in order. The dashboard and the foreground commands' printers are the
listeners; they get these values, never the run book. Named tuples: several are made for each
task, on the path from one task's end to the next one's start."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flowtui.states import RunState, TaskState


class TaskStateChanged(NamedTuple):
    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    old: TaskState
    new: TaskState
    detail: str | None = None
    map_index: int = -1


class RunStateChanged(NamedTuple):
    dag_id: str
    run_id: str
    old: RunState | None
    """None for a run just created."""
    new: RunState


Change = TaskStateChanged | RunStateChanged
Listener = Callable[[list[Change]], None]
