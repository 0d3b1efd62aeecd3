"""`TriggerDagRunOperator` (Airflow 2 and 3 imports): a parent that triggers a child DAG and
waits for it, and one that fires and forgets. Not run by `test_airflow_dags.py`'s table: the
waiting parent needs a scheduler to run its child (tests/engine/test_trigger_dagrun.py starts
one).

Expected from `flowtui dags test airflow_trigger_parent --logical-date 2024-01-15` with a
scheduler running on the home (exit 0, run success): trigger_ok success, XComs trigger_run_id
"from_parent_20240115" and trigger_logical_date_iso "2024-01-15T00:00:00+00:00", its child run
success with conf {"ds": "2024-01-15"} and child's XCom return_value "2024-01-15";
trigger_bad failed (its child run "bad_20240115" failed: failed_states); handled success
(all_failed), XCom return_value "child failed"; again skipped (the run exists:
skip_when_already_exists); report success, XCom return_value "from_parent_20240115".

`airflow_trigger_forget` triggers the child without waiting: with no scheduler running, the
command is applied to the store and the child's run "forgotten" waits, queued, for one.
"""

import pendulum
from airflow.exceptions import AirflowFailException
from airflow.operators.python import PythonOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.operators.trigger_dagrun import (
    TriggerDagRunOperator as StandardTriggerDagRunOperator,
)
from airflow.sdk import DAG
from airflow.utils.trigger_rule import TriggerRule

START = pendulum.datetime(2024, 1, 1, tz="UTC")


def echo_conf(dag_run):
    if dag_run.conf.get("fail"):
        raise AirflowFailException("asked to fail")
    return dag_run.conf["ds"]


with DAG(dag_id="airflow_trigger_child", schedule=None, start_date=START):
    PythonOperator(task_id="child", python_callable=echo_conf)


with DAG(dag_id="airflow_trigger_parent", schedule=None, start_date=START):
    trigger_ok = TriggerDagRunOperator(
        task_id="trigger_ok",
        trigger_dag_id="airflow_trigger_child",
        trigger_run_id="from_parent_{{ ds_nodash }}",
        conf={"ds": "{{ ds }}"},
        logical_date="{{ ds }}",
        wait_for_completion=True,
        poke_interval=0.2,
    )
    trigger_bad = StandardTriggerDagRunOperator(
        task_id="trigger_bad",
        trigger_dag_id="airflow_trigger_child",
        trigger_run_id="bad_{{ ds_nodash }}",
        conf={"fail": True},
        wait_for_completion=True,
        poke_interval=0.2,
        allowed_states=["success"],
        failed_states=["failed"],
    )
    handled = PythonOperator(
        task_id="handled",
        python_callable=lambda: "child failed",
        trigger_rule=TriggerRule.ALL_FAILED,
    )
    again = TriggerDagRunOperator(
        task_id="again",
        trigger_dag_id="airflow_trigger_child",
        trigger_run_id="from_parent_{{ ds_nodash }}",
        skip_when_already_exists=True,
    )
    report = PythonOperator(
        task_id="report",
        python_callable=lambda ti: ti.xcom_pull(task_ids="trigger_ok", key="trigger_run_id"),
    )
    trigger_bad >> handled
    trigger_ok >> [again, report]


with DAG(dag_id="airflow_trigger_forget", schedule=None, start_date=START):
    TriggerDagRunOperator(
        task_id="fire",
        trigger_dag_id="airflow_trigger_child",
        trigger_run_id="forgotten",
        conf={"ds": "{{ ds }}"},
    )
