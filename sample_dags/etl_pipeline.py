"""The course ETL pipeline: ingest orders from an API and customers from a database, clean and
join them, and load the result into a SQLite warehouse. It shows fan-in, passing data through
XCom (small values, or the path of a file), `{{ ds }}` templating and an idempotent load."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flowtui import DAG, PythonOperator

SOURCES = Path(__file__).parent
"""Where the sample's inputs ship: `orders_api.json` (the "API") and `customers.sql`."""


def data_dir() -> Path:
    """Where this pipeline writes: `<FLOWTUI_HOME>/sample_data/etl_pipeline`, never the package."""
    home = Path(os.environ.get("FLOWTUI_HOME") or Path.home() / ".flowtui")
    path = home / "sample_data" / "etl_pipeline"
    path.mkdir(parents=True, exist_ok=True)
    return path


def staging_dir(ds: str) -> Path:
    """One folder of intermediate files per logical date, so runs of other dates never clash."""
    path = data_dir() / "staging" / ds
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value, indent=2))
    return str(path)


def ingest_api(ds: str) -> str:
    """Fetch the raw orders and stage them as a file; the file's path goes to XCom."""
    payload = json.loads((SOURCES / "orders_api.json").read_text())
    orders = payload["orders"]
    print(f"fetched {len(orders)} orders from {payload['source']}")
    return write_json(staging_dir(ds) / "orders_raw.json", orders)


def ingest_db() -> list[dict[str, Any]]:
    """Read the customers from the source database; a small table travels through XCom."""
    source = data_dir() / "source.db"
    conn = sqlite3.connect(source)
    try:
        conn.executescript((SOURCES / "customers.sql").read_text())  # rebuild the stand-in
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT customer_id, name, country FROM customers ORDER BY 1")
        customers = [dict(row) for row in rows]
    finally:
        conn.close()
    print(f"read {len(customers)} customers from {source}")
    return customers


def clean_order(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The order with tidy types and text, or None when it cannot be loaded."""
    status = str(raw.get("status") or "").strip().lower()
    try:
        amount = round(float(raw["amount"]), 2)
    except (TypeError, ValueError):
        return None
    if raw.get("customer_id") is None or amount <= 0 or status == "cancelled":
        return None
    return {
        "order_id": int(raw["order_id"]),
        "customer_id": int(raw["customer_id"]),
        "amount": amount,
        "status": status,
        "ordered_at": raw["ordered_at"],
    }


def transform(ds: str, ti: Any) -> str:
    """Clean the staged API orders: drop unusable ones and duplicates, normalise the rest."""
    raw_path = ti.xcom_pull(task_ids="ingest_api")
    by_id: dict[int, dict[str, Any]] = {}
    raw_orders = json.loads(Path(raw_path).read_text())
    for raw in raw_orders:
        order = clean_order(raw)
        if order is None:
            print(f"dropped order {raw.get('order_id')}: {raw}")
        else:
            by_id[order["order_id"]] = order  # the API may repeat an order; keep the last
    print(f"kept {len(by_id)} of {len(raw_orders)} orders")
    return write_json(staging_dir(ds) / "orders_clean.json", [by_id[i] for i in sorted(by_id)])


def combine(ds: str, ti: Any) -> str:
    """Join the clean orders with their customers; orders of unknown customers are dropped."""
    orders = json.loads(Path(ti.xcom_pull(task_ids="transform")).read_text())
    customers = {c["customer_id"]: c for c in ti.xcom_pull(task_ids="ingest_db")}
    combined = []
    for order in orders:
        customer = customers.get(order["customer_id"])
        if customer is None:
            print(f"dropped order {order['order_id']}: unknown customer {order['customer_id']}")
            continue
        combined.append(
            {**order, "customer_name": customer["name"], "country": customer["country"]}
        )
    print(f"combined {len(combined)} orders with their customers")
    return write_json(staging_dir(ds) / "orders_combined.json", combined)


WAREHOUSE_DDL = """
CREATE TABLE IF NOT EXISTS fact_orders (
    ds            TEXT    NOT NULL,  -- the logical date of the run that loaded the row
    order_id      INTEGER NOT NULL,
    customer_id   INTEGER NOT NULL,
    customer_name TEXT    NOT NULL,
    country       TEXT    NOT NULL,
    amount        REAL    NOT NULL,
    status        TEXT    NOT NULL,
    ordered_at    TEXT    NOT NULL,
    PRIMARY KEY (ds, order_id)
)
"""


def load(load_date: str, ti: Any) -> int:
    """Replace this logical date's rows in the warehouse, in one transaction (idempotent)."""
    rows = json.loads(Path(ti.xcom_pull(task_ids="combine")).read_text())
    warehouse = data_dir() / "warehouse.db"
    conn = sqlite3.connect(warehouse)
    try:
        with conn:  # one transaction: the date's old rows go only if the new ones arrive
            conn.execute(WAREHOUSE_DDL)
            conn.execute("DELETE FROM fact_orders WHERE ds = ?", (load_date,))
            conn.executemany(
                "INSERT INTO fact_orders VALUES (:ds, :order_id, :customer_id, :customer_name, "
                ":country, :amount, :status, :ordered_at)",
                [{**row, "ds": load_date} for row in rows],
            )
    finally:
        conn.close()
    print(f"loaded {len(rows)} rows for {load_date} into {warehouse} (table fact_orders)")
    return len(rows)


with DAG(
    dag_id="etl_pipeline",
    description="Orders API + customers DB -> clean, join -> SQLite warehouse",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "etl"],
    default_args={
        "retries": 1,
        "retry_delay": timedelta(seconds=10),
        # A failure mails whoever ETL_ALERT_EMAIL names (through [smtp] in flowtui.toml, see
        # the README's "Alerts"); unset, nobody is mailed and nothing warns about it.
        "email": os.environ.get("ETL_ALERT_EMAIL"),
        "email_on_failure": True,
        "email_on_retry": False,
    },
    doc_md=__doc__,
) as dag:
    ingest_api_task = PythonOperator(task_id="ingest_api", python_callable=ingest_api)
    ingest_db_task = PythonOperator(task_id="ingest_db", python_callable=ingest_db)
    transform_task = PythonOperator(task_id="transform", python_callable=transform)
    combine_task = PythonOperator(task_id="combine", python_callable=combine)
    load_task = PythonOperator(
        task_id="load",
        python_callable=load,
        # Rendered per run: a backfill of 2024-01-03 stamps (and replaces) 2024-01-03's rows.
        op_kwargs={"load_date": "{{ ds }}"},
    )

    [ingest_api_task >> transform_task, ingest_db_task] >> combine_task >> load_task
