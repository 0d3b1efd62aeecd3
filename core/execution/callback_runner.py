"""What a callback job's process does with an already-imported DAG (`execution.callbacks`):
build the task instance's context, call each of the callback's callables with it, and report
which raised. The callables' output goes to the log the job names, masked as an attempt's is."""

from __future__ import annotations

import copy
import sys
import traceback
from typing import TYPE_CHECKING

from flowtui.authoring import variables
from flowtui.authoring.baseoperator import as_operator
from flowtui.authoring.context import TaskInstance, build_context
from flowtui.authoring.current_context import set_current_context
from flowtui.authoring.exceptions import TaskFailed
from flowtui.execution import masking
from flowtui.execution.callbacks import CallbackReport, CallbackRequest
from flowtui.execution.logs import flowtui_line
from flowtui.execution.task_runner import error_line, secrets_masker, upstream_ids

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG


def run_callbacks(dag: DAG, request: CallbackRequest) -> CallbackReport:
    """Call the callables of `request` in this process; never raises for what they raise."""
    info = request.info
    variables.configure(info.db_path)
    tasks = dag.task_dict
    if not tasks:
        return CallbackReport(errors=(f"DAG {dag.dag_id!r} has no task to give a context",))
    # A DAG's callback gets the context of the task instance that decided the run; a task that
    # is no longer in the DAG (the file changed) lends it none: the first task does.
    task = copy.copy(as_operator(tasks.get(info.task_id) or next(iter(tasks.values()))))
    owner = dag if request.dag_level else task
    callables = list(getattr(owner, request.kind, None) or ())
    print(flowtui_line(f"calling {request.name} ({len(callables)} callable(s))"), flush=True)
    ti = TaskInstance(info, task, upstream_ids(dag, task))
    errors: list[str] = []
    try:
        with masking.masked_output(secrets_masker(info)):
            context = build_context(dag, task, info, ti)
            if request.error is not None:
                context["exception"] = TaskFailed(request.error)
            if request.reason is not None:
                context["reason"] = request.reason
            with set_current_context(context):
                for callable_ in callables:
                    try:
                        callable_(context)
                    except (Exception, SystemExit) as exc:
                        traceback.print_exc()
                        errors.append(error_line(exc))
    finally:
        ti.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return CallbackReport(len(callables), tuple(errors))
