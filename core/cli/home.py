"""The command line's ways into a home: opening its store (the home created first), parsing the
DAG folder (to show it, storing nothing, or to store the one DAG a command names), sending a
command to whoever applies it, naming a DAG the store does not know, finding the run `latest`
stands for, and warning about a DAG folder with nothing to load."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.config import Settings, dags_folder_problem
from flowtui.errors import DagNotInStore, RunNotFound

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


LATEST = "latest"
"""The run id that stands for a DAG's latest run (by logical date) in every command."""


def resolve_run_id(conn: sqlite3.Connection, dag_id: str, run_id: str, home: Path) -> str:
    """`run_id`, or for `latest` the DAG's latest run's id, by logical date (a run that is
    really named "latest" is that run).

    Raises:
        DagNotInStore: `latest` of a DAG the store does not know.
        RunNotFound: `latest` of a DAG without runs.
    """
    from flowtui.store import reads

    if run_id != LATEST or reads.run(conn, dag_id, run_id) is not None:
        return run_id
    check_dag(conn, dag_id, home)
    latest = reads.run(conn, dag_id)
    if latest is None:
        raise RunNotFound(dag_id, None)
    return str(latest["run_id"])


def latest_resolved(settings: Settings, dag_id: str, run_id: str) -> str:
    """`resolve_run_id` on the home's store, for a command that sends the run id on."""
    if run_id != LATEST:
        return run_id
    with open_store(settings) as store:
        return resolve_run_id(store.conn, dag_id, run_id, settings.home)


def warn_about_dags_folder(settings: Settings) -> None:
    """One warning line on stderr when the DAG folder is missing or holds no Python file."""
    import sys

    problem = dags_folder_problem(settings.dags_folder)
    if problem is not None:
        print(f"flowtui: warning: {problem}", file=sys.stderr)
