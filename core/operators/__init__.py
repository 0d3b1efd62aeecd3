"""The built-in operators."""

from __future__ import annotations

from flowtui.operators.bash import BashOperator
from flowtui.operators.branch import BranchPythonOperator, ShortCircuitOperator
from flowtui.operators.empty import EmptyOperator
from flowtui.operators.python import PythonOperator

__all__ = [
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "PythonOperator",
    "ShortCircuitOperator",
]
