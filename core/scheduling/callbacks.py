"""Callbacks, with Airflow's semantics: which transitions run a task's `on_success_callback`,
`on_failure_callback` (no retry left) and `on_retry_callback`, and a DAG's
`on_success_callback` / `on_failure_callback` when a run ends, as `RunCallback` effects the run
book keeps until its transaction commits; and `Callbacks`, the service's side, which hands each
to the fork server as a callback job (`execution.callbacks`: a process of its own, a time limit)
and reports how it ended, to be recorded as a `callback` event.

A callback never stops or slows the loop: it runs while the scheduler goes on. A user's mark
runs none (as in Airflow); a retry or a failure runs the task's callback whatever ended the
attempt (an exception, a timeout, a kill, a crash), since the scheduler, not the attempt, runs
it. A callback whose state change committed just before the scheduler was killed is not run."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping

from flowtui.config import Settings
from flowtui.execution.base import AttemptInfo
from flowtui.execution.callbacks import CallbackExit, CallbackRequest, CallbackRunner
from flowtui.execution.logs import append_line
from flowtui.loading.parse import Preload
from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.effects import RunCallback
from flowtui.scheduling.messages import CallbackEnded
from flowtui.scheduling.run_book import RunBook
from flowtui.spec import TaskSpec
from flowtui.states import RunState, TaskState

CALLBACK_TIMEOUT = 60.0
"""Seconds a callback may run before its process is killed."""

_TASK_KINDS = {
    "success": "on_success_callback",
    "failure": "on_failure_callback",
    "retry": "on_retry_callback",
}


def plan_task(
    book: RunBook,
    run: ActiveRun,
    ti: TI,
    task: TaskSpec | None,
    event: str,
    error: str | None = None,
) -> None:
    """`ti`'s attempt ended for `event` (success, failure, retry): run the task's callback."""
    kind = _TASK_KINDS[event]
    if task is None or kind not in task.callbacks:
        return
    book.effects.append(
        RunCallback(
            run,
            ti.task_id,
            ti.try_number,
            ti.max_tries,
            ti.log_path,
            kind,
            error=error,
            map_index=ti.map_index,
        )
    )


def plan_dag(book: RunBook, run: ActiveRun, reason: str) -> None:
    """`run` just ended (its state set): run its DAG's callback. `reason` as Airflow gives it:
    "success", "task_failure" or "timed_out"."""
    kind = "on_success_callback" if run.state is RunState.SUCCESS else "on_failure_callback"
    if kind not in run.spec.callbacks or next(run.all_tis(), None) is None:
        return
    ti = _deciding(run)
    book.effects.append(
        RunCallback(
            run,
            ti.task_id,
            ti.try_number,
            ti.max_tries,
            None,
            kind,
            True,
            reason=reason,
            map_index=ti.map_index,
        )
    )


def _deciding(run: ActiveRun) -> TI:
    """The task instance whose context a DAG's callback gets: the first failed one (in
    definition order) of a failed run, else its last task."""
    tis = [ti for t in run.spec.tasks for ti in run.instances(t)] or list(run.all_tis())
    if run.state is not RunState.SUCCESS:
        for state in (TaskState.FAILED, TaskState.UPSTREAM_FAILED):
            failed = [ti for ti in tis if ti.state is state]
            if failed:
                return failed[0]
    return tis[-1]


class Callbacks:
    """The service's side: starts callback jobs and waits for those in flight at stop."""

    def __init__(
        self,
        settings: Settings,
        runner: CallbackRunner,
        report: Callable[[CallbackEnded], None],
        timeout: float = CALLBACK_TIMEOUT,
    ) -> None:
        self.settings = settings
        self._runner = runner
        self._report = report
        self._timeout = timeout
        self._in_flight = 0
        self._idle = threading.Condition()

    def start(self, effect: RunCallback, preload: Mapping[str, Preload]) -> None:
        run = effect.run
        info = AttemptInfo(
            run.dag_id,
            effect.task_id,
            run.run_id,
            effect.try_number,
            effect.max_tries,
            run.logical_date,
            run.data_interval_start,
            run.data_interval_end,
            run.run_type,
            run.conf,
            str(self.settings.db_path),
            run.prev_success,
            map_index=effect.map_index,
        )
        log = effect.log_path
        if effect.dag_level or not log:
            log = f"{self.settings.logs_dir}/{run.dag_id}/{run.run_id}/dag_callbacks.log"
        request = CallbackRequest(
            run.spec.fileloc,
            effect.kind,
            info,
            log,
            effect.dag_level,
            effect.error,
            effect.reason,
            preload.get(run.spec.fileloc, ""),
            self._timeout,
        )
        with self._idle:
            self._in_flight += 1
        self._runner.run_callback(request, functools.partial(self._ended, request))

    def _ended(self, request: CallbackRequest, exit: CallbackExit) -> None:
        """On the executor's thread: say in the log what the callback's own output cannot
        (it was killed, it crashed), and tell the loop."""
        if exit.report is None:
            append_line(request.log_path, exit.describe(request))
        try:
            self._report(CallbackEnded(request, exit))
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the callbacks in flight; whether none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)
