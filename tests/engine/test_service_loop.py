"""The scheduler service in process: a `Scheduler` on a real store with an executor that only
records what it is asked, timers that only record what is set, and a clock that stands still;
a test hands the loop its messages batch by batch, as the inbox would."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from flowtui.commands.model import Trigger
from flowtui.config import Settings
from flowtui.execution.base import AttemptKey, AttemptRequest, AttemptStarted, ExecutorEvent
from flowtui.execution.callbacks import CallbackExit, CallbackRequest
from flowtui.loading.parse import ParseExit, ParseRequest
from flowtui.scheduling.active_run import RunKey
from flowtui.scheduling.messages import Message
from flowtui.scheduling.service import Scheduler
from flowtui.scheduling.timers import Timers
from flowtui.spec import DagSpec
from flowtui.store import reads, writes
from tests.engine.conftest import NOW, ManualClock, open_copy
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task

WORK = dag("slow", task("work", execution_timeout=10))
WORK_REMOVED = dag("slow", task("other"))


class RecordingExecutor:
    """Runs nothing: keeps the requests and the stop calls."""

    is_started = True

    def __init__(self) -> None:
        self.submitted: list[AttemptRequest] = []
        self.stopped: list[tuple[AttemptKey, bool]] = []

    def listen(self, on_event: Callable[[ExecutorEvent], None]) -> None:
        pass

    def start(self) -> None:
        pass

    def submit(self, request: AttemptRequest) -> None:
        self.submitted.append(request)

    def stop_attempt(self, key: AttemptKey, *, force: bool) -> bool:
        self.stopped.append((key, force))
        return True

    def stop(self, *, leave_attempts: bool = False) -> None:
        pass

    def parse_file(self, request: ParseRequest, done: Callable[[ParseExit], None]) -> None:
        raise AssertionError("no DAG file is parsed here")

    def run_callback(self, request: CallbackRequest, done: Callable[[CallbackExit], None]) -> None:
        raise AssertionError("no callback is run here")


class RecordingTimers(Timers[Message]):
    """Timers that fire only when the test hands their message to the loop."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(lambda _: None, clock)
        self.set: list[tuple[datetime, Message]] = []

    def at(self, when: datetime, message: Message) -> None:
        self.set.append((when, message))


class Service:
    def __init__(self, home: Path, migrated_store: Path) -> None:
        settings = Settings(home, home / "dags", "flag")
        self.clock = ManualClock(NOW)
        self.executor = RecordingExecutor()
        self.scheduler = Scheduler(
            settings, self.executor, self.executor, watches_home=False, clock=self.clock
        )
        self.scheduler.store = open_copy(migrated_store, home)
        self.timers = RecordingTimers(self.clock)
        self.scheduler.timers = self.timers

    @property
    def conn(self) -> sqlite3.Connection:
        assert self.scheduler.store is not None
        return self.scheduler.store.conn

    def state(self, task_id: str) -> str:
        row = reads.task_instance(self.conn, "slow", "r1", task_id)
        assert row is not None
        return str(row["state"])

    def trigger(self, spec: DagSpec) -> AttemptKey:
        """Register the DAG, trigger a run and start it; the key of the attempt it starts."""
        writes.upsert_dag(self.conn, spec, "2024-03-05T06:00:00+00:00")
        self.scheduler.apply_now([Trigger(spec.dag_id, run_id="r1")], "test")
        self.scheduler.start()
        (request,) = self.executor.submitted
        return request.key

    def handle(self, *messages: Message) -> None:
        self.scheduler._process(list(messages))

    def reload(self, spec: DagSpec) -> None:
        """The DAG file changed as a hot reload would see it."""
        assert self.scheduler.store is not None
        with self.scheduler.store.transaction() as conn:
            writes.upsert_dag(conn, spec, "2024-03-05T06:00:00+00:00")
            run = self.scheduler.book.runs[RunKey(spec.dag_id, "r1")]
            self.scheduler.book.update_spec(conn, run, spec)


@pytest.fixture
def service(tmp_path: Path, migrated_store: Path) -> Iterator[Service]:
    made = Service(tmp_path, migrated_store)
    yield made
    assert made.scheduler.store is not None
    made.scheduler.store.close()


def test_execution_timeout_is_enforced_for_a_task_a_reload_removed(service: Service) -> None:
    """A running attempt whose task left the DAG runs on; its execution_timeout still stops
    it when due."""
    key = service.trigger(WORK)
    service.handle(AttemptStarted(key, 4242, NOW))
    ((when, due),) = service.timers.set
    assert when == NOW + timedelta(seconds=10)
    service.reload(WORK_REMOVED)
    assert service.state("work") == "running"
    service.handle(due)
    assert service.executor.stopped == [(key, False)]
    (kill,) = [e for e in reads.events(service.conn) if e["kind"] == "kill"]
    assert kill["detail"] == "execution_timeout of 10 s exceeded"


def test_an_attempt_whose_task_a_reload_removed_starts_without_an_error(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    """A queued attempt whose task left the DAG before it started is recorded as running,
    with no error (there is no execution_timeout left to enforce)."""
    key = service.trigger(WORK)
    service.reload(WORK_REMOVED)
    with caplog.at_level(logging.ERROR):
        service.handle(AttemptStarted(key, 4242, NOW))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert service.state("work") == "running"
    assert service.timers.set == []
