"""`TriggerDagRunOperator`: create a run of another DAG, with Airflow's arguments, through the
command path `flowtui dags trigger` takes (the home's running scheduler, or the store directly
in the home's offline turn when none runs; from a Dask worker, the scheduler's side sends the
command to the scheduler for it), and optionally wait until that run ends. Waiting looks at the
run in the store (read-only, as `ExternalTaskSensor` does) every `poke_interval`."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from flowtui.authoring.arguments import to_timedelta
from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.authoring.exceptions import AirflowException, SkipTask
from flowtui.clock import in_utc, parse_datetime, utcnow
from flowtui.errors import InvalidArgument
from flowtui.states import RunState

if TYPE_CHECKING:
    from flowtui.authoring.context import TaskInstance
    from flowtui.commands.model import CommandClient

XCOM_RUN_ID = "trigger_run_id"
XCOM_LOGICAL_DATE_ISO = "trigger_logical_date_iso"


class DagRunAlreadyExists(AirflowException):
    """The run to trigger exists, and neither `reset_dag_run` nor `skip_when_already_exists`
    says what to do about it."""


class TriggeredRunFailed(AirflowException):
    """The triggered run ended in one of `failed_states`."""


class TriggerDagRunOperator(BaseOperator):
    """Trigger a run of `trigger_dag_id`; push its run id as XCom `trigger_run_id` (and its
    logical date as `trigger_logical_date_iso`).

    Args:
        trigger_dag_id: the DAG to run (templated).
        trigger_run_id: the new run's id (templated); None: `manual__<logical date>`.
        conf: the run's conf, a JSON object (templated).
        logical_date: the run's logical date, a datetime or ISO text (templated); None: now.
        reset_dag_run: when the run exists, clear it (every task) instead of failing.
        wait_for_completion: wait until the run is in `allowed_states` or `failed_states`.
        poke_interval: seconds (or a timedelta) between looks at the run while waiting.
        allowed_states: run states that end the wait with success.
        failed_states: run states that fail the task.
        skip_when_already_exists: when the run exists (and is not reset), end `skipped`.
        deferrable: only False: flowtui has no triggerer, the task waits in its process.
    """

    template_fields: ClassVar[tuple[str, ...]] = (
        "trigger_dag_id",
        "trigger_run_id",
        "logical_date",
        "conf",
    )

    def __init__(
        self,
        *,
        trigger_dag_id: str,
        trigger_run_id: str | None = None,
        conf: dict[str, Any] | None = None,
        logical_date: str | datetime | None = None,
        reset_dag_run: bool = False,
        wait_for_completion: bool = False,
        poke_interval: timedelta | float = 60,
        allowed_states: Iterable[str] | None = None,
        failed_states: Iterable[str] | None = None,
        skip_when_already_exists: bool = False,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        place = self._where()
        if deferrable:
            raise InvalidArgument(
                place,
                "deferrable=True is not supported (flowtui has no triggerer); drop it, and "
                "wait_for_completion waits in the task's process",
            )
        if not isinstance(trigger_dag_id, str) or not trigger_dag_id:
            raise InvalidArgument(place, "trigger_dag_id must be a DAG id")
        if logical_date is not None and not isinstance(logical_date, str | datetime):
            raise InvalidArgument(
                place, f"logical_date must be a datetime or ISO text, got {logical_date!r}"
            )
        try:
            json.dumps(conf)
        except (TypeError, ValueError):
            raise InvalidArgument(place, "conf must be JSON (a dict of JSON values)") from None
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf = conf
        self.logical_date = logical_date
        self.reset_dag_run = bool(reset_dag_run)
        self.wait_for_completion = bool(wait_for_completion)
        interval = to_timedelta(poke_interval, place, "poke_interval")
        self.poke_interval = interval.total_seconds() if interval is not None else 60.0
        self.allowed_states = _run_states(allowed_states, ["success"], place, "allowed_states")
        self.failed_states = _run_states(failed_states, ["failed"], place, "failed_states")
        self.skip_when_already_exists = bool(skip_when_already_exists)

    def execute(self, context: Context) -> Any:
        """Trigger the run (or reset or skip an existing one), push its ids, then wait for it
        if told to."""
        if self.conf is not None and not isinstance(self.conf, dict):
            raise InvalidArgument(self._where(), f"conf must be a dict, got {self.conf!r}")
        logical = self._logical_date()
        run_id = self.trigger_run_id or f"manual__{logical.isoformat()}"
        ti = context["ti"]
        client, is_offline = self._client(ti, context)
        if self._run_state(ti, run_id) is None:
            from flowtui.commands.model import Trigger

            command = Trigger(self.trigger_dag_id, self.conf, logical.isoformat(), run_id=run_id)
            created = client.send(command)
            print(f"Triggered DAG {self.trigger_dag_id!r}: run {created['run_id']}")
        elif self.reset_dag_run:
            from flowtui.commands.model import Clear

            client.send(Clear(self.trigger_dag_id, run_id=run_id))
            print(f"Cleared the existing run {run_id} of DAG {self.trigger_dag_id!r}")
        elif self.skip_when_already_exists:
            raise SkipTask(f"DAG {self.trigger_dag_id!r} already has a run {run_id!r}")
        else:
            raise DagRunAlreadyExists(
                f"DAG {self.trigger_dag_id!r} already has a run {run_id!r}; set "
                "reset_dag_run=True to clear it, or skip_when_already_exists=True"
            )
        ti.xcom_push(XCOM_LOGICAL_DATE_ISO, logical.isoformat())
        ti.xcom_push(XCOM_RUN_ID, run_id)
        if self.wait_for_completion:
            if is_offline:
                print("No scheduler runs on this home: the run starts when one does.")
            self._wait(ti, run_id)
        return None

    def _logical_date(self) -> datetime:
        value = self.logical_date
        if value is None:
            return utcnow()
        if isinstance(value, datetime):
            return in_utc(value)
        try:
            return in_utc(parse_datetime(str(value)))
        except ValueError:
            raise InvalidArgument(
                self._where(), f"logical_date {value!r} is no ISO date or datetime"
            ) from None

    def _client(self, ti: TaskInstance, context: Context) -> tuple[CommandClient, bool]:
        """The home's command client, and whether it applies commands offline (no
        scheduler runs to start the triggered run)."""
        dag = context["dag"]
        actor = f"task:{dag.dag_id}.{self.task_id}"
        remote = ti.home_commands(actor)
        if remote is not None:  # on a Dask worker: sent from the scheduler, which runs
            return remote, False
        store_path = ti.store_path
        assert store_path is not None  # only a remote attempt has no store file here
        # A task that triggers is a command client, as `flowtui dags trigger` is. Its module
        # is imported by name at run time: scheduling sits above authoring and imports it, so
        # a static import would make the two packages a cycle.
        clients = importlib.import_module("flowtui.scheduling.clients")
        from flowtui.config import Settings

        folder = Path(dag.fileloc).parent if dag.fileloc else store_path.parent
        settings = Settings(store_path.parent, folder, "a task")
        client: CommandClient = clients.connect(settings, actor)
        return client, isinstance(client, clients.Offline)

    def _run_state(self, ti: Any, run_id: str) -> str | None:
        conn = ti.connection()
        if conn is None:
            return None
        row = conn.execute(
            "SELECT state FROM dag_runs WHERE dag_id = ? AND run_id = ?",
            (self.trigger_dag_id, run_id),
        ).fetchone()
        return None if row is None else str(row[0])

    def _wait(self, ti: Any, run_id: str) -> None:
        # Airflow's non-deferrable wait: look, then sleep `poke_interval`, until it ends.
        while True:
            state = self._run_state(ti, run_id)
            print(f"Waiting for {self.trigger_dag_id} run {run_id}: {state}")
            if state in self.failed_states:
                raise TriggeredRunFailed(f"{self.trigger_dag_id} failed with failed state {state}")
            if state in self.allowed_states:
                print(f"{self.trigger_dag_id} finished with allowed state {state}")
                return
            time.sleep(self.poke_interval)


def _run_states(
    given: Iterable[str] | None, default: list[str], place: str, name: str
) -> list[str]:
    states = [str(getattr(s, "value", s)) for s in given] if given is not None else default
    valid = {s.value for s in RunState}
    unknown = [s for s in states if s not in valid]
    if unknown:
        raise InvalidArgument(
            place,
            f"{name} has unknown run state {unknown[0]!r}; use some of: {', '.join(sorted(valid))}",
        )
    return states
