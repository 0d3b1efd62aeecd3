"""A function run in a virtualenv and with an external Python, as Airflow 2 and 3 files write
them (`PythonVirtualenvOperator`, `@task.virtualenv`, `ExternalPythonOperator`,
`@task.external_python`); no requirements, so no network is needed.

Expected from `flowtui dags test airflow_virtualenv --logical-date 2024-01-15` (exit 0, run
success): in_venv success, XCom return_value {"isolated": true, "ds": "2024-01-15",
"n": 3} (the callable ran in a venv under the home, with the run's ds); sum_in_venv success,
XCom return_value 6 (an XCom argument); external success, XCom return_value "a-b"; twice
success, XCom return_value 12.
"""

import sys
from datetime import datetime

from airflow.decorators import dag, task
from airflow.operators.python import ExternalPythonOperator, PythonVirtualenvOperator


def report(n, ds):
    import sys

    return {"isolated": sys.prefix != sys.base_prefix, "ds": ds, "n": n}


def join(first, second):
    return f"{first}-{second}"


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def airflow_virtualenv():
    venv = PythonVirtualenvOperator(
        task_id="in_venv",
        python_callable=report,
        requirements=[],
        system_site_packages=False,
        op_kwargs={"n": 3},
    )

    @task.virtualenv(requirements=[], system_site_packages=False)
    def sum_in_venv(values):
        return sum(values)

    @task
    def numbers():
        return [1, 2, 3]

    external = ExternalPythonOperator(
        task_id="external", python=sys.executable, python_callable=join, op_args=["a", "b"]
    )

    @task.external_python(python=sys.executable)
    def twice(total):
        return 2 * total

    venv >> twice(sum_in_venv(numbers())) >> external


airflow_virtualenv()
