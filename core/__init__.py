"""flowtui: Airflow-style data pipelines on one machine. This package's top level is the
authoring API for DAG files (from `flowtui.authoring`); the engine lives in the packages beside
it, one per role: loading, scheduling, execution, commands, store, cli, crontab, and the
dashboard in `flowtui.tui`. The modules at this level are the vocabulary they share: states,
errors, clock, config, spec, cron.

The authoring names load on first use (PEP 562): a DAG file's `from flowtui import DAG` gets
them as before, while the command line and the engine, which import `flowtui.<role>` and never
a DAG's classes, do not pay for them at start-up."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowtui.authoring.asset_decorator import asset
    from flowtui.authoring.assets import (
        Asset,
        AssetAlias,
        AssetAll,
        AssetAny,
        AssetOrTimeSchedule,
    )
    from flowtui.authoring.baseoperator import BaseOperator, chain
    from flowtui.authoring.current_context import get_current_context
    from flowtui.authoring.dag import DAG
    from flowtui.authoring.datasets import Dataset
    from flowtui.authoring.edge_label import Label
    from flowtui.authoring.exceptions import FailTask, SkipTask
    from flowtui.authoring.operators import (
        BaseBranchOperator,
        BashOperator,
        BranchDateTimeOperator,
        BranchDayOfWeekOperator,
        BranchPythonOperator,
        EmailOperator,
        EmptyOperator,
        ExternalPythonOperator,
        ExternalTaskMarker,
        LatestOnlyOperator,
        PythonOperator,
        PythonVirtualenvOperator,
        ShortCircuitOperator,
        TriggerDagRunOperator,
        WeekDay,
    )
    from flowtui.authoring.params import Param
    from flowtui.authoring.sensors import (
        BaseSensorOperator,
        BashSensor,
        DateTimeSensor,
        ExternalTaskSensor,
        FileSensor,
        PokeReturnValue,
        PythonSensor,
        TimeDeltaSensor,
    )
    from flowtui.authoring.setup_teardown import setup, teardown
    from flowtui.authoring.task_group import TaskGroup, task_group
    from flowtui.authoring.taskflow import dag, task
    from flowtui.authoring.variables import Variable
    from flowtui.authoring.xcom_arg import XComArg
    from flowtui.states import TriggerRule

_HOMES = {
    "Asset": "flowtui.authoring.assets",
    "AssetAlias": "flowtui.authoring.assets",
    "AssetAll": "flowtui.authoring.assets",
    "AssetAny": "flowtui.authoring.assets",
    "AssetOrTimeSchedule": "flowtui.authoring.assets",
    "asset": "flowtui.authoring.asset_decorator",
    "BaseOperator": "flowtui.authoring.baseoperator",
    "chain": "flowtui.authoring.baseoperator",
    "get_current_context": "flowtui.authoring.current_context",
    "DAG": "flowtui.authoring.dag",
    "Dataset": "flowtui.authoring.datasets",
    "Label": "flowtui.authoring.edge_label",
    "FailTask": "flowtui.authoring.exceptions",
    "SkipTask": "flowtui.authoring.exceptions",
    "BaseBranchOperator": "flowtui.authoring.operators",
    "BashOperator": "flowtui.authoring.operators",
    "BranchDateTimeOperator": "flowtui.authoring.operators",
    "BranchDayOfWeekOperator": "flowtui.authoring.operators",
    "BranchPythonOperator": "flowtui.authoring.operators",
    "EmailOperator": "flowtui.authoring.operators",
    "EmptyOperator": "flowtui.authoring.operators",
    "ExternalPythonOperator": "flowtui.authoring.operators",
    "ExternalTaskMarker": "flowtui.authoring.operators",
    "LatestOnlyOperator": "flowtui.authoring.operators",
    "PythonOperator": "flowtui.authoring.operators",
    "PythonVirtualenvOperator": "flowtui.authoring.operators",
    "ShortCircuitOperator": "flowtui.authoring.operators",
    "TriggerDagRunOperator": "flowtui.authoring.operators",
    "WeekDay": "flowtui.authoring.operators",
    "Param": "flowtui.authoring.params",
    "setup": "flowtui.authoring.setup_teardown",
    "teardown": "flowtui.authoring.setup_teardown",
    "BaseSensorOperator": "flowtui.authoring.sensors",
    "BashSensor": "flowtui.authoring.sensors",
    "DateTimeSensor": "flowtui.authoring.sensors",
    "ExternalTaskSensor": "flowtui.authoring.sensors",
    "FileSensor": "flowtui.authoring.sensors",
    "PokeReturnValue": "flowtui.authoring.sensors",
    "PythonSensor": "flowtui.authoring.sensors",
    "TimeDeltaSensor": "flowtui.authoring.sensors",
    "TaskGroup": "flowtui.authoring.task_group",
    "task_group": "flowtui.authoring.task_group",
    "XComArg": "flowtui.authoring.xcom_arg",
    "dag": "flowtui.authoring.taskflow",
    "task": "flowtui.authoring.taskflow",
    "Variable": "flowtui.authoring.variables",
    "TriggerRule": "flowtui.states",
}
"""Each authoring name and the module that defines it."""

__all__ = [
    "DAG",
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetOrTimeSchedule",
    "BaseBranchOperator",
    "BaseOperator",
    "BaseSensorOperator",
    "BashOperator",
    "BashSensor",
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "BranchPythonOperator",
    "Dataset",
    "DateTimeSensor",
    "EmailOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "ExternalTaskMarker",
    "ExternalTaskSensor",
    "FailTask",
    "FileSensor",
    "Label",
    "LatestOnlyOperator",
    "Param",
    "PokeReturnValue",
    "PythonOperator",
    "PythonSensor",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
    "SkipTask",
    "TaskGroup",
    "TimeDeltaSensor",
    "TriggerDagRunOperator",
    "TriggerRule",
    "Variable",
    "WeekDay",
    "XComArg",
    "asset",
    "chain",
    "dag",
    "get_current_context",
    "setup",
    "task",
    "task_group",
    "teardown",
]


def __getattr__(name: str) -> Any:
    """Import an authoring name on first use and keep it here, so the next lookup is direct."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flowtui' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
