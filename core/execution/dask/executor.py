"""The Dask executor: hands each attempt to a dask.distributed cluster (an existing scheduler,
or a `LocalCluster` it starts) as a plain-data `RemoteAttempt`, and turns what comes back into
`ExecutorEvent`s: `AttemptStarted` from the worker's event topic, `AttemptExited` from the
future's result. Stopping an attempt sets its stop events, which the worker watches (Dask's own
`cancel` does not stop a task that runs)."""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.clock import from_epoch, utcnow
from flowtui.config import Settings
from flowtui.execution.base import (
    AttemptExited,
    AttemptKey,
    AttemptOutcome,
    AttemptRequest,
    AttemptStarted,
    ExecutorEvent,
)
from flowtui.execution.dask.log_stream import LOG_TOPIC, LogSink
from flowtui.execution.dask.store_proxy import StoreServer
from flowtui.execution.dask.worker import (
    STARTED_TOPIC,
    RemoteAttempt,
    RemoteExit,
    run_attempt,
    stop_events,
)
from flowtui.execution.ticket import TicketState
from flowtui.spec import DEFAULT_QUEUE
from flowtui.states import TaskState

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

logger = logging.getLogger(__name__)


class ClusterInfo(NamedTuple):
    """What `flowtui scheduler status` shows of the cluster."""

    address: str
    workers: int


class _Attempt:
    """One attempt handed to Dask, until its exit is reported."""

    __slots__ = ("future", "is_started", "is_stopped", "key", "name")

    def __init__(self, key: AttemptKey, name: str) -> None:
        self.key = key
        self.name = name
        self.future: Future[RemoteExit] | None = None
        """Held until the exit: Dask forgets (and cancels) a task whose futures are all gone."""
        self.is_started = False
        self.is_stopped = False
        """Its stop events were set: they are cleared once it exited."""


