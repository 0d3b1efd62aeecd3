"""What a task's child process does for one attempt of an already-imported DAG: build the
context, render templates, call `execute`, and turn the result or exception into an
`AttemptOutcome`. Spawning the process and storing the outcome belong to the executor and the
scheduler."""

from __future__ import annotations

import copy
import sys
import traceback
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.authoring import variables
from flowtui.authoring.baseoperator import BaseOperator, Context, as_operator
from flowtui.authoring.context import TaskInstance, build_context
from flowtui.authoring.current_context import set_current_context
from flowtui.authoring.exceptions import FailTask, Reschedule, SkipTask
from flowtui.authoring.operators.bash import BashOperator
from flowtui.authoring.xcom import RETURN_KEY
from flowtui.clock import to_text
from flowtui.errors import FlowtuiError, TaskCallableFailed, TaskNotFound, one_line
from flowtui.execution import masking
from flowtui.execution.base import AttemptInfo, AttemptOutcome
from flowtui.execution.mask_filter import Masker
from flowtui.execution.rendered_fields import rendered_fields
from flowtui.states import TaskState

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG

_MAX_ERROR = 1000


def run_task(dag: DAG, info: AttemptInfo) -> AttemptOutcome:
    """Run one attempt of `info.task_id` in this process and report how it ended.

    Never raises for the task's own errors: SkipTask gives `skipped`; FailTask `failed` with
    `no_retry`; template errors, non-JSON XComs and any other exception give `failed` with a
    one-line `cause`, the traceback going to stderr. `SystemExit` raised by the task, even
    `sys.exit(0)`, is a failure ("task called sys.exit(0)"): a task ends by returning.
    XComs pushed before a failure or skip are kept in the outcome; the store decides.

    Values of secret-looking variables are masked (`***`) in what the task prints to
    sys.stdout / sys.stderr and in the outcome's `cause` (see `flowtui.execution.masking`).
    """
    variables.configure(info.db_path)
    masker = secrets_masker(info)
    with masking.masked_output(masker):
        outcome = _run_copy(dag, info, masker)
    if masker and outcome.cause:
        return outcome._replace(cause=masker.mask(outcome.cause))
    return outcome


def secrets_masker(info: AttemptInfo) -> Masker:
    """The attempt's secrets, read once: one stat when the store holds none (most runs)."""
    return Masker(masking.attempt_secret_values(info.db_path))


def _run_copy(dag: DAG, info: AttemptInfo, masker: Masker) -> AttemptOutcome:
    try:
        # A copy: rendering fields in place must not change the DAG this process keeps.
        task = copy.copy(as_operator(dag.get_task(info.task_id)))
    except TaskNotFound as exc:
        print(exc, file=sys.stderr)
        return AttemptOutcome(TaskState.FAILED, str(exc))
    ti = TaskInstance(info, task, upstream_ids(dag, task))
    try:
        return _attempt(dag, task, info, ti, masker)
    finally:
        ti.close()
        sys.stdout.flush()
        sys.stderr.flush()


