"""The command line's ways into a home: opening its store (the home created first), loading the
DAG folder into the store when no scheduler does it, sending a command to whoever applies it,
and naming a DAG the store does not know."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flowtui.config import Settings
from flowtui.errors import DagNotFound

if TYPE_CHECKING:
    import sqlite3

    from flowtui.commands.model import Command
    from flowtui.store import Store


@contextmanager
def open_store(settings: Settings) -> Iterator[Store]:
    """The home's store, created with the home on first use, closed on the way out."""
    from flowtui.store import Store

    settings.ensure_home()
    store = Store(settings.db_path)
    try:
        yield store
    finally:
        store.close()


def parse_folder(settings: Settings) -> None:
    """Load the DAG folder into the store (what `dags list` and `dags errors` show)."""
    from flowtui.clock import to_text, utcnow
    from flowtui.execution.local.executor import parse_dag_folder
    from flowtui.loading.record import record

    results = parse_dag_folder(settings)
    with open_store(settings) as store, store.transaction() as conn:
        record(conn, results, to_text(utcnow()))


def send(settings: Settings, command: Command, *, dag_id: str | None = None) -> dict[str, Any]:
    """Send `command` to the home's scheduler (or apply it under its lock when none runs).
    With `dag_id`, a DAG the store does not know yet is looked for in the folder first."""
    from flowtui.commands.model import default_actor
    from flowtui.scheduling.clients import connect
    from flowtui.scheduling.lock import holder_pid

    settings.ensure_home()
    if dag_id is not None and holder_pid(settings.lock_path) is None:
        with open_store(settings) as store:
            known = knows_dag(store.conn, dag_id)
        if not known:
            parse_folder(settings)
    return connect(settings, default_actor("cli")).send(command)


def check_dag(conn: sqlite3.Connection, dag_id: str) -> None:
    """Raise `DagNotFound` unless the store knows `dag_id`."""
    if not knows_dag(conn, dag_id):
        raise DagNotFound(dag_id)


def knows_dag(conn: sqlite3.Connection, dag_id: str) -> bool:
    """Whether the store holds `dag_id`, active or not (one primary-key lookup)."""
    from flowtui.store import reads

    return reads.dag_spec(conn, dag_id) is not None
