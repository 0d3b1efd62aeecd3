"""Importing one DAG file into the DAG objects it defines (with the DAG folder on sys.path for
its helpers), turning an import failure into the `ImportProblem` (line, one-line message) that
the store keeps as an import error, and the parse a child of the fork server does for the
loader (`parse_here`)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from flowtui.errors import FlowtuiError, UnsupportedAirflowImport
from flowtui.loading import airflow_hook
from flowtui.loading.parse import ImportProblem, ParseReport

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG


def module_name(path: Path) -> str:
    """A stable, unique module name for the DAG file at `path`."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    return f"flowtui_dagfile_{path.stem.replace('-', '_')}_{digest}"


def import_dag_file(path: Path) -> list[DAG]:
    """Import `path` as a fresh module and return the DAGs it created, validated.

    Raises whatever the file raises; `describe_import_error` makes it one line.
    """
    from flowtui.authoring.dag import capture_dags

    airflow_hook.install()  # every process that loads DAG files comes through here
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FlowtuiError(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with capture_dags() as found:
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    seen: set[str] = set()
    for dag in found:
        dag.validate()
        if dag.dag_id in seen:
            raise FlowtuiError(
                f"DAG id {dag.dag_id!r} is defined twice in this file; give each DAG its own id"
            )
        seen.add(dag.dag_id)
        dag.fileloc = str(path)
    return list(found)


def dags_by_id(path: Path) -> dict[str, DAG]:
    """`import_dag_file(path)`'s DAGs by id."""
    return {dag.dag_id: dag for dag in import_dag_file(path)}


def add_dags_folder_to_path(dags_folder: str) -> None:
    """Put the DAG folder first on sys.path, so that DAG files import the helper modules beside
    them, as in Airflow."""
    if dags_folder not in sys.path:
        sys.path.insert(0, dags_folder)


def describe_import_error(exc: BaseException, path: Path) -> ImportProblem:
    """Where in `path` the import failed, and a one-line message for the user."""
    if isinstance(exc, SyntaxError) and exc.filename == str(path):
        return ImportProblem(exc.lineno, f"SyntaxError: {exc.msg}")
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(path):
            line = frame.lineno
    if isinstance(exc, SystemExit):
        return ImportProblem(
            line,
            f"the file called sys.exit({exc.code!r}) while being imported; a DAG file must "
            f"only define DAGs (move the code into a task)",
        )
    if isinstance(exc, UnsupportedAirflowImport):
        return ImportProblem(line, _where_airflow_refused(exc, path) + str(exc))
    if isinstance(exc, FlowtuiError):
        return ImportProblem(line, str(exc))
    from flowtui.loading.airflow_names import PLANNED_METHODS

    if (
        isinstance(exc, AttributeError)
        and exc.name in PLANNED_METHODS
        and type(exc.obj).__module__.startswith("flowtui.")
    ):
        feature = PLANNED_METHODS[exc.name]
        return ImportProblem(
            line,
            f'flowtui does not support .{exc.name}() ({feature}) yet; see README "Airflow '
            f'compatibility"',
        )
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return ImportProblem(
        line, f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    )


def _where_airflow_refused(exc: UnsupportedAirflowImport, path: Path) -> str:
    """Where the refused import is, as "helper.py:3: ", when it is in a module the DAG file
    imports (the problem's line is then the DAG file's import of that module); else ""."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith(("<frozen", _FLOWTUI_DIR))
    ]
    if not frames or frames[-1].filename == str(path):
        return ""
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}: "


_FLOWTUI_DIR = str(Path(__file__).parent.parent)
"""Where flowtui's own modules are: their frames are not the DAG file's."""


def parse_here(path: Path) -> ParseReport:
    """Import `path` in this process (a child of the fork server) and report what it defines."""
    from flowtui.loading.serialization import dag_spec

    before = threading.active_count()
    started = time.perf_counter()
    try:
        dags = import_dag_file(path)
        specs = tuple(dag_spec(dag, str(path)) for dag in dags)
    except BaseException as exc:
        return ParseReport(problem=describe_import_error(exc, path))
    return ParseReport(
        specs,
        seconds=time.perf_counter() - started,
        starts_threads=threading.active_count() > before,
    )
