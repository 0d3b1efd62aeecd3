"""Storing what a parse of DAG files found: each DAG's spec, an import error per broken file,
and which DAGs are no longer defined (inactive, their history kept). A DAG id defined by two
files is an import error of the later one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

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
    specs: dict[str, DagSpec] = {}
    for result in sorted(results, key=lambda r: r.path):
        _claim_ids(result, owners)
        if result.error is not None:
            writes.set_import_error(conn, result.path, result.error.line, result.error.message, ts)
            continue
        writes.clear_import_errors(conn, [result.path])
        for spec in result.specs:
            specs[spec.dag_id] = spec
            owners[spec.dag_id] = spec.fileloc
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
