"""The context a task attempt receives (`ds`, `ti`, `params`, `var`, `macros`, ...) and the
`TaskInstance` handle for XCom; running the attempt is `flowtui.execution.task_runner`'s job."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol

from flowtui.authoring.asset_events import InletEventsAccessors, OutletEventAccessors
from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.authoring.params import param_values
from flowtui.authoring.variables import Variable
from flowtui.authoring.xcom import RETURN_KEY, decode_xcom, encode_xcom, pull
from flowtui.clock import in_utc, parse_datetime
from flowtui.records import FrozenRecord

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG
    from flowtui.store.access import CommandSender, MailSender, StoreReader

__all__ = ["AttemptFacts", "Context", "DagRun", "TaskInstance", "build_context"]

_MISSING: Any = object()


class AttemptFacts(Protocol):
    """What the context is built from: the attempt and its run, as the scheduler describes
    them (`flowtui.execution.base.AttemptInfo`). Dates are ISO-8601 text, as stored."""

    @property
    def dag_id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def try_number(self) -> int: ...
    @property
    def max_tries(self) -> int: ...
    @property
    def logical_date(self) -> str: ...
    @property
    def data_interval_start(self) -> str | None: ...
    @property
    def data_interval_end(self) -> str | None: ...
    @property
    def run_type(self) -> str: ...
    @property
    def conf(self) -> dict[str, Any]: ...
    @property
    def db_path(self) -> str: ...
    @property
    def prev_success(self) -> tuple[str | None, str | None] | None:
        """Data interval of the DAG's latest earlier successful run, when the scheduler looked
        it up ((None, None): there is none); None: the context looks it up in the store."""

    @property
    def sensing_since(self) -> str | None:
        """A rescheduled sensor's first poke of this try (`AttemptInfo.sensing_since`)."""

    @property
    def map_index(self) -> int:
        """Which instance of a mapped task; -1 for an unmapped task."""


def _utc(text: str) -> datetime:
    return in_utc(parse_datetime(text))


class DagRun(FrozenRecord):
    """The run an attempt belongs to, as context key `dag_run`. (Not a dataclass: every attempt
    process imports this module, and dataclasses would bring inspect with it.)"""

    __slots__ = _fields = (
        "dag_id",
        "run_id",
        "run_type",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "conf",
    )

    def __init__(
        self,
        dag_id: str,
        run_id: str,
        run_type: str,
        logical_date: datetime,
        data_interval_start: datetime,
        data_interval_end: datetime,
        conf: dict[str, Any] | None = None,
    ) -> None:
        values = (
            dag_id,
            run_id,
            run_type,
            logical_date,
            data_interval_start,
            data_interval_end,
            {} if conf is None else conf,
        )
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    dag_id: str
    run_id: str
    run_type: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    conf: dict[str, Any]

    @property
    def execution_date(self) -> datetime:
        """Airflow's older name for `logical_date`."""
        return self.logical_date

    @property
    def external_trigger(self) -> bool:
        """Whether the run was triggered by hand rather than by the schedule."""
        return self.run_type == "manual"


