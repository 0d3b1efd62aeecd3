"""`ExternalTaskSensor`: wait for another DAG's task, tasks, task group or whole run for the
same logical date (or one `execution_delta` earlier, or those `execution_date_fn` gives), with
Airflow's arguments. It reads the store; the scheduler wakes it when the other DAG's task
instances change state, so it does not wait out its `poke_interval` once they are done."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flowtui.authoring.arguments import to_timedelta
from flowtui.authoring.baseoperator import Context
from flowtui.authoring.exceptions import SkipTask
from flowtui.authoring.operators.python import call_with_context
from flowtui.authoring.sensors.base import BaseSensorOperator, Wake
from flowtui.clock import to_text
from flowtui.errors import InvalidArgument
from flowtui.states import RunState, TaskState


class ExternalTaskFailed(Exception):
    """What the sensor waits for ended in one of its `failed_states`."""


class ExternalTaskSensor(BaseSensorOperator):
    """Wait until the external DAG's task(s) (or, without any, its run) for the matching
    logical date(s) are in `allowed_states`.

    Args:
        external_dag_id: the other DAG.
        external_task_id, external_task_ids, external_task_group_id: what to wait for (at
            most one); none: the other DAG's whole run.
        allowed_states: the states that end the wait (default ["success"]): task states, or
            run states when waiting for a run.
        failed_states: states that fail the sensor at once (skipped with `soft_fail`).
        skipped_states: states that skip the sensor at once.
        execution_delta: the other run's logical date is this much earlier.
        execution_date_fn: called with the logical date (and the context keys it names),
            returns the other run's logical date, or a list of them.
        check_existence: fail at once if the other DAG, or one of its tasks, does not exist.
    """

    def __init__(
        self,
        *,
        external_dag_id: str,
        external_task_id: str | None = None,
        external_task_ids: Sequence[str] | None = None,
        external_task_group_id: str | None = None,
        allowed_states: Iterable[str] | None = None,
        skipped_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        execution_delta: timedelta | float | None = None,
        execution_date_fn: Callable[..., Any] | None = None,
        check_existence: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        place = self._where()
        if not isinstance(external_dag_id, str) or not external_dag_id:
            raise InvalidArgument(place, "external_dag_id must be a DAG id")
        chosen = [external_task_id, external_task_ids, external_task_group_id]
        if sum(x is not None for x in chosen) > 1:
            raise InvalidArgument(
                place,
                "give at most one of external_task_id, external_task_ids and "
                "external_task_group_id",
            )
        if execution_delta is not None and execution_date_fn is not None:
            raise InvalidArgument(place, "give execution_delta or execution_date_fn, not both")
        if execution_date_fn is not None and not callable(execution_date_fn):
            raise InvalidArgument(place, "execution_date_fn must be callable")
        self.external_dag_id = external_dag_id
        self.external_task_ids: list[str] | None = (
            [external_task_id]
            if external_task_id is not None
            else list(external_task_ids)
            if external_task_ids is not None
            else None
        )
        self.external_task_group_id = external_task_group_id
        waits_for_run = self.external_task_ids is None and external_task_group_id is None
        valid = {s.value for s in (RunState if waits_for_run else TaskState)}
        self.allowed_states = _states(allowed_states, ["success"], valid, place, "allowed_states")
        self.skipped_states = _states(skipped_states, [], valid, place, "skipped_states")
        self.failed_states = _states(failed_states, [], valid, place, "failed_states")
        self.execution_delta = to_timedelta(execution_delta, place, "execution_delta")
        self.execution_date_fn = execution_date_fn
        self.check_existence = bool(check_existence)

    def wake_on(self, context: Context) -> list[Wake]:
        return [("dag", self.external_dag_id)]

    def poke(self, context: Context) -> bool:
        conn = context["ti"].connection()
        if conn is None:
            return False
        dates = [to_text(d) for d in self._dates(context)]
        if self.check_existence:
            self._check_existence(conn)
        states = self._states(conn, dates)
        what = self._describe(dates)
        if states and any(s in self.failed_states for s in states):
            message = f"{what} ended in one of the failed states {self.failed_states}"
            if self.soft_fail:
                raise SkipTask(message)
            raise ExternalTaskFailed(message)
        if states and any(s in self.skipped_states for s in states):
            raise SkipTask(f"{what} ended in one of the skipped states {self.skipped_states}")
        done = sum(s in self.allowed_states for s in states)
        expected = len(states) if self.external_task_group_id is not None else self._expected(dates)
        self.log_line(f"{what}: {done} of {expected} in {self.allowed_states}")
        return expected > 0 and done >= expected

    def _dates(self, context: Context) -> list[datetime]:
        logical: datetime = context["logical_date"]
        if self.execution_delta is not None:
            return [logical - self.execution_delta]
        if self.execution_date_fn is not None:
            found = call_with_context(self.execution_date_fn, [logical], {}, context)
            return list(found) if isinstance(found, list | tuple) else [found]
        return [logical]

    def _expected(self, dates: list[str]) -> int:
        return len(dates) * (len(self.external_task_ids) if self.external_task_ids else 1)

    def _states(self, conn: Any, dates: list[str]) -> list[str]:
        """The states of what the sensor waits for, one per task instance (or run) found."""
        marks = ", ".join("?" for _ in dates)
        runs = f"SELECT run_id FROM dag_runs WHERE dag_id = ? AND logical_date IN ({marks})"
        if self.external_task_ids is None and self.external_task_group_id is None:
            sql = f"SELECT state FROM dag_runs WHERE dag_id = ? AND logical_date IN ({marks})"
            return [r[0] for r in conn.execute(sql, (self.external_dag_id, *dates))]
        sql = f"SELECT task_id, state FROM task_instances WHERE dag_id = ? AND run_id IN ({runs})"
        rows = conn.execute(sql, (self.external_dag_id, self.external_dag_id, *dates))
        if self.external_task_ids is not None:
            wanted = set(self.external_task_ids)
            return [state for task_id, state in rows if task_id in wanted]
        prefix = f"{self.external_task_group_id}."
        return [state for task_id, state in rows if task_id.startswith(prefix)]

    def _check_existence(self, conn: Any) -> None:
        import json

        row = conn.execute(
            "SELECT spec FROM dags WHERE dag_id = ?", (self.external_dag_id,)
        ).fetchone()
        if row is None:
            raise ExternalTaskFailed(f"the external DAG {self.external_dag_id!r} does not exist")
        tasks = json.loads(row[0]).get("tasks", {})
        missing = [t for t in self.external_task_ids or () if t not in tasks]
        if missing:
            raise ExternalTaskFailed(
                f"the external DAG {self.external_dag_id!r} has no task {missing[0]!r}"
            )

    def _describe(self, dates: list[str]) -> str:
        if self.external_task_ids is not None:
            what = (
                f"tasks {self.external_task_ids}"
                if len(self.external_task_ids) > 1
                else (f"task {self.external_task_ids[0]!r}")
            )
        elif self.external_task_group_id is not None:
            what = f"task group {self.external_task_group_id!r}"
        else:
            what = "the run"
        return f"{self.external_dag_id} {what} for {', '.join(dates)}"


def _states(
    given: Iterable[str] | None, default: list[str], valid: set[str], place: str, name: str
) -> list[str]:
    states = [str(s.value if hasattr(s, "value") else s) for s in given] if given else default
    unknown = [s for s in states if s not in valid]
    if unknown:
        raise InvalidArgument(
            place,
            f"{name} has unknown state {unknown[0]!r}; use some of: {', '.join(sorted(valid))}",
        )
    return states
