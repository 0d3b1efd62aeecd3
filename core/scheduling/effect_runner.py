"""Carrying out what the run book's transitions ask of the world once their transaction has
committed (`effects`): stopping attempts (SIGTERM now, SIGKILL after the grace period), timers
for retries and for sensors' next pokes, what wakes a waiting sensor early, alerts, callbacks
and the deadlines of runs that just started. Each kind goes to the part that owns it, none of
which blocks the loop; the effects that need no scheduler are `plain_effects`'."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from flowtui.config import Settings
from flowtui.execution.base import Executor
from flowtui.execution.callbacks import CallbackRunner
from flowtui.execution.logs import append_line
from flowtui.loading.parse import Preload
from flowtui.scheduling import deadlines
from flowtui.scheduling.active_run import RunKey
from flowtui.scheduling.alert_delivery import AlertDelivery
from flowtui.scheduling.callbacks import CALLBACK_TIMEOUT, Callbacks
from flowtui.scheduling.changes import Change, RunStateChanged
from flowtui.scheduling.effects import (
    Effect,
    KillAttempt,
    RescheduleAt,
    RetryAt,
    RunCallback,
    SendAlert,
)
from flowtui.scheduling.messages import EscalateDue, Message, RescheduleDue, RetryDue
from flowtui.scheduling.plain_effects import carry_out, stop_unwatched
from flowtui.scheduling.run_book import RunBook
from flowtui.scheduling.sensor_wakes import SensorWakes
from flowtui.states import RunState


class EffectRunner:
    """The scheduler's hands once a batch has committed. `post` puts a message in the loop's
    inbox (a callback that ended, a sensor to wake)."""

    def __init__(
        self,
        settings: Settings,
        executor: Executor,
        callback_runner: CallbackRunner,
        at: Callable[[datetime, Message], None],
        clock: Callable[[], datetime],
        post: Callable[[Message], None],
    ) -> None:
        self.settings = settings
        self.executor = executor
        self.at = at
        """Sets a timer: `at(when, message)` puts `message` in the inbox at `when`."""
        self.clock = clock
        self.alerts = AlertDelivery(settings, clock)
        """Mail and webhooks, sent from threads of their own."""
        self.callbacks = Callbacks(settings, callback_runner, post)
        """Task and DAG callbacks, run in processes of their own."""
        self.sensor_wakes = SensorWakes(post)
        """What ends the wait of sensors in reschedule mode early."""

    def run(self, effects: list[Effect], preload: Mapping[str, Preload]) -> None:
        for effect in effects:
            if carry_out(effect, self.settings.db_path):
                continue
            match effect:
                case KillAttempt(key, cause, log_path):
                    if self.executor.stop_attempt(key, force=False):
                        if log_path:
                            text = f"stopping the attempt: {cause}; sending SIGTERM"
                            append_line(log_path, text)
                        grace = timedelta(seconds=self.settings.task_kill_grace_seconds)
                        self.at(self.clock() + grace, EscalateDue(key))
                    else:  # an attempt another process runs (`dags test`)
                        stop_unwatched(effect)
                case RetryAt(failed, when):
                    self.at(when, RetryDue(failed))
                case RescheduleAt(sensor, when, wake, since):
                    self.at(when, RescheduleDue(sensor))
                    self.sensor_wakes.watch(sensor, wake, since)
                case SendAlert(notice):
                    self.alerts.submit(notice)
                case RunCallback():
                    self.callbacks.start(effect, preload)

    def changed(self, book: RunBook, changes: list[Change]) -> None:
        """After a committed batch: wake the sensors waiting on what changed, and set the
        deadlines of the runs that just started."""
        self.sensor_wakes.changed(changes)
        for change in changes:
            if isinstance(change, RunStateChanged) and change.new is RunState.RUNNING:
                run = book.runs.get(RunKey(change.dag_id, change.run_id))
                if run is not None:
                    deadlines.arm(self.at, run, self.clock(), set())

    def wait_for_callbacks(self, *, foreground: bool) -> None:
        """Let the callbacks in flight end: a foreground command waits for them (its user
        tests them), the home's scheduler gives them a few seconds."""
        self.callbacks.wait(CALLBACK_TIMEOUT + 1.0 if foreground else _CALLBACK_GRACE)

    def stop(self) -> None:
        """The scheduler stops: what is queued for delivery gets its grace period; nothing
        wakes sensors any more."""
        self.alerts.stop()
        self.sensor_wakes.stop()


_CALLBACK_GRACE = 5.0
"""Seconds the home's scheduler waits, when it stops, for the callbacks still running."""
