"""Task-instance and DAG-run states, spelled as in Airflow, and their groupings."""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """State of one task instance (a task in one DAG run)."""

    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    RESTARTING = "restarting"
    REMOVED = "removed"


class RunState(StrEnum):
    """State of one DAG run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


FINISHED: frozenset[TaskState] = frozenset(
    {
        TaskState.SUCCESS,
        TaskState.FAILED,
        TaskState.SKIPPED,
        TaskState.UPSTREAM_FAILED,
        TaskState.REMOVED,
    }
)
"""States a task instance leaves only through a user command (clear, mark)."""

UNFINISHED: frozenset[TaskState] = frozenset(set(TaskState) - FINISHED)
"""States from which the scheduler still moves a task instance on."""

ACTIVE: frozenset[TaskState] = frozenset(
    {TaskState.QUEUED, TaskState.RUNNING, TaskState.RESTARTING}
)
"""States in which an attempt has been handed to the executor and holds a slot."""

FAILED_STATES: frozenset[TaskState] = frozenset({TaskState.FAILED, TaskState.UPSTREAM_FAILED})
"""Leaf states that make a run fail."""

RUN_FINISHED: frozenset[RunState] = frozenset({RunState.SUCCESS, RunState.FAILED})
"""Run states that need a command (clear) to change again."""
