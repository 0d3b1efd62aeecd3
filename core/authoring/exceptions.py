"""Exceptions a task raises to end its attempt in a chosen state; the attempt runner in
`flowtui.execution.task_runner` turns them into outcomes. Airflow's names are kept as aliases,
and `AirflowException` is their base, as in Airflow: raised itself, it fails the task like any
other exception (retries apply)."""

from __future__ import annotations

from datetime import datetime


class AirflowException(Exception):
    """Airflow's base exception: `except AirflowException` also catches a skip or a fail, as
    there; raised itself, the task fails and is retried like with any other exception."""


class SkipTask(AirflowException):
    """Raise inside a task to end it as `skipped`; its downstream tasks follow their rules."""


class FailTask(AirflowException):
    """Raise inside a task to end it as `failed` at once, with no further retries."""


class SensorTimeout(FailTask):
    """A sensor's `timeout` passed before its condition was met: the task fails at once, with
    no retry, as Airflow's does."""


class Reschedule(AirflowException):
    """Raised by a sensor in reschedule mode whose condition is not met yet: its attempt ends
    `up_for_reschedule`, freeing its slot, and it pokes again at `reschedule_date` (or when
    one of `wake` happens: ("path", glob) a matching file appears, ("dag", id) that DAG's
    task instances change state)."""

    def __init__(self, reschedule_date: datetime, wake: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"poke again at {reschedule_date.isoformat()}")
        self.reschedule_date = reschedule_date
        self.wake = wake


AirflowSkipException = SkipTask
AirflowFailException = FailTask
AirflowSensorTimeout = SensorTimeout
AirflowRescheduleException = Reschedule


class TaskFailed(Exception):
    """What a failure or retry callback finds in `context["exception"]`: the attempt's failure,
    its message the one-line cause the scheduler recorded (the callback runs in a process of
    its own, after the attempt's ended)."""
