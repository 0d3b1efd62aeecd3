"""The vocabulary every layer shares, spelled as in Airflow: task-instance and DAG-run states,
their groupings, and the names of the trigger rules (what each rule decides is
`flowtui.scheduling.trigger_rules`'s)."""

from __future__ import annotations

from collections.abc import Iterable
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


class TriggerRule(StrEnum):
    """When a task runs, judged by the states of its direct upstream tasks; the semantics of
    each rule are in `flowtui.scheduling.trigger_rules`."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    """A teardown's rule (`as_teardown`, `@teardown`): all upstream done, and one of its direct
    setups succeeded when it has any."""


def parse_trigger_rule(value: str) -> TriggerRule:
    """Return the rule named `value`, spelled exactly as in Airflow.

    Raises:
        ValueError: `value` names no rule; the DAG loader turns it into `UnknownTriggerRule`.
    """
    try:
        return TriggerRule(value)
    except ValueError:
        raise ValueError(
            f"unknown trigger rule {value!r}; use one of: {', '.join(sorted(TriggerRule))}"
        ) from None


_SUMMARY_ORDER = (
    "failed",
    "upstream_failed",
    "up_for_retry",
    "up_for_reschedule",
    "queued",
    "scheduled",
    "running",
    "restarting",
    "none",
    "success",
    "skipped",
    "removed",
)
"""Which state a mapped task's instances show as one, first wins: Airflow's grid's order."""


def summary_state(states: Iterable[str]) -> str:
    """The one state that stands for a mapped task's instances (the most pressing, as
    Airflow's grid sums them up); "none" for no instances."""
    present = set(states)
    return next((s for s in _SUMMARY_ORDER if s in present), "none")


def instance_name(task_id: str, map_index: int) -> str:
    """A task instance as the command line and the dashboard name it: `task`, or `task[N]`
    for instance N of a mapped task."""
    return f"{task_id}[{map_index}]" if map_index >= 0 else task_id
