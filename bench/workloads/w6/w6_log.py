"""W6: one task that prints 10,000 lines of 80 characters (about 800 KB), and the same task
printing nothing; their difference is what carrying a log costs (on the Dask executor: shipped
from the worker in pieces and written home)."""

from flowtui import DAG, PythonOperator

LINE = "x" * 73


def chatty() -> None:
    for number in range(10_000):
        print(f"{number:06d} {LINE}")


def quiet() -> None:
    """Do nothing."""


with DAG("w6_log", schedule=None) as log_dag:
    PythonOperator(task_id="chatty", python_callable=chatty)

with DAG("w6_quiet", schedule=None) as quiet_dag:
    PythonOperator(task_id="quiet", python_callable=quiet)