def _attempt(
    dag: DAG, task: BaseOperator, info: AttemptInfo, ti: TaskInstance, masker: Masker
) -> AttemptOutcome:
    rendered: dict[str, Any] = {}
    context: Context | None = None
    try:
        task = _concrete(task, ti)
        context = build_context(dag, task, info, ti)
        with set_current_context(context):  # get_current_context(), as Airflow sets it
            task.render_template_fields(context)
            rendered = rendered_fields(task, masker)
            call_execute_callbacks(task, context)
            result = task.execute(context)
            if getattr(task, "show_return_value_in_logs", False):
                print(f"Returned value was: {result}")
            skip_task_ids = task.tasks_to_skip(result)
            if not skip_task_ids:  # as Airflow 3: a task that skips others returns no XCom
                _push_result(task, ti, result)
            if "mapped_outputs" in vars(dag):  # a mapped task may map over what it pushed
                from flowtui.authoring.mapping import check_pushed

                check_pushed(dag, task.task_id, ti.pushed)
            asset_events = context["outlet_events"].events(task.outlets)
    except (SkipTask, FailTask) as exc:
        return skip_or_fail_outcome(exc, ti.pushed)._replace(rendered=rendered)
    except Reschedule as exc:  # a sensor in reschedule mode: its condition is not met yet
        when = to_text(exc.reschedule_date)
        return AttemptOutcome(
            TaskState.UP_FOR_RESCHEDULE, reschedule_at=when, wake=exc.wake, rendered=rendered
        )
    except FlowtuiError as exc:
        traceback.print_exc()
        cause = one_line(str(exc), _MAX_ERROR)
        failed = AttemptOutcome(TaskState.FAILED, cause, xcom=ti.pushed, rendered=rendered)
        return apply_retry_policy(task, exc, failed, info, context)
    except SystemExit as exc:
        traceback.print_exc()
        cause = f"task called sys.exit({exc.code!r})"
        return AttemptOutcome(TaskState.FAILED, cause, xcom=ti.pushed, rendered=rendered)
    except Exception as exc:
        traceback.print_exc()
        failed = AttemptOutcome(
            TaskState.FAILED, error_line(exc), xcom=ti.pushed, rendered=rendered
        )
        return apply_retry_policy(task, exc, failed, info, context)
    return AttemptOutcome(
        TaskState.SUCCESS,
        xcom=ti.pushed,
        skip_task_ids=tuple(skip_task_ids),
        asset_events=asset_events,
        rendered=rendered,
    )


def _concrete(task: BaseOperator, ti: TaskInstance) -> BaseOperator:
    """The operator the attempt runs: a mapped task's instance `ti.map_index`, built from its
    arguments and its element of what it maps over; any other task itself."""
    if not task.is_mapped:
        return task
    from flowtui.authoring.mapping import unmap

    ti.task = unmap(task, ti.map_index, {"ti": ti})
    return ti.task


def apply_retry_policy(
    task: object,
    exc: BaseException,
    outcome: AttemptOutcome,
    info: AttemptInfo,
    context: Context | None,
) -> AttemptOutcome:
    """The failed `outcome` as the task's `retry_policy` decides after `exc` (Airflow 3.3):
    FAIL fails it now, RETRY with a delay sets when the retry comes (still within `retries`),
    DEFAULT (or no policy) leaves it. A policy that raises is logged and counts as DEFAULT."""
    policy = getattr(task, "retry_policy", None)
    if policy is None:
        return outcome
    from flowtui.authoring.retry_policy import RetryAction

    try:
        decision = policy.evaluate(exc, info.try_number, info.max_tries, context)
        action = RetryAction(getattr(decision, "action", decision))
    except Exception:
        print("[flowtui] retry_policy raised; the task's retries apply:", file=sys.stderr)
        traceback.print_exc()
        return outcome
    print(f"Retry policy decision action={action.value} reason={decision.reason}")
    if action is RetryAction.FAIL:
        return outcome._replace(no_retry=True)
    if action is RetryAction.RETRY and decision.retry_delay is not None:
        return outcome._replace(retry_delay=decision.retry_delay.total_seconds())
    return outcome


def call_execute_callbacks(task: BaseOperator, context: Context) -> None:
    """Call the task's `on_execute_callback`s just before it executes, as Airflow does; one
    that raises is logged with its traceback and does not stop the task."""
    for callable_ in task.on_execute_callback:
        try:
            callable_(context)
        except Exception:
            print("[flowtui] on_execute_callback raised; the task runs on:", file=sys.stderr)
            traceback.print_exc()


