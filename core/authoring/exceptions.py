"""Exceptions a task raises to end its attempt in a chosen state; the attempt runner in
`flowtui.execution.task_runner` turns them into outcomes. Airflow's names are kept as aliases."""

from __future__ import annotations


class SkipTask(Exception):
    """Raise inside a task to end it as `skipped`; its downstream tasks follow their rules."""


class FailTask(Exception):
    """Raise inside a task to end it as `failed` at once, with no further retries."""


AirflowSkipException = SkipTask
AirflowFailException = FailTask


class TaskFailed(Exception):
    """What a failure or retry callback finds in `context["exception"]`: the attempt's failure,
    its message the one-line cause the scheduler recorded (the callback runs in a process of
    its own, after the attempt's ended)."""
