"""What a task's child process does for one attempt of an already-imported DAG: build the
context, render templates, call `execute`, and turn the result or exception into a
`TaskOutcome`. Spawning the process and storing the outcome belong to the executor."""

from __future__ import annotations

import copy
import os
import sys
import traceback
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowtui.authoring import variables
from flowtui.authoring.context import TaskInstance, build_context
from flowtui.authoring.exceptions import FailTask, SkipTask
from flowtui.authoring.operators.bash import BashOperator
from flowtui.authoring.xcom import RETURN_KEY
from flowtui.errors import FlowtuiError, TaskCallableFailed, TaskNotFound
from flowtui.execution import masking

if TYPE_CHECKING:
    from flowtui.authoring.baseoperator import BaseOperator
    from flowtui.authoring.dag import DAG

_MAX_ERROR = 1000


@dataclass(frozen=True)
class AttemptInfo:
    """Which attempt to run; dates are ISO-8601 strings, as the store keeps them."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    max_tries: int
    logical_date: str
    data_interval_start: str | None
    data_interval_end: str | None
    run_type: str
    conf: dict[str, Any]
    db_path: str
    prev_success: tuple[str | None, str | None] | None = None
    """Data interval (start, end) of the DAG's latest earlier successful run, when the
    scheduler already looked it up ((None, None): there is none); None: look it up here."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data, e.g. to send to a child process as JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttemptInfo:
        """The inverse of `to_dict`."""
        data = dict(data)
        if data.get("prev_success") is not None:
            data["prev_success"] = tuple(data["prev_success"])
        return cls(**data)


@dataclass
class TaskOutcome:
    """How one attempt ended, as the child reports it to the scheduler."""

    state: Literal["success", "skipped", "failed"]
    xcom: dict[str, Any] = field(default_factory=dict)
    """key -> JSON-able value: ti.xcom_push calls and the return value ("return_value")."""
    error: str | None = None
    """One line for the store; the full traceback went to stderr (the log)."""
    no_retry: bool = False
    """True after FailTask: the task fails now, whatever retries remain."""
    skip_task_ids: list[str] = field(default_factory=list)
    """Tasks the scheduler must set to skipped (branching, short-circuit)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskOutcome:
        """The inverse of `to_dict`."""
        return cls(
            state=data["state"],
            xcom=dict(data.get("xcom") or {}),
            error=data.get("error"),
            no_retry=bool(data.get("no_retry", False)),
            skip_task_ids=list(data.get("skip_task_ids") or []),
        )


def run_task(dag: DAG, info: AttemptInfo) -> TaskOutcome:
    """Run one attempt of `info.task_id` in this process and report how it ended.

    Never raises for the task's own errors: SkipTask gives `skipped`; FailTask `failed` with
    `no_retry`; template errors, non-JSON XComs and any other exception give `failed` with a
    one-line `error`, the traceback going to stderr. `SystemExit` raised by the task, even
    `sys.exit(0)`, is a failure ("task called sys.exit(0)"): a task ends by returning.
    XComs pushed before a failure or skip are kept in the outcome; the store decides.

    Values of secret-looking variables are masked (`***`) in what the task prints to
    sys.stdout / sys.stderr and in the outcome's `error` (see `flowtui.execution.masking`).
    """
    variables.configure(info.db_path)
    masker = _masker(info)
    with masking.masked_output(masker):
        outcome = _run_copy(dag, info)
    if masker and outcome.error:
        outcome.error = masker.mask(outcome.error)
    return outcome


def _masker(info: AttemptInfo) -> masking.Masker:
    """The attempt's secrets, read once: one stat when the store holds none (most runs)."""
    return masking.Masker(masking.secret_values(info.db_path, os.environ))


def _run_copy(dag: DAG, info: AttemptInfo) -> TaskOutcome:
    try:
        # A copy: rendering fields in place must not change the DAG this process keeps.
        task = copy.copy(dag.get_task(info.task_id))
    except TaskNotFound as exc:
        print(exc, file=sys.stderr)
        return TaskOutcome("failed", error=str(exc))
    ti = TaskInstance(info, task, _upstream_ids(dag, task))
    try:
        return _attempt(dag, task, info, ti)
    finally:
        ti.close()
        sys.stdout.flush()
        sys.stderr.flush()


