"""W2: a flowtui DAG with one task, then 100 independent no-op Python tasks, then one task;
the runner sets `parallelism = 2`, so this measures the cost of each task attempt."""

from flowtui import DAG, PythonOperator


def noop() -> None:
    """Do nothing, so that only the orchestrator's own cost is measured."""


with DAG("w2_fan", schedule=None) as dag:
    start = PythonOperator(task_id="start", python_callable=noop)
    middle = [PythonOperator(task_id=f"m{i:03d}", python_callable=noop) for i in range(100)]
    end = PythonOperator(task_id="end", python_callable=noop)
    start >> middle >> end