def skip_or_fail_outcome(
    exc: SkipTask | FailTask, xcom: Mapping[str, Any] = MappingProxyType({})
) -> AttemptOutcome:
    """The outcome of a task that raised SkipTask (skipped) or FailTask (failed now, whatever
    retries remain, with a one-line cause), in `execute` or in a @task.bash function before
    bash starts; the log says which (the skip's message, FailTask's traceback)."""
    if isinstance(exc, SkipTask):
        print(f"Skipping the task: {exc}" if str(exc) else "Skipping the task")
        return AttemptOutcome(TaskState.SKIPPED, xcom=xcom)
    traceback.print_exception(exc)
    return AttemptOutcome(TaskState.FAILED, error_line(exc), True, xcom)


def _push_result(task: BaseOperator, ti: TaskInstance, result: Any) -> None:
    """Push the return value as `return_value`, and with `multiple_outputs` each key of it
    before, as Airflow does; a value that is no dict with string keys fails the task with
    nothing pushed."""
    if not task.do_xcom_push or result is None:
        return
    if task.multiple_outputs:
        if not isinstance(result, Mapping):
            raise TypeError(
                f"multiple_outputs needs a dict return value, got {type(result).__name__}"
            )
        bad = [key for key in result if not isinstance(key, str)]
        if bad:
            raise TypeError(f"multiple_outputs needs string keys, got {bad[0]!r}")
        for key, value in result.items():
            ti.xcom_push(key, value)
    ti.xcom_push(RETURN_KEY, result)


class BashInvocation(NamedTuple):
    """How to exec a bash task's attempt, and what preparing it pushed and rendered."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    xcom: dict[str, Any]
    """What templates (`{{ ti.xcom_push(...) }}`) and a @task.bash function pushed: kept
    whatever bash does, as in Airflow, where a push is stored at once."""
    rendered: dict[str, Any]
    """The task's templated fields as rendered, masked (`execution.rendered_fields`)."""


def bash_invocation(dag: DAG, info: AttemptInfo) -> BashInvocation:
    """Render a bash task for one attempt and return what to exec bash with.

    Calls the task's `on_execute_callback`s first. For `@task.bash` this calls the function
    (pulling its XCom arguments from the store). SkipTask and FailTask raised by that function
    propagate.
    When secret variables exist, the argv runs bash under the masking filter (`python
    mask_filter.py -- bash -c CMD`), and the messages of errors raised here are masked too;
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
    ti = TaskInstance(info, task, upstream_ids(dag, task))
    try:
        concrete = _concrete(task, ti)
        if not isinstance(concrete, BashOperator):
            raise TypeError(f"task {info.task_id!r} is not a bash task")
        task = concrete
        context = build_context(dag, task, info, ti)
        with set_current_context(context):
            task.render_template_fields(context)
            call_execute_callbacks(task, context)
            argv, env, cwd = task.bash_invocation(context)
    except (FlowtuiError, SkipTask, FailTask) as exc:
        _mask_message(exc, info)
        raise
    except Exception as exc:
        failed = TaskCallableFailed(info.task_id, exc)
        _mask_message(failed, info)
        raise failed from exc
    finally:
        ti.close()
    # The environment bash gets may hold more FLOWTUI_VAR_ secrets than this process's.
    secrets = masking.attempt_secret_values(info.db_path, env)
    rendered = rendered_fields(task, Masker(secrets))
    argv, env = masking.filtered(argv, env, secrets)
    return BashInvocation(argv, env, cwd, ti.pushed, rendered)


def _mask_message(exc: BaseException, info: AttemptInfo) -> None:
    """The message goes to the log and to the store: hide secrets in it."""
    masker = secrets_masker(info)
    if masker:
        exc.args = tuple(masker.mask(a) if isinstance(a, str) else a for a in exc.args)


def upstream_ids(dag: DAG, task: BaseOperator) -> list[str]:
    """The task's direct upstream in definition order, without walking the whole DAG: an
    attempt forked from a process holding a 10,000-task DAG must not touch all of it."""
    return sorted(task.upstream_task_ids, key=dag.task_order.__getitem__)


def error_line(exc: BaseException) -> str:
    message = str(exc)
    return one_line(
        f"{type(exc).__name__}: {message}" if message else type(exc).__name__, _MAX_ERROR
    )
