"""Airflow 2 style: `from airflow import DAG`, classic operators, a branch, trigger rules,
`days_ago`, `DummyOperator` and `AirflowSkipException`.

Expected from `flowtui dags test airflow2_classic --logical-date 2024-01-15` (exit 0, run
success): extract success, XCom return_value {"rows": 3, "ds": "2024-01-15"}; choose success,
no XCom (it skips small: as Airflow 3, not 2, which pushed "big"); big success, XCom
return_value "3 rows"; small skipped (not chosen); join success (none_failed_min_one_success);
skip_me skipped (AirflowSkipException);
after_skip skipped (all_success below a skip); report success (bash, all_done), XCom
return_value "report for 2024-01-15" (bash's last line); done success (DummyOperator,
marked without a process).
"""

from datetime import timedelta

from airflow import DAG
from airflow.exceptions import AirflowSkipException
from airflow.operators.bash import BashOperator
from airflow.operators.dummy import DummyOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator, PythonOperator
from airflow.utils.dates import days_ago
from airflow.utils.trigger_rule import TriggerRule

default_args = {
    "owner": "data-team",
    "depends_on_past": False,
    "email_on_failure": False,
    "email_on_retry": False,
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}


def extract(ds, **context):
    return {"rows": 3, "ds": ds}


def choose(ti):
    rows = ti.xcom_pull(task_ids="extract")["rows"]
    return "big" if rows > 2 else "small"


def big(ti):
    return f"{ti.xcom_pull(task_ids='extract')['rows']} rows"


def skip_me():
    raise AirflowSkipException("nothing to do today")


with DAG(
    dag_id="airflow2_classic",
    default_args=default_args,
    description="an Airflow 2 DAG, unchanged",
    schedule_interval="@daily",
    start_date=days_ago(2),
    catchup=False,
    tags=["airflow2"],
) as dag:
    extract_task = PythonOperator(task_id="extract", python_callable=extract)
    choose_task = BranchPythonOperator(task_id="choose", python_callable=choose)
    big_task = PythonOperator(task_id="big", python_callable=big)
    small_task = EmptyOperator(task_id="small")
    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    skip_task = PythonOperator(task_id="skip_me", python_callable=skip_me)
    after_skip = EmptyOperator(task_id="after_skip")
    report = BashOperator(
        task_id="report",
        bash_command="echo report for {{ ds }}",
        trigger_rule=TriggerRule.ALL_DONE,
    )
    done = DummyOperator(task_id="done")

    extract_task >> choose_task >> [big_task, small_task] >> join
    skip_task >> after_skip
    [join, after_skip] >> report >> done
