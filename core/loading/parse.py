"""One DAG file parsed for the loader in a child process of its own, as plain data: what the
loader asks (`ParseRequest`), what the child reports (`ParseReport`, written by
`dag_file.parse_here`), and how the process ended (`ParseExit`). Which process runs the parse
is the fork server's business.

Named tuples, not frozen dataclasses: making one costs ~0.13 ms at start-up instead of ~1 ms,
and every command that loads DAG files imports them. Nothing compares values of two kinds (as
tuples, equal values would be equal)."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from flowtui.spec import DagSpec

Preload = Literal["", "server", "template"]
"""Where a DAG file's modules are imported before its attempts fork from them (the local
executor's hint; another executor may ignore it):

- "server": in the fork server itself, once per version of the file (its import starts no
  thread);
- "template": in a child of the fork server that imports only that file and forks its attempts
  (its import starts threads, which must never run in the fork server);
- "": in each attempt (the file failed to import, or the attempt is being started again after
  a fork server died)."""


class ImportProblem(NamedTuple):
    """Why a DAG file did not load: the line of the file, when known, and one line for people."""

    line: int | None
    message: str


class ParseRequest(NamedTuple):
    """Import the DAG file at `path` in a child; its output goes to `log`; it is killed after
    `timeout` seconds."""

    path: str
    log: str
    timeout: float


class ParseReport(NamedTuple):
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


class ParseExit(NamedTuple):
    """How a parse ended: the child's report (None if it wrote none) and its exit."""

    report: ParseReport | None
    exit_code: int | None
    """The child's exit code (< 0: the signal that killed it); None when the fork server died
    before the child was reaped."""
    timed_out: bool = False
