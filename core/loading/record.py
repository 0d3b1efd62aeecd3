"""Storing what a parse of DAG files found: each DAG's spec, an import error per broken file,
and which DAGs are no longer defined (inactive, their history kept), as the home's scheduler
does; or just the one DAG a command runs, leaving the home's record of its scheduler's folder
alone. A DAG id defined by two files is an import error of the later one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from flowtui.config import Settings
from flowtui.errors import DagDefinedElsewhere
from flowtui.loading.loader import FileResult
from flowtui.loading.parse import ImportProblem
from flowtui.spec import DagSpec
from flowtui.store import reads, writes


def record(
    conn: sqlite3.Connection,
    results: list[FileResult],
    ts: str,
    *,
    complete: bool = True,
    deleted: Iterable[str] = (),
) -> dict[str, DagSpec]:
    """Store what a parse found and return the DAGs it loaded, by id.

    With `complete`, `results` cover the whole folder: DAGs not found any more become inactive
    (their history stays). Otherwise only the files in `results` and `deleted` changed (hot
    reload): DAGs those files no longer define become inactive. A DAG id defined by two files
    is an import error of the later one (in path order; a file already loaded wins).
    """
    changed = {r.path for r in results} | set(deleted)
    loaded = reads.dags(conn)
    owners = (
        {}
        if complete
        else {d["dag_id"]: d["fileloc"] for d in loaded if d["fileloc"] not in changed}
    )
    specs = _claim_all(results, owners)
    for result in results:
        if result.error is not None:
            writes.set_import_error(conn, result.path, result.error.line, result.error.message, ts)
        else:
            writes.clear_import_errors(conn, [result.path])
    for spec in specs.values():
        writes.upsert_dag(conn, spec, ts)
    writes.clear_import_errors(conn, deleted)
    if complete:
        gone = [e["filename"] for e in reads.import_errors(conn) if e["filename"] not in changed]
        writes.clear_import_errors(conn, gone)
    stale = [
        d["dag_id"]
        for d in loaded
        if d["dag_id"] not in specs and (complete or d["fileloc"] in changed)
    ]
    writes.deactivate_dags(conn, stale)
    return specs


def defined_dags(results: list[FileResult]) -> dict[str, DagSpec]:
    """The DAGs a parse of a whole folder defines, by id, storing nothing (what a read-only
    command shows); a DAG id defined by two files becomes an import error of the later one, as
    `record` makes it."""
    return _claim_all(results, {})


def register(
    conn: sqlite3.Connection, results: list[FileResult], dag_id: str, settings: Settings, ts: str
) -> DagSpec | None:
    """Store `dag_id` as the parse of the DAG folder defines it, and nothing else: a command that
    runs one DAG (`dags test`, `dags trigger`) leaves the other DAGs and the import errors as
    the home's scheduler recorded them, whichever folder that scheduler serves.

    Returns:
        The DAG's spec; None when the folder does not define it.

    Raises:
        DagDefinedElsewhere: the home's active DAG of that id comes from a file outside
            the DAG folder that still exists; replacing it would make the home's scheduler
            run this file instead.
    """
    spec = defined_dags(results).get(dag_id)
    if spec is None:
        return None
    stored = conn.execute(
        "SELECT fileloc FROM dags WHERE dag_id = ? AND is_active = 1", (dag_id,)
    ).fetchone()
    if stored is not None and stored[0] != spec.fileloc:
        home_file = Path(stored[0])
        if home_file.exists() and not home_file.is_relative_to(settings.dags_folder):
            raise DagDefinedElsewhere(dag_id, spec.fileloc, stored[0], settings.home)
    writes.upsert_dag(conn, spec, ts)
    return spec


def _claim_all(results: list[FileResult], owners: dict[str, str]) -> dict[str, DagSpec]:
    """The DAGs of `results` by id, in path order; an id `owners` or an earlier file already
    has becomes the later file's import error."""
    specs: dict[str, DagSpec] = {}
    for result in sorted(results, key=lambda r: r.path):
        _claim_ids(result, owners)
        if result.error is None:
            for spec in result.specs:
                specs[spec.dag_id] = spec
                owners[spec.dag_id] = spec.fileloc
    return specs


def _claim_ids(result: FileResult, owners: dict[str, str]) -> None:
    """Turn a DAG id that another file already defines into this file's import error."""
    if result.error is not None:
        return
    for spec in result.specs:
        if spec.dag_id in owners:
            result.error = ImportProblem(
                None,
                f"DAG id {spec.dag_id!r} is already defined in {owners[spec.dag_id]}; "
                f"give each DAG its own dag_id",
            )
            return
