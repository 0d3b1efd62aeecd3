"""Retries: `call_flaky_service` fails on its first two tries and succeeds on the third, so with
`retries=2` the run still succeeds. Watch the task go running -> up_for_retry -> running."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flowtui import DAG, PythonOperator


def call_flaky_service(ti: Any) -> dict[str, Any]:
    """Pretend to call a service that is down for the first two tries."""
    if ti.try_number < 3:
        raise ConnectionError(f"service unavailable on try {ti.try_number}")
    print(f"service answered on try {ti.try_number}")
    return {"rates": {"EUR": 0.92, "GBP": 0.79}, "answered_on_try": ti.try_number}


def report(ti: Any) -> None:
    """Runs once, after the flaky task finally succeeded."""
    answer = ti.xcom_pull(task_ids="call_flaky_service")
    print(f"got rates {answer['rates']} on try {answer['answered_on_try']}")


with DAG(
    dag_id="flaky_task",
    description="A task that fails twice, then succeeds thanks to retries=2",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "retries"],
    doc_md=__doc__,
) as dag:
    flaky = PythonOperator(
        task_id="call_flaky_service",
        python_callable=call_flaky_service,
        retries=2,
        retry_delay=timedelta(seconds=2),  # short, so that `flowtui dags test` ends quickly
    )
    flaky >> PythonOperator(task_id="report", python_callable=report)
