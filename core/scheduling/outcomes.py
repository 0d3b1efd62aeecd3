"""How an attempt's exit becomes its outcome: what the child reported, unless the scheduler was
stopping it (timeout, clear, mark); for a bash task, its exit code (0 success, a skip code
skipped, else failed); for a child that reported nothing, a failure naming how it ended."""

from __future__ import annotations

import signal

from flowtui.execution.base import AttemptExited, AttemptOutcome
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
        if code == 0:
            return AttemptOutcome(TaskState.SUCCESS, exit_code=code)
        if code in task.skip_exit_codes:
            return AttemptOutcome(
                TaskState.SKIPPED, f"bash exited with {code}: skipped", exit_code=code
            )
        return AttemptOutcome(TaskState.FAILED, f"bash {describe_exit(code)}", exit_code=code)
    return AttemptOutcome(
        TaskState.FAILED,
        f"the task process {describe_exit(code)} without reporting a result",
        exit_code=code,
    )


def describe_exit(code: int | None) -> str:
    """ "exited with code 3", "was killed by SIGKILL"."""
    if code is None:
        return "ended"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"
