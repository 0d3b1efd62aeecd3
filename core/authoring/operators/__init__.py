"""The built-in operators."""

from __future__ import annotations

from flowtui.authoring.operators.bash import BashOperator
from flowtui.authoring.operators.branch import BranchPythonOperator, ShortCircuitOperator
from flowtui.authoring.operators.email import EmailOperator
from flowtui.authoring.operators.empty import EmptyOperator
from flowtui.authoring.operators.python import PythonOperator

__all__ = [
    "BashOperator",
    "BranchPythonOperator",
    "EmailOperator",
    "EmptyOperator",
    "PythonOperator",
    "ShortCircuitOperator",
]
