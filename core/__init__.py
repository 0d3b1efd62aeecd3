"""flowtui: Airflow-style data pipelines on one machine. This package's top level is the
authoring API for DAG files (from `flowtui.authoring`); the engine lives in the packages beside
it, one per role: loading, scheduling, execution, commands, store, cli, crontab, and the
dashboard in `flowtui.tui`. The modules at this level are the vocabulary they share: states,
errors, clock, config, spec, cron."""

from __future__ import annotations

from flowtui.authoring.baseoperator import BaseOperator, chain
from flowtui.authoring.dag import DAG
from flowtui.authoring.datasets import Dataset
from flowtui.authoring.exceptions import FailTask, SkipTask
from flowtui.authoring.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from flowtui.authoring.taskflow import XComArg, dag, task
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
