"""What the in-process engine tests share: DAG specs written by hand (as the loader would
store them), a clock that moves only when a test moves it, a migrated store to copy, and the
`world` of a run book on such a store, in which a test reports each attempt's start and exit as
the scheduler service would. No executor, no child process."""

from __future__ import annotations

import queue
import shutil
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flowtui.clock import to_text
from flowtui.commands.model import Command
from flowtui.execution.base import AttemptOutcome, ExecutorEvent
from flowtui.scheduling import attempts
from flowtui.scheduling.active_run import ActiveRun
from flowtui.scheduling.apply import apply
from flowtui.scheduling.run_book import RunBook
from flowtui.spec import DagSpec, TaskSpec
from flowtui.states import TaskState
from flowtui.store import Store, reads, writes
from tests.conftest import Home

NOW = datetime(2024, 3, 5, 6, 0, tzinfo=UTC)
STARTED = "2024-03-05T06:00:00.000000+00:00"
"""NOW as the store keeps it: when an attempt begun in a test started."""
"""Where every test's clock starts."""
LOGICAL = datetime(2024, 3, 5, tzinfo=UTC)
SUCCESS = AttemptOutcome(TaskState.SUCCESS, exit_code=0)


class ManualClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def task_spec(task_id: str, operator: str = "PythonOperator", **fields: Any) -> TaskSpec:
    return TaskSpec(task_id, operator, **fields)


def dag_spec(
    dag_id: str, *tasks: TaskSpec, edges: Iterable[tuple[str, str]] = (), **fields: Any
) -> DagSpec:
    """A DAG spec as the loader would store it, dependencies given as (upstream, downstream)."""
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    for before, after in edges:
        down[before].append(after)
        up[after].append(before)
    specs = {
        t.task_id: t._replace(upstream=tuple(up[t.task_id]), downstream=tuple(down[t.task_id]))
        for t in tasks
    }
    return DagSpec(dag_id, f"/dags/{dag_id}.py", specs, **fields)


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated store file to copy: migrating one per test would cost most of its time."""
    path = tmp_path_factory.mktemp("template") / "flowtui.db"
    Store(path).close()
    return path


def open_copy(template: Path, folder: Path) -> Store:
    """A store opened on a copy of `template` in `folder`."""
    shutil.copyfile(template, folder / "flowtui.db")
    store = Store(folder / "flowtui.db")
    # Durability against power loss is not under test; without it closing skips an fsync.
    store.conn.execute("PRAGMA synchronous = OFF")
    return store


@dataclass
class World:
    """A store, a clock and a run book; DAGs are registered as a parse would."""

    store: Store
    clock: ManualClock
    book: RunBook

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    def create(
        self,
        spec: DagSpec,
        run_id: str = "manual__1",
        logical: datetime = LOGICAL,
        runner_pid: int | None = None,
    ) -> ActiveRun:
        writes.upsert_dag(self.conn, spec, to_text(self.clock()))
        return self.book.create_run(
            self.conn, spec, run_id, "manual", logical, runner_pid=runner_pid
        )

    def start(
        self, spec: DagSpec, run_id: str = "manual__1", logical: datetime = LOGICAL
    ) -> ActiveRun:
        run = self.create(spec, run_id, logical)
        self.book.start_run(self.conn, run)
        return run

    def take_ready(self) -> list[str]:
        """The task ids the scheduler would hand to the executor now."""
        ready = [task_id for _, task_id, _ in self.book.ready]
        self.book.ready.clear()
        return ready

    def queue(self, run: ActiveRun, task_id: str) -> None:
        ti = run.tis[task_id]
        log = f"/logs/{run.dag_id}/{run.run_id}/{task_id}/attempt={ti.try_number + 1}.log"
        attempts.queued(self.book, self.conn, run, ti, log, "host-1")

    def begin(self, run: ActiveRun, task_id: str, pid: int = 4242) -> None:
        attempts.started(self.book, self.conn, run, run.tis[task_id], pid, self.clock())

    def end(self, run: ActiveRun, task_id: str, outcome: AttemptOutcome) -> TaskState:
        return attempts.finished(self.book, self.conn, run, run.tis[task_id], outcome, self.clock())

    def attempt(
        self, run: ActiveRun, task_id: str, outcome: AttemptOutcome = SUCCESS, seconds: float = 5
    ) -> TaskState:
        """One try from queued to its exit `seconds` later."""
        self.queue(run, task_id)
        self.begin(run, task_id)
        self.clock.advance(seconds)
        return self.end(run, task_id, outcome)

    def drive(self, run: ActiveRun, outcomes: dict[str, AttemptOutcome]) -> None:
        """Run every ready task (success unless `outcomes` says otherwise) until none is."""
        while self.book.ready:
            for task_id in self.take_ready():
                self.attempt(run, task_id, outcomes.get(task_id, SUCCESS))

    def apply(self, command: Command, actor: str = "tui:alice") -> dict[str, Any]:
        with self.store.transaction() as conn:
            return apply(self.book, conn, command, actor)

    def states(self, run: ActiveRun) -> dict[str, str]:
        rows = reads.task_instances(self.conn, run.dag_id, run.run_id)
        return {r["task_id"]: r["state"] for r in rows}

    def ti_row(self, run: ActiveRun, task_id: str) -> dict[str, Any]:
        row = reads.task_instance(self.conn, run.dag_id, run.run_id, task_id)
        assert row is not None
        return row

    def run_row(self, run: ActiveRun) -> dict[str, Any]:
        row = reads.run(self.conn, run.dag_id, run.run_id)
        assert row is not None
        return row

    def attempt_rows(self, run: ActiveRun, task_id: str) -> list[tuple[int, str]]:
        rows = reads.attempts(self.conn, run.dag_id, run.run_id, task_id)
        return [(r["try_number"], r["state"]) for r in rows]

    def events(self, run: ActiveRun, kind: str | None = None) -> list[dict[str, Any]]:
        found = reads.events(self.conn, dag_id=run.dag_id, run_id=run.run_id)
        return [e for e in found if kind is None or e["kind"] == kind]


def pick(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}


def at(seconds: float) -> str:
    """The store's text of NOW + `seconds`."""
    return to_text(NOW + timedelta(seconds=seconds))


@pytest.fixture
def world(tmp_path: Path, migrated_store: Path) -> Iterator[World]:
    store = open_copy(migrated_store, tmp_path)
    clock = ManualClock(NOW)
    yield World(store, clock, RunBook(clock))
    store.close()


def store_at_version(path: Path, version: int) -> Path:
    """A store file as flowtui left it at schema `version` (its migrations up to there), to
    test what opening it with today's schema migrates."""
    from sqlite_utils import Database

    from flowtui.store.schema import _MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    for step in _MIGRATIONS[:version]:
        step(Database(conn))
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    return path


class Events:
    """An executor's events, collected on its threads."""

    def __init__(self) -> None:
        self.queue: queue.Queue[ExecutorEvent] = queue.Queue()

    def next(self, kind: type[Any], timeout: float = 20) -> Any:
        event = self.queue.get(timeout=timeout)
        assert isinstance(event, kind), event
        return event


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A LocalCluster of two worker processes (each under a nanny, which starts it again when
    it dies), for the module's Dask tests; its scheduler's address."""
    import dask

    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    yield str(local.scheduler_address)
    local.close()


def configure_dask(home: Home, address: str) -> None:
    """Send the home's attempts to the Dask scheduler at `address`."""
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "flowtui.toml").write_text(f'executor = "dask"\n[dask]\naddress = "{address}"\n')
