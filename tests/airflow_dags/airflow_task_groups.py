"""Airflow 2 style task groups: `airflow.utils.task_group.TaskGroup` as a context manager,
nested, with its own `default_args` over the DAG's, one without `prefix_group_id`, `>>`
between groups, a `Label` on an edge (`airflow.utils.edgemodifier`) and
`airflow.operators.python.get_current_context` inside a PythonOperator's callable.

Expected from `flowtui dags test airflow_task_groups --logical-date 2024-01-15` (exit 0, run
success): start success; extract.orders success, XCom return_value {"task_id":
"extract.orders", "retries": 2} (the group's default_args over the DAG's retries=1);
extract.nested.customers success, XCom {"task_id": "extract.nested.customers", "retries": 2}
(inherited from the parent group); extract.nested.products success, XCom {"task_id":
"extract.nested.products", "retries": 0} (its own argument wins); load_all (a group without
prefix) success, XCom "load_all on 2024-01-15"; end success. The edge start -> extract.orders
is labelled "begin".
"""

from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator, get_current_context
from airflow.utils.edgemodifier import Label
from airflow.utils.task_group import TaskGroup


def report(**context):
    return {"task_id": context["ti"].task_id, "retries": context["task"].retries}


def from_current_context():
    context = get_current_context()
    return f"{context['ti'].task_id} on {context['ds']}"


with DAG(
    "airflow_task_groups",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    default_args={"retries": 1},
) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("extract", default_args={"retries": 2}) as extract:
        orders = PythonOperator(task_id="orders", python_callable=report)
        with TaskGroup("nested", tooltip="customers and products") as nested:
            PythonOperator(task_id="customers", python_callable=report)
            PythonOperator(task_id="products", python_callable=report, retries=0)
        orders >> nested
    with TaskGroup("load", prefix_group_id=False) as load:
        PythonOperator(task_id="load_all", python_callable=from_current_context)
    end = EmptyOperator(task_id="end")
    start >> Label("begin") >> extract >> load >> end
