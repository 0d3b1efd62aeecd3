"""The home scheduler's account of its runs, one line each in its log: a run started, a run
ended (with its state), an attempt of a task failed (with its cause, and whether it will
retry). A listener of the scheduler (`Scheduler.add_listener`): what goes to the log is what
`flowtui scheduler -v` also prints on stderr."""

from __future__ import annotations

import logging

from flowtui.scheduling.changes import Change, RunStateChanged
from flowtui.states import RUN_FINISHED, RunState, TaskState

logger = logging.getLogger(__name__)

_FAILURES = {TaskState.FAILED: "failed", TaskState.UP_FOR_RETRY: "failed, up for retry"}


def log_changes(changes: list[Change]) -> None:
    """Log the runs that started or ended and the attempts that failed among `changes`."""
    for change in changes:
        if isinstance(change, RunStateChanged):
            if change.new is RunState.RUNNING and change.old is not RunState.RUNNING:
                logger.info("run %s of DAG %s started", change.run_id, change.dag_id)
            elif change.new in RUN_FINISHED and change.old not in RUN_FINISHED:
                logger.info("run %s of DAG %s ended: %s", change.run_id, change.dag_id, change.new)
        elif change.new in _FAILURES and change.old is not change.new:
            logger.warning(
                "task %s of DAG %s, run %s, try %d %s: %s",
                change.task_id,
                change.dag_id,
                change.run_id,
                change.try_number,
                _FAILURES[change.new],
                change.detail or "no cause recorded",
            )