class TaskInstance:
    """The running attempt, as context keys `ti` / `task_instance`: ids and XCom access.

    Pushed values stay in memory (`pushed`) and reach the store with the attempt's outcome;
    pulls read the store read-only (`flowtui.store.access`: the file, opened once on first use,
    or a remote attempt's proxy).
    """

    log = logging.getLogger("flowtui.task")

    def __init__(
        self, info: AttemptFacts, task: BaseOperator, upstream_task_ids: list[str]
    ) -> None:
        self.dag_id = info.dag_id
        self.task_id = info.task_id
        self.run_id = info.run_id
        self.try_number = info.try_number
        self.max_tries = info.max_tries
        self.map_index = info.map_index
        self.task = task
        self.logical_date = _utc(info.logical_date)
        self.execution_date = self.logical_date
        self.pushed: dict[str, Any] = {}
        """XComs pushed in this attempt, key -> JSON-able value."""
        self._upstream_task_ids = upstream_task_ids
        self.sensing_since = _utc(info.sensing_since) if info.sensing_since else None
        """A sensor rescheduled before in this try: when its first poke started."""
        from flowtui.store import access  # here: not needed where DAG files are parsed

        self._store = access.at(info.db_path)

    def __repr__(self) -> str:
        mapped = f" map_index={self.map_index}" if self.map_index >= 0 else ""
        return (
            f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id}{mapped} "
            f"[try {self.try_number}]>"
        )

    def xcom_push(self, key: str, value: Any) -> None:
        """Push `value` (JSON-able) as XCom `key` of this task.

        Raises:
            XComNotSerializable: `value` is not JSON.
        """
        if not isinstance(key, str) or not key:
            raise TypeError(f"an XCom key must be a non-empty string, got {key!r}")
        # Decode what was encoded: later changes to `value` do not leak into the XCom.
        self.pushed[key] = decode_xcom(encode_xcom(value, task_id=self.task_id, key=key))

    def xcom_pull(
        self,
        task_ids: str | list[str] | None = None,
        key: str = RETURN_KEY,
        dag_id: str | None = None,
        run_id: str | None = None,
        default: Any = None,
        map_indexes: int | None = None,
    ) -> Any:
        """Pull XCom `key` pushed by other tasks (this run and DAG unless told otherwise).

        Args:
            task_ids: one id (returns its value or `default`); a list (returns the values
                found, in that order); None (the first direct upstream task with the key).
                A mapped task's value is the list of its instances' values, by map index.
            key: the XCom key.
            dag_id: another DAG to read from.
            run_id: another run to read from.
            default: returned when nothing matches (single id or None).
            map_indexes: one instance of mapped tasks to read (Airflow's argument; one int).
        """
        ids = [task_ids] if isinstance(task_ids, str) else task_ids
        if ids is None:
            ids = self._upstream_task_ids
        found = self._read(
            list(ids), key, dag_id or self.dag_id, run_id or self.run_id, map_indexes
        )
        if isinstance(task_ids, str):
            return found.get(task_ids, default)
        if task_ids is None:
            return next((found[t] for t in ids if t in found), default)
        return [found[t] for t in ids if t in found]

    def _read(
        self, task_ids: list[str], key: str, dag_id: str, run_id: str, map_index: int | None
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        same_run = dag_id == self.dag_id and run_id == self.run_id
        if same_run and key in self.pushed and self.task_id in task_ids:
            found[self.task_id] = self.pushed[key]
        rest = [t for t in task_ids if t not in found]
        conn = self.connection()
        mapped = self._mapped(rest) if dag_id == self.dag_id else ()
        if rest and conn is not None:
            with contextlib.suppress(sqlite3.OperationalError):  # a never-migrated store
                found.update(pull(conn, dag_id, run_id, rest, key, mapped, map_index))
        return found

    def _mapped(self, task_ids: list[str]) -> list[str]:
        """The mapped tasks among `task_ids` of this DAG."""
        dag = self.task.dag
        if dag is None or "mapped_outputs" not in vars(dag):
            return []  # most DAGs: nothing is mapped
        tasks = [vars(dag)["task_dict"].get(t) for t in task_ids]
        return [t.task_id for t in tasks if getattr(t, "is_mapped", False)]

    @property
    def store_path(self) -> Path | None:
        """The store's file (a sensor waiting on other DAGs watches it change); None in a
        remote attempt, which has no store here."""
        return self._store.path

    def connection(self) -> StoreReader | None:
        """The store's read-only queries, opened on first use; None when it does not exist."""
        return self._store.reader()

    def home_commands(self, actor: str) -> CommandSender | None:
        """What sends `actor`'s commands to the home's scheduler for an attempt on a Dask
        worker; None for one on the home's machine, which connects to it itself."""
        return self._store.commands(actor)

    def home_mailer(self) -> MailSender | None:
        """What sends mail with the home's `[smtp]` for an attempt on a Dask worker; None for
        one on the home's machine, which reads `flowtui.toml` itself."""
        return self._store.mailer()

    def close(self) -> None:
        """Close the store connection, if it was opened."""
        self._store.close()


class _VariableView:
    """`var.value.X` and `var.json.X` in templates."""

    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default_var: Any = _MISSING) -> Any:
        """The variable, or `default_var` when it is not set (an error without one)."""
        return Variable.get(key, default_var, deserialize_json=self._json)


def ds_add(ds: str, days: int) -> str:
    """`ds` (YYYY-MM-DD) moved by `days` days."""
    return (datetime.strptime(ds, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """`ds` parsed with `input_format` and written with `output_format`."""
    return datetime.strptime(ds, input_format).strftime(output_format)


MACROS = SimpleNamespace(
    ds_add=ds_add, ds_format=ds_format, datetime=datetime, timedelta=timedelta, time=time, json=json
)
"""Context key `macros`, as in Airflow (the parts without extra dependencies)."""

VARIABLES = SimpleNamespace(value=_VariableView(False), json=_VariableView(True))
"""Context key `var` (the views keep no state: one for every attempt)."""


def build_context(dag: DAG, task: BaseOperator, info: AttemptFacts, ti: TaskInstance) -> Context:
    """The context of one attempt of `task`; see the module docstring for the keys."""
    logical = ti.logical_date  # parsed once, by the task instance
    start = _utc(info.data_interval_start) if info.data_interval_start else logical
    end = _utc(info.data_interval_end) if info.data_interval_end else logical
    conf = dict(info.conf or {})
    dag_run = DagRun(info.dag_id, info.run_id, info.run_type, logical, start, end, conf)
    previous = info.prev_success  # given by the scheduler: no store to open here
    if previous is None:
        previous = _previous_success(ti.connection(), info.dag_id, info.logical_date)
    prev_start, prev_end = (_utc(d) if d else None for d in previous)
    ds = logical.strftime("%Y-%m-%d")
    ds_nodash = ds.replace("-", "")
    ts = logical.isoformat()
    return {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "run_id": info.run_id,
        "dag_run": dag_run,
        "conf": conf,
        "params": {**param_values(dag.params), **param_values(task.params), **conf},
        "logical_date": logical,
        "execution_date": logical,
        "ds": ds,
        "ds_nodash": ds_nodash,
        "ts": ts,
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": ts.replace("-", "").replace(":", ""),
        "data_interval_start": start,
        "data_interval_end": end,
        "prev_data_interval_start_success": prev_start,
        "prev_data_interval_end_success": prev_end,
        "var": VARIABLES,
        "macros": MACROS,
        "try_number": info.try_number,
        "max_tries": info.max_tries,
        "templates_dict": None,
        "task_instance_key_str": f"{info.dag_id}__{info.task_id}__{ds_nodash}",
        "inlets": task.inlets,
        "outlets": task.outlets,
        "inlet_events": InletEventsAccessors(task.inlets, ti.connection),
        "outlet_events": OutletEventAccessors(),
    }


def _previous_success(
    conn: StoreReader | None, dag_id: str, logical_date: str
) -> tuple[str | None, str | None]:
    if conn is None:
        return None, None
    from flowtui.store.reads import previous_success  # here: seldom needed in an attempt

    try:
        return previous_success(conn, dag_id, logical_date)
    except sqlite3.OperationalError:  # a store that was never migrated
        return None, None
