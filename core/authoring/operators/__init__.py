"""The built-in operators."""

from __future__ import annotations

from flowtui.authoring.operators.bash import BashOperator
from flowtui.authoring.operators.branch import (
    BaseBranchOperator,
    BranchPythonOperator,
    ShortCircuitOperator,
)
from flowtui.authoring.operators.date_time import BranchDateTimeOperator
from flowtui.authoring.operators.email import EmailOperator
from flowtui.authoring.operators.empty import EmptyOperator
from flowtui.authoring.operators.external_task_marker import ExternalTaskMarker
from flowtui.authoring.operators.latest_only import LatestOnlyOperator
from flowtui.authoring.operators.python import PythonOperator
from flowtui.authoring.operators.trigger_dagrun import TriggerDagRunOperator
from flowtui.authoring.operators.virtualenv import ExternalPythonOperator, PythonVirtualenvOperator
from flowtui.authoring.operators.weekday import BranchDayOfWeekOperator, WeekDay

__all__ = [
    "BaseBranchOperator",
    "BashOperator",
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "BranchPythonOperator",
    "EmailOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "ExternalTaskMarker",
    "LatestOnlyOperator",
    "PythonOperator",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
    "TriggerDagRunOperator",
    "WeekDay",
]
