"""`flowtui tasks test`: one task of a DAG run here, in this process, with no dependencies and
no state recorded, as Airflow's `tasks test` does."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flowtui.clock import to_text, utcnow
from flowtui.config import Settings, restore_user_umask
from flowtui.errors import DagNotFound, MapIndexRefused
from flowtui.execution.base import AttemptInfo, bash_exit_outcome
from flowtui.states import TaskState

if TYPE_CHECKING:
    from flowtui.authoring.baseoperator import BaseOperator


def run_task_test(
    settings: Settings,
    dag_id: str,
    task_id: str,
    logical_date: datetime | None,
    map_index: int | None = None,
) -> TaskState:
    """Run the task (instance `map_index` of a mapped task); returns its outcome's state as
    the scheduler would record it (a cause goes to stderr). A bash task's exit code counts as
    for the scheduler; SkipTask or FailTask raised by a @task.bash function skip or fail it.

    Raises:
        MapIndexRefused: a mapped task without a map index of one of its instances, or one
            mapped over an upstream's output (which this runs nothing of); a map index given
            for an unmapped task.
    """
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
    index = map_index_to_test(dag_id, task, map_index)
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
        map_index=index,
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


def map_index_to_test(dag_id: str, task: BaseOperator, map_index: int | None) -> int:
    """The map index to run: -1 for an unmapped task; for a mapped one, `map_index`, checked
    against the lengths of the literals it maps over."""
    if not task.is_mapped:
        if map_index is not None:
            raise MapIndexRefused(dag_id, task.task_id, "is not mapped; leave --map-index out")
        return -1
    lengths = task.mapping.map_over()
    upstream = next((s for s in lengths if not isinstance(s, int)), None)
    if upstream is not None:
        raise MapIndexRefused(
            dag_id,
            task.task_id,
            f"maps over the output of task {upstream[0]!r}, which `tasks test` does not run; "
            f"`flowtui dags test {dag_id}` runs the DAG with its mapped instances",
        )
    length = math.prod(lengths)
    if length == 0:
        raise MapIndexRefused(dag_id, task.task_id, "maps over nothing: it has no instance")
    if map_index is None or not 0 <= map_index < length:
        what = "is mapped" if map_index is None else f"has {length} instance(s)"
        raise MapIndexRefused(dag_id, task.task_id, f"{what}: give --map-index 0 to {length - 1}")
    return map_index


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
