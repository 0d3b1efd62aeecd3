"""A pipeline that waits for another: each day's report starts once `etl_pipeline` has loaded
that day's orders. The `ExternalTaskSensor` is rescheduled between pokes (it holds no slot), and
the scheduler wakes it as soon as `etl_pipeline`'s tasks change state; if the load fails, the
sensor fails too (`failed_states`), rather than waiting for its 2-hour timeout. Then it reads
the warehouse `etl_pipeline` writes and prints the day's totals per country."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from flowtui import DAG, ExternalTaskSensor, PythonOperator


def report(ds: str) -> dict[str, float]:
    """The day's order totals per country, from etl_pipeline's warehouse."""
    home = Path(os.environ.get("FLOWTUI_HOME") or Path.home() / ".flowtui")
    warehouse = home / "sample_data" / "etl_pipeline" / "warehouse.db"
    conn = sqlite3.connect(warehouse)
    try:
        rows = conn.execute(
            "SELECT country, ROUND(SUM(amount), 2) FROM fact_orders WHERE ds = ? "
            "GROUP BY country ORDER BY country",
            (ds,),
        ).fetchall()
    finally:
        conn.close()
    for country, total in rows:
        print(f"{ds} {country}: {total}")
    return dict(rows)


with DAG(
    dag_id="etl_report",
    description="Waits for etl_pipeline's load, then reports the day's totals",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "sensors"],
    doc_md=__doc__,
) as dag:
    wait_for_load = ExternalTaskSensor(
        task_id="wait_for_load",
        external_dag_id="etl_pipeline",
        external_task_id="load",
        failed_states=["failed", "upstream_failed"],
        mode="reschedule",
        poke_interval=timedelta(minutes=10),
        timeout=timedelta(hours=2),
    )
    wait_for_load >> PythonOperator(task_id="report", python_callable=report)
