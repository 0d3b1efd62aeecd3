"""Sensors at their Airflow 2 and Airflow 3 (standard provider) paths, and `@task.sensor`
returning a `PokeReturnValue`; every condition already holds, so each pokes once.

Expected from `flowtui dags test airflow_sensors --logical-date 2024-01-15` (exit 0, run
success): this_file success (FileSensor on this very file); python_check success
(PythonSensor); bash_check success (BashSensor); after_interval success (TimeDeltaSensor:
the interval ended long ago); at_time success (DateTimeSensor, a time in the past); ready
success, XCom return_value "ready"; use success, XCom return_value "got ready".
"""

from datetime import datetime, timedelta

from airflow.decorators import dag, task
from airflow.providers.standard.sensors.bash import BashSensor
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sensors.base import PokeReturnValue
from airflow.sensors.date_time import DateTimeSensor
from airflow.sensors.filesystem import FileSensor
from airflow.sensors.time_delta import TimeDeltaSensor


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def airflow_sensors():
    this_file = FileSensor(task_id="this_file", filepath=__file__, poke_interval=5)
    python_check = PythonSensor(
        task_id="python_check", python_callable=lambda: True, poke_interval=5
    )
    bash_check = BashSensor(task_id="bash_check", bash_command="true", poke_interval=5)
    after_interval = TimeDeltaSensor(task_id="after_interval", delta=timedelta(minutes=1))
    at_time = DateTimeSensor(task_id="at_time", target_time=datetime(2024, 1, 1, 12, 0))

    @task.sensor(poke_interval=5, timeout=60, mode="poke")
    def ready():
        return PokeReturnValue(is_done=True, xcom_value="ready")

    @task
    def use(value):
        return f"got {value}"

    [this_file, python_check, bash_check, after_interval, at_time] >> use(ready())


airflow_sensors()
