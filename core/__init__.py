"""flowtui: Airflow-style data pipelines on one machine. This package's top level is the
authoring API for DAG files; the engine lives in its submodules."""

from __future__ import annotations

from flowtui.authoring.baseoperator import BaseOperator
from flowtui.authoring.dag import DAG, Dataset, chain, dag
from flowtui.authoring.exceptions import FailTask, SkipTask
from flowtui.authoring.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from flowtui.authoring.taskflow import XComArg, task
from flowtui.authoring.variables import Variable

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
