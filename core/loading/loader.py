"""The DAG loader: finds DAG files and has each imported in a child process of its own, with a
time limit, through a `FileParser` (the local fork server). A broken file never stops the
others: its result is an `ImportProblem`. Storing what was found is `record.py`'s job."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from flowtui.config import Settings
from flowtui.loading.ignore import is_ignored
from flowtui.loading.parse import ImportProblem, ParseExit, ParseRequest, Preload
from flowtui.records import Record
from flowtui.spec import DagSpec

_IN_FLIGHT = 4
"""Files imported at once: enough to hide each child's start-up, few enough for 2 cores."""


class FileParser(Protocol):
    """Runs a `ParseRequest` in a child process and calls `done` once it ended (on another
    thread). The local fork server is the one implementation: DAG files are always parsed on
    the scheduler's machine, whichever executor runs the attempts."""

    def parse_file(self, request: ParseRequest, done: Callable[[ParseExit], None]) -> None:
        """Start the parse.

        Raises:
            OSError: the fork server is gone; `done` will not be called.
        """


class FileResult(Record):
    """What importing one DAG file gave. Written out rather than a dataclass (a dataclass costs
    ~1 ms at import to compile its methods): the same fields, defaults, equality and repr;
    mutable (`record.py` turns a DAG id another file defines into the file's `error`)."""

    __slots__ = ("error", "path", "preload", "specs")
    _fields = ("path", "specs", "error", "preload")

    def __init__(
        self,
        path: str,
        specs: list[DagSpec] | None = None,
        error: ImportProblem | None = None,
        preload: Preload = "",
    ) -> None:
        self.path = path
        self.specs: list[DagSpec] = [] if specs is None else specs
        self.error = error
        self.preload = preload
        """Where the file is imported once, so that its attempts inherit it rather than import
        it again, however long the import takes (a 10,000-task DAG takes 0.5-1 s): in the fork
        server ("server") when its import starts no thread (a thread does not survive a fork,
        and a lock it held stays held in every child), else in a template process of its own
        ("template"); "" for a file that failed to import."""


def discover(folder: Path) -> list[Path]:
    """DAG files under `folder`: `.py` files that mention "dag" and either "flowtui" or
    "airflow" (any case), as Airflow's safe mode does, so that helper modules beside the DAGs
    are not imported; minus what a `.flowtuiignore` or `.airflowignore` excludes (`ignore`)."""
    return [p for p in sorted(folder.rglob("*.py")) if is_dag_file(p, folder)]


def is_dag_file(path: Path, folder: Path) -> bool:
    """Whether `path` is a DAG file of `folder` (see `discover`); False once it is deleted."""
    try:
        parts = path.relative_to(folder).parts
    except ValueError:
        return False
    if any(p.startswith((".", "__pycache__")) for p in parts) or is_ignored(path, folder):
        return False
    try:
        text = path.read_text(errors="replace").lower()
    except OSError:
        return False
    return "dag" in text and ("flowtui" in text or "airflow" in text)


class DagLoader:
    """Imports DAG files, a few at a time, each in its own child."""

    def __init__(self, settings: Settings, parser: FileParser) -> None:
        self.settings = settings
        self.parser = parser

    def parse_folder(self) -> list[FileResult]:
        return self.parse_files(discover(self.settings.dags_folder))

    def parse_files(self, paths: list[Path]) -> list[FileResult]:
        """Import each file in its own child; results in `paths` order."""
        results: dict[int, FileResult] = {}
        finished = [threading.Event() for _ in paths]
        slots = threading.BoundedSemaphore(_IN_FLIGHT)
        log = str(self.settings.logs_dir / "dag_processor.log")
        for index, path in enumerate(paths):
            request = ParseRequest(str(path), log, self.settings.dag_file_import_timeout)

            def done(exit: ParseExit, index: int = index, request: ParseRequest = request) -> None:
                results[index] = self._result(request, exit)
                finished[index].set()
                slots.release()

            slots.acquire()  # whichever parse ends first frees the slot
            try:
                self.parser.parse_file(request, done)
            except OSError:  # the fork server is gone: this file cannot be imported now
                done(ParseExit(None, None))
        for event in finished:
            event.wait()
        return [results[index] for index in range(len(paths))]

    def _result(self, request: ParseRequest, exit: ParseExit) -> FileResult:
        report = exit.report
        if exit.timed_out:
            return FileResult(
                request.path,
                error=ImportProblem(
                    None,
                    f"importing took longer than {request.timeout:g} s and was stopped; a DAG "
                    f"file must not block when imported (dag_file_import_timeout in "
                    f"flowtui.toml sets the limit)",
                ),
            )
        if exit.exit_code is None:
            return FileResult(
                request.path,
                error=ImportProblem(
                    None,
                    "the fork server that imports DAG files died; see logs/executor.log under "
                    "the home, and report it if it happens again",
                ),
            )
        if report is None:
            return FileResult(
                request.path,
                error=ImportProblem(
                    None,
                    f"the import ended its process (exit code {exit.exit_code}); "
                    f"a DAG file must not exit or crash when imported",
                ),
            )
        if report.problem is not None:
            return FileResult(request.path, error=report.problem)
        unconfigured = self._unconfigured_executor(report.specs)
        if unconfigured is not None:
            return FileResult(request.path, error=ImportProblem(None, unconfigured))
        return FileResult(
            request.path,
            specs=list(report.specs),
            preload="template" if report.starts_threads else "server",
        )

    def _unconfigured_executor(self, specs: Iterable[DagSpec]) -> str | None:
        """Why a task's `executor="dask"` cannot be honoured here (the home runs attempts
        locally: there is no cluster to send it to), or None."""
        if self.settings.executor == "dask":
            return None
        for spec in specs:
            for task in spec.tasks.values():
                if task.executor == "dask":
                    return (
                        f"DAG {spec.dag_id!r}, task {task.task_id!r}: executor='dask' needs "
                        f'executor = "dask" and a [dask] section in flowtui.toml; or leave '
                        f"executor= out to run it locally"
                    )
        return None
