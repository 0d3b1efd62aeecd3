"""What a child of the fork server does: lead a session of its own, claim the attempt's ticket
(`execution.ticket`: a try runs once; a try claimed before is declined), send its output to a
log, run one attempt (bash as its own child, waited for), parse one DAG file or run one
callback job, stop what the task left running, and record its outcome in the ticket and then
in the pipe the server reads. Every function here runs in the child and ends it with
`os._exit`; `Child` is the fork server's side of it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from flowtui.config import restore_user_umask
from flowtui.execution import leftovers, ticket
from flowtui.execution.base import AttemptOutcome, AttemptRequest, bash_exit_outcome
from flowtui.execution.callbacks import CallbackReport
from flowtui.execution.local.protocol import CallbackJob, ParseJob, RunJob, write_all
from flowtui.execution.logs import flowtui_line, last_line, send_output_to
from flowtui.execution.ticket import ticket_path
from flowtui.loading.parse import ImportProblem, ParseReport
from flowtui.records import Record
from flowtui.states import TaskState

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG
    from flowtui.execution.task_runner import BashInvocation

START_FAILED = 70
"""Exit code of a child that failed before it could report a result."""


class Child(Record):
    """The fork server's side of one child: its job, and its result, read as it comes. (Not a
    dataclass: the fork server would import dataclasses, and inspect with it, before its first
    fork.)"""

    __slots__ = _fields = ("job", "result_fd", "ticket", "deadline", "timed_out", "result")

    def __init__(
        self,
        job: int,
        result_fd: int,
        ticket: str | None = None,
        deadline: float | None = None,
        timed_out: bool = False,
    ) -> None:
        self.job = job
        self.result_fd = result_fd
        """Read end of the child's result pipe; -1 once closed."""
        self.ticket = ticket
        """An attempt's ticket (`execution.ticket`), where its exit is written if nobody
        listens."""
        self.deadline = deadline
        self.timed_out = timed_out
        self.result = bytearray()

    def drain(self) -> None:
        """Read what the child wrote so far; close the pipe at its end."""
        while self.result_fd >= 0:
            try:
                chunk = os.read(self.result_fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:
                self.close()
                return
            self.result += chunk

    def close(self) -> None:
        if self.result_fd >= 0:
            os.close(self.result_fd)
            self.result_fd = -1

    def take_result(self) -> dict[str, Any] | None:
        import json

        self.drain()
        self.close()
        try:
            result: dict[str, Any] = json.loads(self.result)
        except ValueError:
            return None
        return result


def become_attempt_process() -> None:
    """What every child does first, before its job matters: lead a session (and process group)
    of its own, and take signals as a task expects them."""
    os.setsid()
    take_task_signals()


def take_task_signals() -> None:
    """Signals as a task expects them, whatever the process that started this one set."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # the fork server ignores it; tasks do not
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a stop ends the task
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's usual handler


def run_job(
    job: RunJob | ParseJob | CallbackJob,
    result_fd: int,
    preloaded: dict[str, DAG] | None,
    *,
    prepared: bool = False,
    keep: tuple[int, ...] = (),
) -> NoReturn:
    """Become the job's process: called right after the fork (or, `prepared`, in a spare that
    did `become_attempt_process` before its job came); never returns. An attempt's fds in
    `keep` stay open (a remote attempt's way to the store)."""
    claimed: int | None = None
    try:
        if not prepared:
            become_attempt_process()
        if isinstance(job, ParseJob):
            from flowtui.loading.dag_file import parse_here

            _redirect_output(job.request.log, result_fd)
            _write_result(result_fd, parse_here(Path(job.request.path)).to_json())
            os._exit(0)
        if isinstance(job, CallbackJob):
            _redirect_output(job.log_path, result_fd)
            _write_result(result_fd, _run_callbacks(job, preloaded).to_json())
            os._exit(0)
        request = job.request
        taken = ticket.claim(ticket_path(request.log_path), request.queued_at)
        if isinstance(taken, ticket.Declined):  # this try ran, or runs, elsewhere
            declined = {"declined": taken.state.to_json(), "conflict": taken.conflict}
            _write_result(result_fd, declined)
            os._exit(0)
        claimed = taken
        _redirect_output(request.log_path, result_fd, claimed, *keep)
        leftovers.become_subreaper()
        restore_user_umask()  # flowtui's files are private; the task's are the user's
        outcome = _run_attempt(request, preloaded)
        leftovers.stop_leftovers(request.kill_grace)
        _finish(claimed, result_fd, outcome)
    except BaseException as exc:
        _report_start_failure(job, result_fd, claimed, exc)
    finally:
        os._exit(START_FAILED)


def _finish(claimed: int, result_fd: int, outcome: AttemptOutcome) -> NoReturn:
    """Record the outcome in the ticket (durable: whoever watches may be gone), then report it
    to the fork server, then end as the task's process ended (a bash task's exit code, or the
    signal that killed it)."""
    data = json.dumps(outcome.to_json()).encode()
    with contextlib.suppress(OSError):  # a full disk: the pipe still carries it
        ticket.record_outcome(claimed, data)
    with contextlib.suppress(OSError):  # the fork server is gone: the ticket has it
        write_all(result_fd, data)
        os.close(result_fd)
    sys.stdout.flush()
    sys.stderr.flush()
    code = outcome.exit_code or 0
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)


