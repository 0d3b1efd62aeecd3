"""How an attempt's exit becomes its outcome: what the child reported, unless the scheduler was
stopping it (timeout, clear, mark); for a bash task, its exit code (0 success, a skip code
skipped, else failed); for a child that reported nothing, a failure naming how it ended."""

from __future__ import annotations

from flowtui.execution.base import AttemptExited, AttemptOutcome, bash_exit_outcome, describe_exit
from flowtui.spec import TaskSpec
from flowtui.states import TaskState


def outcome_of(
    exit: AttemptExited, task: TaskSpec | None, kill_cause: str | None
) -> AttemptOutcome:
    code = exit.exit_code
    if kill_cause:
        return AttemptOutcome(
            TaskState.FAILED, f"{kill_cause} ({describe_exit(code)})", exit_code=code
        )
    if exit.outcome is not None:
        return exit.outcome
    if task is not None and task.runs_bash:
        return bash_exit_outcome(code, task.skip_exit_codes)
    return AttemptOutcome(
        TaskState.FAILED,
        f"the task process {describe_exit(code)} without reporting a result",
        exit_code=code,
    )