class DaskExecutor:
    """Runs each attempt on a worker of a dask.distributed cluster, in a process and session of
    its own there. Dask does not retry an attempt (the cluster flowtui starts allows no
    failures): retries are flowtui's."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._on_event: Callable[[ExecutorEvent], None] = lambda _event: None
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._lock = threading.Lock()
        self._attempts: dict[str, _Attempt] = {}
        """Dask key -> the attempt it runs, until it exits."""
        self._names: dict[AttemptKey, str] = {}
        self._logs: LogSink | None = None
        self._store: StoreServer | None = None
        self._store_queue = f"flowtui-store-{uuid.uuid4().hex}"
        """Where this executor's remote attempts send their requests for the store."""

    def listen(self, on_event: Callable[[ExecutorEvent], None]) -> None:
        self._on_event = on_event

    @property
    def is_started(self) -> bool:
        return self._client is not None

    def start(self) -> None:
        """Connect to the configured scheduler, or start a LocalCluster of processes."""
        import dask
        from distributed import Client, LocalCluster

        options = self.settings.dask
        if options.address:
            client = Client(options.address, timeout=10, set_as_default=False)
        else:
            # flowtui decides retries: a worker's death fails the attempt once, Dask retries none
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                self._cluster = LocalCluster(
                    n_workers=options.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: 8787 may be taken
                )
            client = Client(self._cluster, set_as_default=False)
        client.subscribe_topic(STARTED_TOPIC, self._started)
        self._logs = LogSink()
        client.subscribe_topic(LOG_TOPIC, self._logs.received)
        self._store = StoreServer(client, self.settings.db_path, self._store_queue)
        self._client = client

    def cluster_info(self) -> ClusterInfo | None:
        """The scheduler's address and how many workers it has; None before `start`."""
        client = self._client
        if client is None:
            return None
        info = client.scheduler_info(n_workers=-1)
        return ClusterInfo(str(info["address"]), len(info.get("workers", {})))

    def submit(self, request: AttemptRequest) -> None:
        key = request.key
        name = f"flowtui-{key.dag_id}-{key.task_id}-{key.try_number}-{uuid.uuid4().hex}"
        attempt = _Attempt(key, name)
        with self._lock:
            self._attempts[name] = attempt
            self._names[key] = name
        client = self._client
        if client is None:
            self._exited(attempt, RemoteExit("", None, 0, 0, -signal.SIGKILL, None))
            return
        if self._logs is not None and self._store is not None:
            self._logs.open(name, request.log_path)
            self._store.open(name)
        dags_folder = str(self.settings.dags_folder)
        job = RemoteAttempt(name, request.to_json(), dags_folder, self._store_queue)
        # A queue is a worker resource, as in Airflow's DaskExecutor: only workers started with
        # `--resources QUEUE=1` run the attempt; the default queue needs none.
        resources = None if request.queue == DEFAULT_QUEUE else {request.queue: 1}
        future = client.submit(run_attempt, job, key=name, pure=False, resources=resources)
        attempt.future = future
        future.add_done_callback(lambda done: self._done(attempt, done))
        if resources is not None and client.loop is not None:
            client.loop.add_callback(self._check_queue, client, request)

    async def _check_queue(self, client: Client, request: AttemptRequest) -> None:
        """Say so when no connected worker offers the attempt's queue: Dask holds the attempt
        (queued, not failed) until one that does connects."""
        if client.scheduler is None:
            return  # closed meanwhile
        try:
            info = await client.scheduler.identity(n_workers=-1)
        except Exception as exc:  # the cluster is going away: its failure is reported anyway
            logger.warning(
                "attempt %s: could not ask for queue %r: %s", request.key, request.queue, exc
            )
            return
        workers = info.get("workers", {}).values()
        if not any(request.queue in worker.get("resources", {}) for worker in workers):
            logger.warning(
                "attempt %s waits for a worker with queue %r: no connected Dask worker offers "
                "it (start one with `dask worker ... --resources %s=1`)",
                request.key,
                request.queue,
                request.queue,
            )

    def stop_attempt(self, key: AttemptKey, *, force: bool) -> bool:
        from distributed import Event

        with self._lock:
            name = self._names.get(key)
            attempt = None if name is None else self._attempts[name]
            if attempt is not None:
                attempt.is_stopped = True
        if name is None or attempt is None or self._client is None:
            return False
        term, kill = stop_events(name)
        for event in (term, kill) if force else (term,):
            Event(event, client=self._client).set()
        if not attempt.is_started and attempt.future is not None:
            # It may wait for a worker that never comes (no worker offers its queue): cancel it,
            # which reports its exit. Had it just started, its worker sees the events set above.
            attempt.future.cancel()
        return True

    def stop(self, *, leave_attempts: bool = False) -> None:
        """Disconnect (and close the LocalCluster this executor started). Attempts still
        running are killed first unless `leave_attempts`."""
        if not leave_attempts:
            with self._lock:
                keys = list(self._names)
            for key in keys:
                self.stop_attempt(key, force=True)
        store, self._store = self._store, None
        if store is not None:
            store.stop()
        client, self._client = self._client, None
        if client is not None:
            client.close()
        logs, self._logs = self._logs, None
        if logs is not None:
            logs.stop()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _started(self, event: tuple[float, dict[str, Any]]) -> None:
        """A worker's STARTED_TOPIC message (on the client's event loop)."""
        message = event[1]
        with self._lock:
            attempt = self._attempts.get(str(message.get("name")))
            if attempt is None or attempt.is_started:
                return  # another flowtui's, or its exit came first (and reported its start)
            attempt.is_started = True
        logger.info("attempt %s runs on %s, pid %s", attempt.key, message["worker"], message["pid"])
        self._deliver(AttemptStarted(attempt.key, int(message["pid"]), from_epoch(message["at"])))

    def _done(self, attempt: _Attempt, future: Future[RemoteExit]) -> None:
        try:
            ended: RemoteExit = future.result()
        except BaseException as exc:  # a dead worker, a cancelled future, a lost cluster
            cause = f"the attempt failed on the Dask cluster: {type(exc).__name__}: {exc}"
            logger.error("attempt %s: %s", attempt.key, cause)
            failed = AttemptOutcome(TaskState.FAILED, cause)
            ended = RemoteExit("", None, 0, 0, -signal.SIGKILL, failed.to_json(), None)
        if self._store is not None:
            self._store.forget(attempt.name)
        logs = self._logs
        if logs is None:
            self._exited(attempt, ended)
        else:  # reported once the last line of its log is home
            logs.close(attempt.name, ended.log_pieces, lambda: self._exited(attempt, ended))

    def _exited(self, attempt: _Attempt, ended: RemoteExit) -> None:
        with self._lock:
            self._attempts.pop(attempt.name, None)
            if self._names.get(attempt.key) == attempt.name:
                del self._names[attempt.key]
            report_start = not attempt.is_started and ended.pid is not None
            attempt.is_started = True
        if report_start:
            assert ended.pid is not None
            self._deliver(AttemptStarted(attempt.key, ended.pid, from_epoch(ended.started_at)))
        at = from_epoch(ended.ended_at) if ended.ended_at else utcnow()
        self._deliver(AttemptExited(attempt.key, at, ended.exit_code, _outcome(ended)))
        if attempt.is_stopped:
            self._forget_stop_events(attempt.name)

    def _forget_stop_events(self, name: str) -> None:
        """A stopped attempt's events stay on the Dask scheduler until cleared."""
        from distributed import Event

        client = self._client
        if client is None:
            return
        try:
            for event in stop_events(name):
                Event(event, client=client).clear()
        except Exception as exc:  # the cluster is gone: so are its events
            logger.warning("could not clear the stop events of %s: %s", name, exc)

    def _deliver(self, event: ExecutorEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            logger.exception("executor event %s could not be handled", type(event).__name__)


def _outcome(ended: RemoteExit) -> AttemptOutcome | None:
    """The outcome the attempt reported, with how its process ended; a try its ticket declined
    (it ran, or runs, elsewhere) fails with what the ticket says."""
    result = ended.result
    if result is None:
        return None
    if "declined" not in result:
        return AttemptOutcome.from_json(result, ended.exit_code)
    state = TicketState.from_json(result["declined"])
    if not result["conflict"] and not state.held and state.outcome is not None:
        return AttemptOutcome.from_json(state.outcome)
    cause = result["conflict"] or "this try already runs elsewhere (its ticket is held)"
    return AttemptOutcome(TaskState.FAILED, cause, exit_code=ended.exit_code)
