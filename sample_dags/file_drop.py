"""A file-triggered pipeline: it waits for the day's orders file to be dropped in an inbox
folder, counts and totals its rows, then archives it, so the next day's drop starts clean.

Try it: drop a CSV named `orders_<date>.csv` (for example `orders_2024-01-15.csv`, with a
header line `order_id,amount`) into `$FLOWTUI_HOME/sample_data/inbox/` (`~/.flowtui/...`
by default), then trigger this DAG for that date: `flowtui dags test file_drop
--logical-date 2024-01-15`, or let the daily run find today's file. The sensor is
rescheduled between pokes, so it holds no slot while it waits, and watchdog wakes it within a
second of the file appearing; after 6 hours without a file it is skipped, not failed."""

from __future__ import annotations

import csv
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from flowtui import DAG, FileSensor, PythonOperator


def sample_dir(name: str) -> Path:
    """`<FLOWTUI_HOME>/sample_data/<name>`, made if missing."""
    home = Path(os.environ.get("FLOWTUI_HOME") or Path.home() / ".flowtui")
    path = home / "sample_data" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def process(ds: str) -> dict[str, float]:
    """Count and total the orders of the dropped file."""
    path = sample_dir("inbox") / f"orders_{ds}.csv"
    with path.open(newline="") as rows:
        amounts = [float(row["amount"]) for row in csv.DictReader(rows)]
    print(f"{path.name}: {len(amounts)} orders, {sum(amounts):.2f} in total")
    return {"orders": len(amounts), "total": round(sum(amounts), 2)}


def archive(ds: str) -> str:
    """Move the processed file out of the inbox."""
    source = sample_dir("inbox") / f"orders_{ds}.csv"
    target = sample_dir("archive") / source.name
    shutil.move(source, target)
    print(f"archived {source.name} to {target.parent}")
    return str(target)


with DAG(
    dag_id="file_drop",
    description="Wait for the day's orders file, process it, archive it",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "sensors"],
    params={"inbox": str(sample_dir("inbox"))},
    doc_md=__doc__,
) as dag:
    wait_for_file = FileSensor(
        task_id="wait_for_file",
        filepath="{{ params.inbox }}/orders_{{ ds }}.csv",
        mode="reschedule",
        poke_interval=timedelta(minutes=5),
        timeout=timedelta(hours=6),
        soft_fail=True,
    )
    process_task = PythonOperator(task_id="process", python_callable=process)
    archive_task = PythonOperator(task_id="archive", python_callable=archive)
    wait_for_file >> process_task >> archive_task
