"""A task's `queue` and `executor` (Airflow's arguments) on a home with the local executor: a
queue means nothing there and is accepted, as Airflow's LocalExecutor accepts it; the name of an
executor the home does not run is refused when the file loads, in one line naming the task."""

from __future__ import annotations

import json

from flowtui.loading.dag_file import parse_here
from tests.conftest import Home

AIRFLOW_DAG = """
    from datetime import datetime
    from airflow import DAG
    from airflow.operators.bash import BashOperator

    with DAG("placed", start_date=datetime(2024, 1, 1), schedule=None):
        BashOperator(task_id="on_gpu", bash_command="true", queue="gpu")
        BashOperator(task_id="here", bash_command="true", executor="LocalExecutor")
        BashOperator(task_id="anywhere", bash_command="true")
"""

ON_DASK = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("on_dask", start_date=datetime(2024, 1, 1), schedule=None):
        BashOperator(task_id="far", bash_command="true", executor="dask")
"""


def test_queue_and_executor_local_are_kept_in_the_spec_and_run_locally(home: Home) -> None:
    path = home.write_dag("placed.py", AIRFLOW_DAG)
    [spec] = parse_here(path).specs
    placed = {t.task_id: (t.queue, t.executor) for t in spec.tasks.values()}
    assert placed == {
        "on_gpu": ("gpu", None),
        "here": ("default", "local"),  # Airflow's class name, as flowtui calls it
        "anywhere": ("default", None),
    }
    done = home.run("dags", "test", "placed")
    assert done.returncode == 0, done.stdout + done.stderr


def test_executor_dask_on_a_local_home_is_refused_when_the_file_loads(home: Home) -> None:
    path = home.write_dag("on_dask.py", ON_DASK)
    errors = json.loads(home.run("dags", "errors", "--output", "json", check=True).stdout)
    assert [(e["filename"], e["message"]) for e in errors] == [
        (
            str(path),
            "DAG 'on_dask', task 'far': executor='dask' needs executor = \"dask\" and a [dask] "
            "section in flowtui.toml; or leave executor= out to run it locally",
        )
    ]
