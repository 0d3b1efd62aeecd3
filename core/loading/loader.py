"""The DAG loader: finds DAG files, imports each in its own child process with a time limit
(through the executor's fork server), and records what it found in the store: DAG specs for
good files, an import error (file, line, message) for each broken one. One broken file never
stops the others."""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowtui.config import Settings
from flowtui.execution.local.executor import ExecutorEvent, LocalExecutor
from flowtui.spec import DagSpec
from flowtui.store import reads, writes

logger = logging.getLogger(__name__)

PARSE_PREFIX = "parse:"
_IN_FLIGHT = 4
"""Files imported at once: enough to hide each child's start-up, few enough for 2 cores."""
_PRELOAD_SECONDS = 0.5
"""A file that imports faster than this and starts no thread is imported once in the fork
server, so attempts inherit it instead of importing it again."""


@dataclass
class FileResult:
    """What importing one DAG file gave."""

    path: str
    specs: list[DagSpec] = field(default_factory=list)
    error: tuple[int | None, str] | None = None
    preload: bool = False


def discover(folder: Path) -> list[Path]:
    """DAG files under `folder`: `.py` files that mention both "flowtui" and "dag", as
    Airflow's safe mode does, so that helper modules beside the DAGs are not imported."""
    return [p for p in sorted(folder.rglob("*.py")) if is_dag_file(p, folder)]


def is_dag_file(path: Path, folder: Path) -> bool:
    """Whether `path` is a DAG file of `folder` (see `discover`); False once it is deleted."""
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        return False
    if any(p.startswith((".", "__pycache__")) for p in parts):
        return False
    try:
        text = path.read_text(errors="replace").lower()
    except OSError:
        return False
    return "flowtui" in text and "dag" in text


class DagLoader:
    """Imports DAG files through an executor; `deliver` takes the executor's parse events."""

    def __init__(self, settings: Settings, executor: LocalExecutor) -> None:
        self.settings = settings
        self.executor = executor
        self._pending: dict[str, tuple[str, threading.Event]] = {}
        self._results: dict[str, FileResult] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def deliver(self, event: ExecutorEvent) -> None:
        """Handle a parse child's events (called on the executor's reader thread)."""
        if event["ev"] == "server_died":
            with self._lock:
                pending, self._pending = self._pending, {}
            for key, (path, done) in pending.items():
                self._fail(key, path, done)
            return
        if event["ev"] != "exited":
            return
        with self._lock:
            path, done = self._pending.pop(event["key"])
        self._results[event["key"]] = _file_result(path, event, self.settings)
        done.set()

    def _fail(self, key: str, path: str, done: threading.Event) -> None:
        self._results[key] = FileResult(
            path,
            error=(
                None,
                (
                    "the fork server that imports DAG files died; see logs/executor.log under the "
                    "home, and report it if it happens again"
                ),
            ),
        )
        done.set()

    def parse_files(self, paths: list[Path]) -> list[FileResult]:
        """Import each file in its own child, a few at a time; results in `paths` order."""
        keys: list[str] = []
        waits: list[threading.Event] = []
        for path in paths:
            if len(waits) - sum(w.is_set() for w in waits) >= _IN_FLIGHT:
                next(w for w in waits if not w.is_set()).wait()
            key = f"{PARSE_PREFIX}{next(self._ids)}"
            done = threading.Event()
            with self._lock:
                self._pending[key] = (str(path), done)
            try:
                self.executor.parse_file(
                    key,
                    str(path),
                    str(self.settings.logs_dir / "dag_processor.log"),
                    self.settings.dag_file_import_timeout,
                )
            except OSError:  # the fork server is gone: this file cannot be imported now
                with self._lock:
                    self._pending.pop(key, None)
                self._fail(key, str(path), done)
            keys.append(key)
            waits.append(done)
        for done in waits:
            done.wait()
        return [self._results.pop(k) for k in keys]

    def parse_folder(self) -> list[FileResult]:
        return self.parse_files(discover(self.settings.dags_folder))


def parse_folder_once(settings: Settings) -> list[FileResult]:
    """Parse the DAG folder with a fork server of its own, for a command that runs no
    scheduler (`dags list`, `tasks test`)."""
    executor = LocalExecutor(settings, lambda event: loader.deliver(event))
    loader = DagLoader(settings, executor)
    settings.ensure_home()
    executor.start()
    try:
        return loader.parse_folder()
    finally:
        executor.stop()


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
            line, message = result.error
            writes.set_import_error(conn, result.path, line, message, ts)
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
            result.error = (
                None,
                (
                    f"DAG id {spec.dag_id!r} is already defined in {owners[spec.dag_id]}; "
                    f"give each DAG its own dag_id"
                ),
            )
            return


def _file_result(path: str, event: dict[str, Any], settings: Settings) -> FileResult:
    result = event.get("result")
    if event.get("timed_out"):
        return FileResult(
            path,
            error=(
                None,
                (
                    f"importing took longer than {settings.dag_file_import_timeout:g} s and was "
                    f"stopped; a DAG file must not block when imported (dag_file_import_timeout in "
                    f"flowtui.toml sets the limit)"
                ),
            ),
        )
    if result is None:
        return FileResult(
            path,
            error=(
                None,
                (
                    f"the import ended its process (exit code {event['exit_code']}); "
                    f"a DAG file must not exit or crash when imported"
                ),
            ),
        )
    if "error" in result:
        return FileResult(path, error=(result["error"]["line"], result["error"]["message"]))
    return FileResult(
        path,
        specs=[DagSpec.from_dict(d) for d in result["dags"]],
        preload=result["seconds"] < _PRELOAD_SECONDS and not result["starts_threads"],
    )
