"""One DAG file parsed for the loader in a child process of its own: what the loader asks
(`ParseRequest`), what the child reports (`ParseReport`, written by `parse_here`), and how the
process ended (`ParseExit`). Which process runs the parse is the fork server's business."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowtui.loading.dag_file import ImportProblem, describe_import_error, import_dag_file
from flowtui.spec import DagSpec


@dataclass(frozen=True)
class ParseRequest:
    """Import the DAG file at `path` in a child; its output goes to `log`; it is killed after
    `timeout` seconds."""

    path: str
    log: str
    timeout: float


@dataclass(frozen=True)
class ParseReport:
    """What the child found: the file's DAGs, or why it did not load."""

    specs: tuple[DagSpec, ...] = ()
    problem: ImportProblem | None = None
    seconds: float = 0.0
    """How long the import took."""
    starts_threads: bool = False
    """Importing the file started a thread (then it must not be imported in the fork server)."""

    def to_json(self) -> dict[str, Any]:
        problem = self.problem
        return {
            "specs": [spec.to_dict() for spec in self.specs],
            "problem": None if problem is None else [problem.line, problem.message],
            "seconds": self.seconds,
            "starts_threads": self.starts_threads,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParseReport:
        problem = data.get("problem")
        return cls(
            tuple(DagSpec.from_dict(spec) for spec in data.get("specs", ())),
            None if problem is None else ImportProblem(problem[0], problem[1]),
            float(data.get("seconds", 0.0)),
            bool(data.get("starts_threads", False)),
        )


@dataclass(frozen=True)
class ParseExit:
    """How a parse ended: the child's report (None if it wrote none) and its exit."""

    report: ParseReport | None
    exit_code: int | None
    """The child's exit code (< 0: the signal that killed it); None when the fork server died
    before the child was reaped."""
    timed_out: bool = False


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
