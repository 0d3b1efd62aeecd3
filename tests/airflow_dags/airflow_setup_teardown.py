"""Airflow 2 style setup and teardown: `.as_teardown(setups=...)` on operators, a teardown that
fails, and a setup that skips.

Expected from `flowtui dags test airflow_setup_teardown --logical-date 2024-01-15` (exit 0, run
success: the teardowns are no leaves of the run, so delete_cluster's failure does not fail it):
create_cluster success, XCom return_value "cluster-1"; query success, XCom return_value
"rows from cluster-1"; delete_cluster failed on its only try (a teardown runs once query is
done and its setup succeeded); maybe_lock skipped (AirflowSkipException); locked_work skipped
(its setup was skipped); unlock skipped (its only setup was skipped).
"""

from datetime import datetime

from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.python import PythonOperator


def create_cluster():
    return "cluster-1"


def query(ti):
    return f"rows from {ti.xcom_pull(task_ids='create_cluster')}"


def delete_cluster():
    raise RuntimeError("the cluster was already gone")


def maybe_lock():
    raise AirflowSkipException("nothing to lock today")


with DAG(
    "airflow_setup_teardown",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    default_args={"retries": 0},
):
    create = PythonOperator(task_id="create_cluster", python_callable=create_cluster)
    work = PythonOperator(task_id="query", python_callable=query)
    delete = PythonOperator(task_id="delete_cluster", python_callable=delete_cluster)
    create >> work >> delete.as_teardown(setups=create)

    lock = PythonOperator(task_id="maybe_lock", python_callable=maybe_lock).as_setup()
    locked = PythonOperator(task_id="locked_work", python_callable=lambda: "never")
    unlock = PythonOperator(task_id="unlock", python_callable=lambda: "never")
    lock >> locked >> unlock.as_teardown(setups=lock)
