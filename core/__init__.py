"""flowtui: Airflow-style data pipelines on one machine. This package's top level is the
authoring API for DAG files; the engine lives in its submodules."""

from __future__ import annotations

from flowtui.baseoperator import BaseOperator
from flowtui.dag import DAG, Dataset, chain, dag
from flowtui.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from flowtui.task_exceptions import FailTask, SkipTask
from flowtui.taskflow import XComArg, task
from flowtui.variables import Variable

__all__ = [
    "DAG",
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "Dataset",
    "EmptyOperator",
    "FailTask",
    "PythonOperator",
    "ShortCircuitOperator",
    "SkipTask",
    "Variable",
    "XComArg",
    "chain",
    "dag",
    "task",
]
