"""Trigger rules: `clean_customers` fails, so `load` (all_success) ends upstream_failed, while
`alert` (one_failed) and `cleanup` (all_done) run because of, or despite, the failure. The run
ends failed, as it should: `load` is a leaf that never ran."""

from __future__ import annotations

from datetime import datetime

from flowtui import DAG, BashOperator, EmptyOperator, FailTask, PythonOperator

DOC_MD = """\
### Trigger rules

`extract` fans out to two cleaning tasks; `clean_customers` fails on purpose (`FailTask`, so no
retries). Three tasks wait on both cleaning tasks, each with a different rule:

| task      | trigger_rule  | final state       | why                                        |
|-----------|---------------|-------------------|--------------------------------------------|
| `load`    | `all_success` | `upstream_failed` | an upstream task failed, so it never runs  |
| `alert`   | `one_failed`  | `success`         | runs as soon as one upstream task fails    |
| `cleanup` | `all_done`    | `success`         | runs once every upstream task has finished |

`extract` and `clean_orders` end `success`, `clean_customers` ends `failed`. The run ends
**failed**: a run fails when any leaf task ends failed or upstream_failed, and `load` is a leaf.
`cleanup` and `alert` succeeding does not hide the failure. Had `cleanup` been the only leaf,
the run would have ended success: keep a leaf that reflects the outcome.
"""


def clean_orders() -> None:
    print("orders are clean")


def clean_customers() -> None:
    # FailTask ends the task as failed at once, whatever `retries` says.
    raise FailTask("customers.csv has 3 columns, expected 4: refusing to clean it")


def alert() -> None:
    print("ALERT: a cleaning task failed; someone should look at the logs")


with DAG(
    dag_id="trigger_rules_demo",
    description="One failing task; all_success, one_failed and all_done downstream of it",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "trigger_rules"],
    default_args={"retries": 0},
    doc_md=DOC_MD,
) as dag:
    cleaning = [
        PythonOperator(task_id="clean_orders", python_callable=clean_orders),
        PythonOperator(task_id="clean_customers", python_callable=clean_customers),
    ]
    EmptyOperator(task_id="extract") >> cleaning

    cleaning >> EmptyOperator(task_id="load")  # trigger_rule="all_success" is the default
    cleaning >> PythonOperator(task_id="alert", python_callable=alert, trigger_rule="one_failed")
    cleaning >> BashOperator(
        task_id="cleanup",
        bash_command="echo 'removing the temporary files of {{ ds }}'",
        trigger_rule="all_done",
    )
