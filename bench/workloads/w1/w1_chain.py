"""W1: a flowtui DAG chaining 20 no-op Python tasks; measures task-to-task latency."""

from flowtui import DAG, PythonOperator, chain


def noop() -> None:
    """Do nothing, so that only the orchestrator's own cost is measured."""


with DAG("w1_chain", schedule=None) as dag:
    chain(*(PythonOperator(task_id=f"t{i:02d}", python_callable=noop) for i in range(20)))