def _run_attempt(request: AttemptRequest, preloaded: dict[str, DAG] | None) -> AttemptOutcome:
    """Run the attempt and return its outcome; a bash task runs as a child of this process,
    which waits for it (so that its exit code is recorded even if the fork server is gone)."""
    from flowtui.authoring.exceptions import FailTask, SkipTask
    from flowtui.execution.task_runner import bash_invocation, run_task, skip_or_fail_outcome
    from flowtui.loading.dag_file import describe_import_error

    info = request.info
    print(
        flowtui_line(
            f"{info.dag_id}.{info.task_id} run {info.run_id} attempt {info.try_number} of "
            f"{info.max_tries + 1}, pid {os.getpid()}"
        ),
        flush=True,
    )
    try:
        dag = (preloaded or _import_dags(request.file))[info.dag_id]
        if request.runs_bash:
            bash = bash_invocation(dag, info)
            return _bash_attempt(dag.get_task(info.task_id), bash, request)
        return run_task(dag, info)
    except (SkipTask, FailTask) as exc:  # raised by a @task.bash function before bash starts
        return skip_or_fail_outcome(exc)
    except BaseException as exc:
        problem = describe_import_error(exc, Path(request.file))
        where = f" (line {problem.line})" if problem.line else ""
        print(f"[flowtui] could not start the task{where}: {problem.message}", file=sys.stderr)
        return AttemptOutcome(TaskState.FAILED, problem.message)


def _bash_attempt(task: object, bash: BashInvocation, request: AttemptRequest) -> AttemptOutcome:
    """Run a bash task's command; on success its last line of output (read back from the log
    it went to) is XCom `return_value` unless the task says `do_xcom_push=False`, as Airflow's
    BashOperator returns it. A failure goes to the task's `retry_policy` as the exception
    Airflow's BashOperator raises."""
    from flowtui.authoring.exceptions import AirflowException
    from flowtui.authoring.xcom import RETURN_KEY
    from flowtui.execution.task_runner import apply_retry_policy

    sys.stdout.flush()
    start = os.fstat(1).st_size  # stdout is the attempt's log (`_redirect_output`)
    code = _run_bash(bash.argv, bash.env, bash.cwd)
    outcome = bash_exit_outcome(code, getattr(task, "skip_exit_codes", ()))
    outcome = outcome._replace(xcom=bash.xcom, rendered=bash.rendered)
    if outcome.state is TaskState.SUCCESS and getattr(task, "do_xcom_push", True):
        return outcome._replace(xcom={**bash.xcom, RETURN_KEY: last_line(request.log_path, start)})
    if outcome.state is TaskState.FAILED:
        exc = AirflowException(f"Bash command failed. The command returned exit code {code}.")
        return apply_retry_policy(task, exc, outcome, request.info, None)
    return outcome


def _run_callbacks(job: CallbackJob, preloaded: dict[str, DAG] | None) -> CallbackReport:
    from flowtui.execution.callback_runner import run_callbacks
    from flowtui.loading.dag_file import describe_import_error

    request = job.request
    try:
        dag = (preloaded or _import_dags(request.file))[request.info.dag_id]
    except BaseException as exc:
        problem = describe_import_error(exc, Path(request.file))
        message = f"{request.name} could not run: {problem.message}"
        print(flowtui_line(message), file=sys.stderr, flush=True)
        return CallbackReport(errors=(message,))
    return run_callbacks(dag, request)


def _import_dags(file: str) -> dict[str, DAG]:
    """Import the DAG file here, as the fork server did not. Its import may set secrets in
    os.environ: this process's masker scans it rather than take the server's findings."""
    from flowtui.execution import masking
    from flowtui.loading.dag_file import dags_by_id

    masking.forget_environment()
    return dags_by_id(Path(file))


def _run_bash(argv: list[str], env: dict[str, str], cwd: str | None) -> int:
    """Run bash and return how it ended (< 0: the signal that killed it). A SIGTERM sent to
    the attempt's group stops bash; this process waits for it to record the outcome."""
    sys.stdout.flush()
    if cwd:
        os.chdir(cwd)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    defaults = (signal.SIGINT, signal.SIGPIPE, signal.SIGTERM)  # ignored here, not in bash
    pid = os.posix_spawnp(argv[0], argv, env, setsigdef=defaults)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _report_start_failure(
    job: RunJob | ParseJob | CallbackJob, result_fd: int, claimed: int | None, exc: BaseException
) -> None:
    """The child failed before the job could run: say why, in the log, the ticket and the
    result."""
    what = {ParseJob: "the DAG file's import", CallbackJob: "the callback"}.get(type(job))
    message = f"{what or 'the attempt'} could not start: {type(exc).__name__}: {exc}"
    with contextlib.suppress(Exception):
        print(f"[flowtui] {message}", file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        if isinstance(job, ParseJob):
            result = ParseReport(problem=ImportProblem(None, message)).to_json()
        elif isinstance(job, CallbackJob):
            result = CallbackReport(errors=(message,)).to_json()
        else:
            result = AttemptOutcome(TaskState.FAILED, message).to_json()
            if claimed is not None:
                ticket.record_outcome(claimed, json.dumps(result).encode())
        _write_result(result_fd, result)


def _redirect_output(log: str, *keep: int) -> None:
    """Output to the log; every inherited fd closed but 0-2 and `keep`."""
    send_output_to(log)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _write_result(result_fd: int, result: dict[str, Any]) -> None:
    write_all(result_fd, json.dumps(result).encode())
    os.close(result_fd)
