"""A TaskFlow pipeline: `@dag` and `@task` functions whose return values travel through XCom.
It shows a `multiple_outputs=True` task, picking one of its keys downstream, and an explicit
`ti.xcom_push` / `ti.xcom_pull` next to the implicit ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowtui import dag, task


@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "taskflow"],
    description="extract -> transform -> load with return values passed through XCom",
)
def taskflow_pipeline() -> None:
    """Each call below adds a task; passing one call's result to another wires the dependency
    and hands over the value through XCom at run time."""

    @task
    def extract(ds: str, ti: Any) -> list[dict[str, Any]]:
        """Return the day's orders (XCom `return_value`) and push a batch id by hand."""
        ti.xcom_push(key="batch_id", value=f"orders-{ds}")
        return [
            {"order_id": 1, "amount": 12.5},
            {"order_id": 2, "amount": 30.25},
            {"order_id": 3, "amount": 7.25},
        ]

    @task(multiple_outputs=True)
    def transform(orders: list[dict[str, Any]]) -> dict[str, Any]:
        """Summarise the orders; each key of the dict also becomes an XCom of its own."""
        amounts = [order["amount"] for order in orders]
        return {"order_count": len(amounts), "total_amount": round(sum(amounts), 2)}

    @task
    def load(order_count: int, total_amount: float, ti: Any) -> str:
        """Report the summary; the batch id comes from an explicit pull."""
        batch_id = ti.xcom_pull(task_ids="extract", key="batch_id")
        line = f"{batch_id}: {order_count} orders, {total_amount:.2f} in total"
        print(line)
        return line

    summary = transform(extract())
    load(summary["order_count"], summary["total_amount"])


taskflow_pipeline()
