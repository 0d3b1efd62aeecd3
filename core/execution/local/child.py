"""What a child of the fork server does: lead a session of its own, send its output to a log,
run one attempt (or parse one DAG file), and write its result as JSON to the pipe the server
reads. Every function here runs in the child and ends it with `os._exit`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from flowtui.execution.base import AttemptOutcome
from flowtui.execution.local.protocol import ParseJob, RunJob, write_all
from flowtui.execution.logs import flowtui_line, send_output_to
from flowtui.loading.parse import ImportProblem, ParseReport
from flowtui.states import TaskState

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG

_START_FAILED = 70
"""Exit code of a child that failed before it could report a result."""


def run_job(job: RunJob | ParseJob, result_fd: int, preloaded: dict[str, DAG] | None) -> NoReturn:
    """Become the job's process: called right after the fork; never returns."""
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's usual handler
        log = job.log_path if isinstance(job, RunJob) else job.request.log
        _redirect_output(log, result_fd)
        if isinstance(job, ParseJob):
            from flowtui.loading.dag_file import parse_here

            _write_result(result_fd, parse_here(Path(job.request.path)).to_json())
        else:
            _write_result(result_fd, _run_attempt(job, preloaded))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except BaseException as exc:
        _report_start_failure(job, result_fd, exc)
    finally:
        os._exit(_START_FAILED)


def _run_attempt(job: RunJob, preloaded: dict[str, DAG] | None) -> dict[str, Any]:
    """Run the attempt and return its outcome; a bash task never returns (bash replaces us)."""
    from flowtui.authoring.exceptions import FailTask, SkipTask
    from flowtui.execution.task_runner import bash_invocation, run_task, skip_or_fail_outcome
    from flowtui.loading.dag_file import dags_by_id, describe_import_error

    request = job.request
    info = request.info
    print(
        flowtui_line(
            f"{info.dag_id}.{info.task_id} run {info.run_id} attempt {info.try_number} of "
            f"{info.max_tries + 1}, pid {os.getpid()}"
        ),
        flush=True,
    )
    try:
        dags = preloaded or dags_by_id(Path(request.file))
        dag = dags[info.dag_id]
        if request.runs_bash:
            argv, env, cwd = bash_invocation(dag, info)
            sys.stdout.flush()
            if cwd:
                os.chdir(cwd)
            for signum in (signal.SIGINT, signal.SIGPIPE):  # ignored signals survive exec
                signal.signal(signum, signal.SIG_DFL)
            os.execvpe(argv[0], argv, env)
        outcome = run_task(dag, info)
    except (SkipTask, FailTask) as exc:  # raised by a @task.bash function before bash starts
        outcome = skip_or_fail_outcome(exc)
    except BaseException as exc:
        problem = describe_import_error(exc, Path(request.file))
        where = f" (line {problem.line})" if problem.line else ""
        print(f"[flowtui] could not start the task{where}: {problem.message}", file=sys.stderr)
        outcome = AttemptOutcome(TaskState.FAILED, problem.message)
    return outcome.to_json()


def _report_start_failure(job: RunJob | ParseJob, result_fd: int, exc: BaseException) -> None:
    """The child failed before the job could run: say why, in the log and the result."""
    what = "the DAG file's import" if isinstance(job, ParseJob) else "the attempt"
    message = f"{what} could not start: {type(exc).__name__}: {exc}"
    with contextlib.suppress(Exception):
        print(f"[flowtui] {message}", file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        if isinstance(job, ParseJob):
            result = ParseReport(problem=ImportProblem(None, message)).to_json()
        else:
            result = AttemptOutcome(TaskState.FAILED, message).to_json()
        _write_result(result_fd, result)


def _redirect_output(log: str, result_fd: int) -> None:
    send_output_to(log)
    os.closerange(3, result_fd)  # every inherited fd but the result pipe
    os.closerange(result_fd + 1, 1 << 16)


def _write_result(result_fd: int, result: dict[str, Any]) -> None:
    write_all(result_fd, json.dumps(result).encode())
    os.close(result_fd)
