"""`flowtui tasks test`: one task of a DAG run here, in this process, with no dependencies and
no state recorded, as Airflow's `tasks test` does."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from flowtui.clock import to_text, utcnow
from flowtui.config import Settings, restore_user_umask
from flowtui.errors import DagNotFound
from flowtui.execution.base import AttemptInfo, bash_exit_outcome
from flowtui.states import TaskState


def run_task_test(
    settings: Settings, dag_id: str, task_id: str, logical_date: datetime | None
) -> TaskState:
    """Run the task; returns its outcome's state as the scheduler would record it (a cause
    goes to stderr). A bash task's exit code counts as for the scheduler; SkipTask or FailTask
    raised by a @task.bash function skip or fail it."""
    from flowtui.authoring.baseoperator import as_operator
    from flowtui.authoring.exceptions import FailTask, SkipTask
    from flowtui.execution.task_runner import bash_invocation, run_task, skip_or_fail_outcome
    from flowtui.loading.dag_file import add_dags_folder_to_path, dags_by_id

    fileloc = _dag_file(settings, dag_id)
    add_dags_folder_to_path(str(settings.dags_folder))
    dags = dags_by_id(Path(fileloc))
    if dag_id not in dags:
        raise DagNotFound(dag_id, settings.dags_folder)
    dag = dags[dag_id]
    task = as_operator(dag.get_task(task_id))
    logical = logical_date or utcnow()
    info = AttemptInfo(
        dag_id=dag_id,
        task_id=task_id,
        run_id=f"tasks_test__{logical.isoformat()}",
        try_number=1,
        max_tries=0,
        logical_date=to_text(logical),
        data_interval_start=to_text(logical),
        data_interval_end=to_text(logical),
        run_type="test",
        conf={},
        db_path=str(settings.db_path),
    )
    restore_user_umask()  # the task's own files get the user's umask, not flowtui's 077
    if task.runs_bash:
        try:
            bash = bash_invocation(dag, info)
        except (SkipTask, FailTask) as exc:  # raised by a @task.bash function
            outcome = skip_or_fail_outcome(exc)
        else:
            code = subprocess.run(bash.argv, env=bash.env, cwd=bash.cwd, check=False).returncode
            outcome = bash_exit_outcome(code, getattr(task, "skip_exit_codes", ()))
    else:
        outcome = run_task(dag, info)
    if outcome.cause:
        print(f"task {task_id}: {outcome.cause}", file=sys.stderr)
    return outcome.state


def _dag_file(settings: Settings, dag_id: str) -> str:
    """The file defining `dag_id`: from the store when it is a file of the DAG folder this
    command was given (a home's scheduler may serve another), else by parsing the folder."""
    from flowtui.execution.local.executor import parse_dag_folder
    from flowtui.store import Store, reads

    settings.ensure_home()
    store = Store(settings.db_path)
    try:
        row = reads.dag(store.conn, dag_id)
    finally:
        store.close()
    fileloc = Path(row["fileloc"]) if row is not None and row["is_active"] else None
    if fileloc and fileloc.is_relative_to(settings.dags_folder) and fileloc.exists():
        return str(fileloc)
    for result in parse_dag_folder(settings):
        if any(s.dag_id == dag_id for s in result.specs):
            return result.path
    raise DagNotFound(dag_id, settings.dags_folder)
