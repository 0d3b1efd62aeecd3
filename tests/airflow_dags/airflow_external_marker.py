"""`ExternalTaskMarker` beside the `ExternalTaskSensor` it pairs with, three DAGs deep: clearing
airflow_marker_parent's clear_child clears airflow_marker_child's wait_for_parent and its
downstream in the run of the same logical date, whose clear_grandchild clears
airflow_marker_grandchild's receive and finish in turn.

Expected from `flowtui dags test <dag_id> --logical-date 2024-01-15`, run in this order (each
exit 0, run success): airflow_marker_parent: start success, XCom return_value "parent done";
clear_child success (it runs, doing nothing, as in Airflow 3); airflow_marker_child:
wait_for_parent success (the parent's start succeeded), process success, XCom return_value
"child done", clear_grandchild success; airflow_marker_grandchild: receive success,
finish success, XCom return_value "grandchild done".
"""

from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor

START = datetime(2024, 1, 1)

with DAG("airflow_marker_parent", schedule=None, start_date=START):
    start = PythonOperator(task_id="start", python_callable=lambda: "parent done")
    start >> ExternalTaskMarker(
        task_id="clear_child",
        external_dag_id="airflow_marker_child",
        external_task_id="wait_for_parent",
    )

with DAG("airflow_marker_child", schedule=None, start_date=START):
    wait = ExternalTaskSensor(
        task_id="wait_for_parent",
        external_dag_id="airflow_marker_parent",
        external_task_id="start",
        poke_interval=1,
        timeout=30,
    )
    process = PythonOperator(task_id="process", python_callable=lambda: "child done")
    (
        wait
        >> process
        >> ExternalTaskMarker(
            task_id="clear_grandchild",
            external_dag_id="airflow_marker_grandchild",
            external_task_id="receive",
            recursion_depth=3,
        )
    )

with DAG("airflow_marker_grandchild", schedule=None, start_date=START):
    receive = PythonOperator(task_id="receive", python_callable=lambda: None)
    receive >> PythonOperator(task_id="finish", python_callable=lambda: "grandchild done")
