"""Airflow's exceptions in tasks, and a `pendulum.duration` retry delay.

Expected from `flowtui dags test airflow_exceptions --logical-date 2024-01-15` (exit 0, run
success, as in Airflow: the one leaf, cleanup, succeeded): generic failed on its second try
(AirflowException: retried once, then failed); fail_fast failed on its first try
(AirflowFailException: no retry); caught success, XCom return_value "caught skip" (an
AirflowSkipException is an AirflowException); cleanup success (all_done).
"""

import pendulum
from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.operators.python import PythonOperator
from airflow.utils.trigger_rule import TriggerRule


def generic():
    raise AirflowException("the service said no")


def fail_fast():
    raise AirflowFailException("bad input: retrying will not help")


def caught():
    try:
        raise AirflowSkipException("not today")
    except AirflowException:
        return "caught skip"


with DAG(
    "airflow_exceptions",
    schedule=None,
    start_date=pendulum.today("UTC").add(days=-1),
    default_args={"retries": 1, "retry_delay": pendulum.duration(seconds=0)},
):
    failing = [
        PythonOperator(task_id="generic", python_callable=generic),
        PythonOperator(task_id="fail_fast", python_callable=fail_fast),
        PythonOperator(task_id="caught", python_callable=caught),
    ]
    failing >> PythonOperator(
        task_id="cleanup", python_callable=lambda: None, trigger_rule=TriggerRule.ALL_DONE
    )
