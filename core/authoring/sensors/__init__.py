"""Sensors: tasks that wait for a condition (`base`), and the ones Airflow users reach for:
files, other DAGs' tasks, times, Python and bash checks."""

from __future__ import annotations

from flowtui.authoring.sensors.base import BaseSensorOperator, PokeReturnValue
from flowtui.authoring.sensors.bash import BashSensor
from flowtui.authoring.sensors.date_time import DateTimeSensor, TimeDeltaSensor
from flowtui.authoring.sensors.external_task import ExternalTaskSensor
from flowtui.authoring.sensors.filesystem import FileSensor
from flowtui.authoring.sensors.python import PythonSensor

__all__ = [
    "BaseSensorOperator",
    "BashSensor",
    "DateTimeSensor",
    "ExternalTaskSensor",
    "FileSensor",
    "PokeReturnValue",
    "PythonSensor",
    "TimeDeltaSensor",
]
