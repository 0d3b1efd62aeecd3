"""The command line's ways into a home: opening its store (the home created first), parsing the
DAG folder (to show it, storing nothing, or to store the one DAG a command names), sending a
command to whoever applies it, and naming a DAG the store does not know."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.config import Settings
from flowtui.errors import DagNotInStore

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from flowtui.commands.model import Command
    from flowtui.loading.loader import FileResult
    from flowtui.spec import DagSpec
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


class FolderParse(NamedTuple):
    """What the DAG folder defines now, as a parse of it found it. (A named tuple: every
    command imports this module, and a frozen dataclass costs ~1 ms to make.)"""

    dags: dict[str, DagSpec]
    """By dag_id, in dag_id order."""
    failed: list[FileResult]
    """The files that did not load (each with its `error`), in path order."""


def parse_folder(settings: Settings) -> FolderParse:
    """Parse the DAG folder and store nothing: what `dags list` and `dags errors` show is the
    folder they were given, and the home's record of its scheduler's folder stays as it is."""
    from flowtui.execution.local.executor import parse_dag_folder
    from flowtui.loading.record import defined_dags

    settings.ensure_home()  # the fork server logs under it
    results = parse_dag_folder(settings)
    dags = defined_dags(results)  # turns a duplicate id into an error first
    failed = sorted((r for r in results if r.error is not None), key=lambda r: r.path)
    return FolderParse(dict(sorted(dags.items())), failed)


def send(settings: Settings, command: Command, *, dag_id: str | None = None) -> dict[str, Any]:
    """Send `command` to the home's scheduler (or apply it in the home's offline turn when none
    runs). With `dag_id`, a DAG the store does not know yet is looked for in the folder first."""
    from flowtui.commands.model import default_actor
    from flowtui.scheduling.clients import connect
    from flowtui.scheduling.lock import holder_pid

    settings.ensure_home()
    if dag_id is not None and holder_pid(settings.lock_path) is None:
        with open_store(settings) as store:
            known = knows_dag(store.conn, dag_id)
        if not known:
            _register(settings, dag_id)
    return connect(settings, default_actor("cli")).send(command)


def _register(settings: Settings, dag_id: str) -> None:
    """Store `dag_id` from the DAG folder, and only it, unless a scheduler started meanwhile
    (it answers for its own folder). Nothing is stored when the folder does not define it: the
    command then names the missing DAG."""
    from flowtui.clock import to_text, utcnow
    from flowtui.execution.local.executor import parse_dag_folder
    from flowtui.loading.record import register
    from flowtui.scheduling.lock import offline_turn

    results = parse_dag_folder(settings)  # before the turn: parsing takes seconds
    with offline_turn(settings.lock_path) as no_scheduler, open_store(settings) as store:
        if no_scheduler:
            with store.transaction() as conn:
                register(conn, results, dag_id, settings, to_text(utcnow()))


def check_dag(conn: sqlite3.Connection, dag_id: str, home: Path | None = None) -> None:
    """Raise `DagNotInStore` unless the store (of `home`) knows `dag_id`: the DAG folder may
    define a DAG the store has not seen, as `dags list` shows the folder, not the store."""
    if not knows_dag(conn, dag_id):
        raise DagNotInStore(dag_id, home)


def knows_dag(conn: sqlite3.Connection, dag_id: str) -> bool:
    """Whether the store holds `dag_id`, active or not (one primary-key lookup)."""
    from flowtui.store import reads

    return reads.dag_spec(conn, dag_id) is not None