def _attempt(dag: DAG, task: BaseOperator, info: AttemptInfo, ti: TaskInstance) -> TaskOutcome:
    try:
        context = build_context(dag, task, info, ti)
        task.render_template_fields(context)
        result = task.execute(context)
        if getattr(task, "show_return_value_in_logs", False):
            print(f"Returned value was: {result}")
        skip_task_ids = task.tasks_to_skip(result)
        _push_result(task, ti, result)
    except SkipTask as exc:
        print(f"Skipping the task: {exc}" if str(exc) else "Skipping the task")
        return TaskOutcome("skipped", ti.pushed)
    except FailTask as exc:
        traceback.print_exc()
        return TaskOutcome("failed", ti.pushed, _one_line(exc), no_retry=True)
    except FlowtuiError as exc:
        traceback.print_exc()
        return TaskOutcome("failed", ti.pushed, _shorten(str(exc)))
    except SystemExit as exc:
        traceback.print_exc()
        return TaskOutcome("failed", ti.pushed, f"task called sys.exit({exc.code!r})")
    except Exception as exc:
        traceback.print_exc()
        return TaskOutcome("failed", ti.pushed, _one_line(exc))
    return TaskOutcome("success", ti.pushed, skip_task_ids=skip_task_ids)


def _push_result(task: BaseOperator, ti: TaskInstance, result: Any) -> None:
    if not task.do_xcom_push or result is None:
        return
    ti.xcom_push(RETURN_KEY, result)
    if task.multiple_outputs:
        if not isinstance(result, dict):
            raise TypeError(
                f"multiple_outputs needs a dict return value, got {type(result).__name__}"
            )
        for key, value in result.items():
            if not isinstance(key, str):
                raise TypeError(f"multiple_outputs needs string keys, got {key!r}")
            ti.xcom_push(key, value)


def bash_invocation(dag: DAG, info: AttemptInfo) -> tuple[list[str], dict[str, str], str | None]:
    """Render a bash task for one attempt and return (argv, env, cwd) to exec bash with.

    For `@task.bash` this calls the function (pulling its XCom arguments from the store);
    XComs it pushes are dropped. SkipTask and FailTask raised by that function propagate.
    When secret variables exist, the argv runs bash under the masking filter (`python
    masking.py -- bash -c CMD`), and the messages of errors raised here are masked too;
    otherwise bash is exec'd directly.

    Raises:
        FlowtuiError: a template error, a missing task, or the @task.bash function failed
            (`TaskCallableFailed`, one line).
        TypeError: the task is not a bash task (`TaskSpec.runs_bash` is False).
    """
    variables.configure(info.db_path)
    original = dag.get_task(info.task_id)
    if not isinstance(original, BashOperator):
        raise TypeError(f"task {info.task_id!r} is a {type(original).__name__}, not a bash task")
    task = copy.copy(original)
    ti = TaskInstance(info, task, _upstream_ids(dag, task))
    masker = _masker(info)
    try:
        context = build_context(dag, task, info, ti)
        task.render_template_fields(context)
        argv, env, cwd = task.bash_invocation(context)
    except (FlowtuiError, SkipTask, FailTask) as exc:
        _mask_message(exc, masker)
        raise
    except Exception as exc:
        failed = TaskCallableFailed(info.task_id, exc)
        _mask_message(failed, masker)
        raise failed from exc
    finally:
        ti.close()
    # The environment bash gets may hold more FLOWTUI_VAR_ secrets than this process's.
    values = [*masker.values, *masking.env_secret_values(env)]
    argv, env = masking.filtered(argv, env, values)
    return argv, env, cwd


def _mask_message(exc: BaseException, masker: masking.Masker) -> None:
    """The message goes to the log and to the store: hide secrets in it."""
    if masker:
        exc.args = tuple(masker.mask(a) if isinstance(a, str) else a for a in exc.args)


def _upstream_ids(dag: DAG, task: BaseOperator) -> list[str]:
    """The task's direct upstream in definition order, without walking the whole DAG: an
    attempt forked from a process holding a 10,000-task DAG must not touch all of it."""
    order = dag.task_order or {t: i for i, t in enumerate(dag.task_dict)}
    return sorted(task.upstream_task_ids, key=order.__getitem__)


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    return _shorten(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _shorten(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_ERROR else line[: _MAX_ERROR - 1] + "…"
