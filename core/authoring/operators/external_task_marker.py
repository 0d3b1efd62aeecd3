"""`ExternalTaskMarker`: an empty task that says another DAG's task depends on this DAG, so
that clearing the marker clears that task too (the clear is the scheduler's,
`scheduling.clearing`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowtui.authoring.arguments import check_whole_number
from flowtui.authoring.operators.empty import EmptyOperator
from flowtui.errors import InvalidArgument

_SAME_DATE = ("{{ logical_date.isoformat() }}", "{{ execution_date.isoformat() }}")
"""Airflow's defaults for the other run's logical date (Airflow 3's and Airflow 2's)."""


class ExternalTaskMarker(EmptyOperator):
    """Marks `external_task_id` of `external_dag_id` as depending on this DAG, as Airflow's:
    clearing the marker (from the command line or the dashboard) clears that task and its
    downstream in the other DAG's run of the same logical date, and so on through the markers
    those hold, up to `recursion_depth` DAGs deep (deeper, the clear is refused). Like an
    `EmptyOperator`, it does nothing when it runs.

    Args:
        external_dag_id, external_task_id: the task that depends on this DAG (plain ids:
            flowtui does not render templates in them).
        logical_date: only the default (the same logical date); Airflow 2's
            `execution_date` too.
        recursion_depth: a positive whole number (default 10).
    """

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str,
        logical_date: str | datetime | None = _SAME_DATE[0],
        execution_date: str | datetime | None = _SAME_DATE[1],
        recursion_depth: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        place = self._where()
        for name, value in (
            ("external_dag_id", external_dag_id),
            ("external_task_id", external_task_id),
        ):
            if not isinstance(value, str) or not value or "{{" in value:
                raise InvalidArgument(place, f"{name} must be a plain id, got {value!r}")
        for name, date in (("logical_date", logical_date), ("execution_date", execution_date)):
            if " ".join(str(date).split()) not in _SAME_DATE:
                raise InvalidArgument(
                    place,
                    f"{name}={date!r} is not supported: flowtui clears the other DAG's run of "
                    f"the same logical date; leave {name} out",
                )
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.recursion_depth = check_whole_number(recursion_depth, place, "recursion_depth", 1)
        self.logical_date = _SAME_DATE[0]
