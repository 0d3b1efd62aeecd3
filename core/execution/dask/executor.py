"""The Dask executor: hands each attempt to a dask.distributed cluster (an existing scheduler,
kept connected by `connection.ClusterLink`, or a `LocalCluster` it starts) as a plain-data
`RemoteAttempt`, and turns what comes back into `ExecutorEvent`s: `AttemptStarted` from the
worker's event topic, `AttemptExited` from the future's result. Stopping an attempt sets its stop
events, which the worker watches (Dask's own `cancel` does not stop a task that runs).

Each attempt's future is also published on the Dask scheduler (`published`): a scheduler
started after a crash, or this one once the connection is back, finds it there and awaits it
rather than running the try again. A worker's death fails its attempt once, with the worker
named, after its orphaned process is stopped (`orphans`)."""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
from flowtui.execution.dask.connection import ClusterInfo, ClusterLink, own_versions
from flowtui.execution.dask.handed import HandedAttempt, exit_outcome, unreported_exit
from flowtui.execution.dask.log_stream import LOG_TOPIC, LogSink
from flowtui.execution.dask.orphans import stop_orphan
from flowtui.execution.dask.published import (
    dataset_name,
    kept_events,
    publish,
    published_names,
    unpublish,
)
from flowtui.execution.dask.store_proxy import StoreServer
from flowtui.execution.dask.worker import (
    STARTED_TOPIC,
    RemoteAttempt,
    RemoteExit,
    run_attempt,
    stop_events,
)
from flowtui.execution.logs import append_line
from flowtui.spec import DEFAULT_QUEUE
from flowtui.states import TaskState

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

logger = logging.getLogger(__name__)


class DaskExecutor:
    """Runs each attempt on a worker of a dask.distributed cluster, in a process and session of
    its own there. Dask does not retry an attempt (a cluster that would is refused): retries
    are flowtui's. While the cluster is unreachable, attempts wait here, queued."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._on_event: Callable[[ExecutorEvent], None] = lambda _event: None
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._link: ClusterLink | None = None
        self._is_started = False
        self._stopping = False
        self._lock = threading.Lock()
        self._attempts: dict[AttemptKey, HandedAttempt] = {}
        """Every attempt until its exit is reported."""
        self._by_name: dict[str, HandedAttempt] = {}
        """Dask key -> the attempt it runs."""
        self._waiting: list[HandedAttempt] = []
        """Attempts to hand to the cluster once connected (again)."""
        self._published: set[str] = set()
        """Datasets found on the Dask scheduler at connect: attempts to adopt."""
        self._logs: LogSink | None = None
        self._store: StoreServer | None = None
        home = hashlib.sha256(str(settings.home).encode()).hexdigest()[:16]
        self._store_queue = f"flowtui-store-{home}"
        """Where this home's remote attempts send their requests for the store: the same for
        the scheduler that adopts them after a restart."""

    def listen(self, on_event: Callable[[ExecutorEvent], None]) -> None:
        self._on_event = on_event

    @property
    def is_started(self) -> bool:
        return self._is_started

    def start(self) -> None:
        """Connect to the configured scheduler (in the background, again whenever the
        connection is lost), or start a LocalCluster of processes."""
        self._is_started, self._stopping = True, False
        self._logs = LogSink()
        options = self.settings.dask
        if options.address:
            self._link = ClusterLink(options.address, self._connected, self._lost)
            self._link.start()
            return
        import dask
        from distributed import Client, LocalCluster

        # flowtui decides retries: a worker's death fails the attempt once, Dask retries none
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            self._cluster = LocalCluster(
                n_workers=options.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: 8787 may be taken
            )
        self._connected(Client(self._cluster, set_as_default=False))

    def cluster_info(self) -> ClusterInfo | None:
        """The scheduler's address, how many workers it has and what keeps attempts from it;
        None before `start`."""
        client, link = self._client, self._link
        if client is None:
            if link is None:
                return None
            return ClusterInfo(link.address, None, link.problem)
        info = client.scheduler_info(n_workers=-1)
        return ClusterInfo(str(info["address"]), len(info.get("workers", {})))

    def submit(self, request: AttemptRequest) -> None:
        attempt = HandedAttempt(request, dataset_name(str(self.settings.home), request))
        with self._lock:
            self._attempts[request.key] = attempt
            client = self._client
            if client is None and not self._stopping:
                self._waiting.append(attempt)
                return
        if client is None:
            self._exited(attempt, unreported_exit(signal.SIGKILL))
            return
        self._dispatch(client, attempt)

    def stop_attempt(self, key: AttemptKey, *, force: bool) -> bool:
        signum = signal.SIGKILL if force else signal.SIGTERM
        with self._lock:
            attempt = self._attempts.get(key)
            if attempt is None:
                return False
            attempt.stop_signal = max(signum, attempt.stop_signal or 0)
            waiting = attempt.future is None and attempt in self._waiting
            if waiting:
                self._waiting.remove(attempt)
            client = attempt.client if attempt.future is not None else None
        if waiting:  # never handed to the cluster: nothing runs
            self._exited(attempt, unreported_exit(signum))
        elif client is not None and attempt.name:
            self._set_stop_events(client, attempt)
            if not attempt.is_started and attempt.future is not None:
                # It may wait for a worker that never comes (no worker offers its queue):
                # cancel it, which reports its exit (`_done`). Had it just started, its worker
                # sees the events set above.
                attempt.future.cancel()
        return True

    def stop(self, *, leave_attempts: bool = False) -> None:
        """Disconnect (and close the LocalCluster this executor started). Attempts still
        running are killed first unless `leave_attempts` (their futures stay published on the
        Dask scheduler for the next scheduler to adopt)."""
        if not leave_attempts:
            with self._lock:
                keys = list(self._attempts)
            for key in keys:
                self.stop_attempt(key, force=True)
        with self._lock:
            self._stopping = True
            client, self._client = self._client, None
            waiting, self._waiting = self._waiting, []
        if self._link is not None:
            client = self._link.stop() or client
            self._link = None
        store, self._store = self._store, None
        if store is not None:
            store.stop()
        for attempt in waiting:  # left queued in the store: the next scheduler submits them
            with self._lock:
                self._attempts.pop(attempt.key, None)
        if client is not None:
            client.close()
        logs, self._logs = self._logs, None
        if logs is not None:
            logs.stop()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self._is_started = False

    # --- the connection ---

    def _connected(self, client: Client) -> None:
        """A new connection: adopt what the Dask scheduler still holds of this home's attempts,
        hand it those that waited, then answer their requests for the store (those sent while
        no scheduler listened wait in its queue)."""
        names = published_names(client)
        client.subscribe_topic(STARTED_TOPIC, self._started)
        if self._logs is not None:
            client.subscribe_topic(LOG_TOPIC, self._logs.received)
        with self._lock:
            self._published = names
        while True:
            with self._lock:
                waiting, self._waiting = self._waiting, []
                if not waiting:
                    self._client = client
                    break
            for attempt in waiting:
                self._dispatch(client, attempt)
        store = StoreServer(client, self.settings, self._store_queue)
        with self._lock:
            self._store, old = store, self._store
            for name in self._by_name:  # those that run on, adopted, and just submitted
                store.open(name)
        if old is not None:
            old.stop()

    def _lost(self) -> None:
        with self._lock:
            self._client = None

    def _dispatch(self, client: Client, attempt: HandedAttempt) -> None:
        """`_hand_over`, or, when the connection fails meanwhile, wait for the next one."""
        try:
            self._hand_over(client, attempt)
        except Exception as exc:
            if self._link is None:
                self._fail(attempt, f"the Dask cluster did not take it: {exc}")
                return
            logger.warning(
                "attempt %s waits: the Dask cluster did not take it: %s", attempt.key, exc
            )
            self._wait_again(attempt, self._link)

    def _wait_again(self, attempt: HandedAttempt, link: ClusterLink) -> None:
        """Hand the attempt over again on a new connection (adopted, if the Dask scheduler
        still holds it)."""
        with self._lock:
            self._by_name.pop(attempt.name, None)
            attempt.future, attempt.client = None, None
            self._waiting.append(attempt)
        link.reconnect()

    def _hand_over(self, client: Client, attempt: HandedAttempt) -> None:
        """Adopt the attempt's published future, or submit the attempt; one whose future was
        lost with the Dask scheduler's state after it started fails (it may run on). What an
        adopted attempt said while no one listened (its start, pieces of its log) is read from
        the Dask scheduler's events once its log is open here: a piece sent in between is in
        those events or comes to the open log."""
        with self._lock:
            adopt = attempt.dataset in self._published
            self._published.discard(attempt.dataset)
        future: Future[RemoteExit] | None = None
        if adopt:
            future = client.get_dataset(attempt.dataset)
            name = str(future.key)
            logger.info("attempt %s: adopted its Dask task %s", attempt.key, name)
        elif attempt.is_started:
            cause = f"lost with the Dask scheduler at {self.settings.dask.address}, which restarted"
            self._fail(attempt, cause)
            return
        else:
            key = attempt.key
            name = f"flowtui-{key.dag_id}-{key.task_id}-{key.try_number}-{uuid.uuid4().hex}"
        with self._lock:  # before the submission: its start may be reported at once
            attempt.name = name
            self._by_name[name] = attempt
            if self._store is not None:
                self._store.open(name)
        if self._logs is not None and attempt.log_name != name:
            self._bring_log_home(self._logs, attempt, name)
        kept = kept_events(client) if adopt else None
        if self._logs is not None and kept is not None:
            self._logs.resume(name, kept.logs)
        if future is None:
            future = self._submit(client, attempt.request, name)
            publish(client, future, attempt.dataset)
        with self._lock:  # a stop asked for from now on sets its events itself
            attempt.future, attempt.client = future, client
            stop_asked = attempt.stop_signal is not None
        if stop_asked:
            self._set_stop_events(client, attempt)
        start = kept.starts.get(name) if kept is not None else None
        if start is not None:
            self._started((0.0, start))
        future.add_done_callback(lambda done: self._done(attempt, done))

    @staticmethod
    def _bring_log_home(logs: LogSink, attempt: HandedAttempt, name: str) -> None:
        """Have `logs` write what Dask task `name` sends of the attempt's log."""
        if attempt.log_name:  # a submission lost with its connection: it sends no more
            logs.close(attempt.log_name, None, lambda: None)
        logs.open(name, attempt.request.log_path)
        attempt.log_name = name

    def _submit(self, client: Client, request: AttemptRequest, name: str) -> Future[RemoteExit]:
        dags_folder = str(self.settings.dags_folder)
        job = RemoteAttempt(name, request.to_json(), dags_folder, self._store_queue, own_versions())
        # A queue is a worker resource, as in Airflow's DaskExecutor: only workers started with
        # `--resources QUEUE=1` run the attempt; the default queue needs none.
        resources = None if request.queue == DEFAULT_QUEUE else {request.queue: 1}
        future = client.submit(run_attempt, job, key=name, pure=False, resources=resources)
        if resources is not None and client.loop is not None:
            client.loop.add_callback(self._check_queue, client, request)
        return future

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

    def _set_stop_events(self, client: Client, attempt: HandedAttempt) -> None:
        from distributed import Event

        term, kill = stop_events(attempt.name)
        events = (term, kill) if attempt.stop_signal == signal.SIGKILL else (term,)
        try:
            for event in events:
                Event(event, client=client).set()
        except Exception as exc:  # the connection went: set again once it is back
            logger.warning("attempt %s: its stop could not be sent: %s", attempt.key, exc)

    # --- what the cluster reports ---

    def _started(self, event: tuple[float, dict[str, Any]]) -> None:
        """A worker's STARTED_TOPIC message (on the client's event loop)."""
        message = event[1]
        with self._lock:
            attempt = self._by_name.get(str(message.get("name")))
            if attempt is None or attempt.is_started:
                return  # another flowtui's, or its exit came first (and reported its start)
            attempt.is_started = True
            attempt.pid, attempt.started_at = int(message["pid"]), float(message["at"])
        logger.info("attempt %s runs on %s, pid %s", attempt.key, message["worker"], message["pid"])
        self._deliver(AttemptStarted(attempt.key, int(message["pid"]), from_epoch(message["at"])))

    def _done(self, attempt: HandedAttempt, future: Future[RemoteExit]) -> None:
        from distributed import KilledWorker

        try:
            ended: RemoteExit = future.result()
        except BaseException as exc:
            if self._stopping:
                return  # left to the next scheduler, or stopped with the executor
            if future.status == "cancelled" and attempt.stop_signal is not None:
                self._finish(attempt, unreported_exit(attempt.stop_signal))
            elif future.status != "error":  # cancelled, or its result not fetched: a lost link
                if self._link is None:
                    self._fail(attempt, f"the Dask cluster lost it: {type(exc).__name__}: {exc}")
                else:  # the Dask scheduler may still hold it: see on the next connection
                    self._wait_again(attempt, self._link)
            elif isinstance(exc, KilledWorker):
                worker = str(exc.last_worker.address)
                self._end_orphan(attempt, worker)  # first: one process of a task at a time
                self._fail(attempt, f"worker {worker} died")
            else:  # a task that could not run (unpicklable, lost data)
                self._fail(attempt, f"the Dask cluster failed it: {type(exc).__name__}: {exc}")
            return
        if ended.result is not None and "refused" in ended.result:
            self._fail(attempt, str(ended.result["refused"]))
        else:
            self._finish(attempt, ended)

    def _finish(self, attempt: HandedAttempt, ended: RemoteExit) -> None:
        """Report the exit once the last piece of the attempt's log is home."""
        if self._store is not None:
            self._store.forget(attempt.name)
        logs = self._logs
        if logs is None or not attempt.log_name:
            self._exited(attempt, ended)
        else:
            logs.close(attempt.log_name, ended.log_pieces, lambda: self._exited(attempt, ended))

    def _fail(self, attempt: HandedAttempt, cause: str) -> None:
        """End an attempt that reported nothing, with the cause the scheduler records, also
        said in its log (the scheduler writes a line there only for an attempt without an
        outcome)."""
        logger.error("attempt %s: %s", attempt.key, cause)
        append_line(attempt.request.log_path, f"attempt {attempt.key.try_number} ended: {cause}")
        failed = AttemptOutcome(TaskState.FAILED, cause)
        self._finish(attempt, unreported_exit(signal.SIGKILL, failed.to_json(), log_pieces=None))

    def _end_orphan(self, attempt: HandedAttempt, worker: str) -> None:
        """Stop the process of an attempt whose worker died, from a worker on the same host
        (called on a thread of the client's: it may wait)."""
        client = self._client
        if client is None or attempt.pid is None:
            return
        grace = attempt.request.kill_grace
        try:
            said = stop_orphan(client, worker, attempt.pid, attempt.started_at, grace)
        except Exception as exc:
            said = f"its process {attempt.pid} could not be stopped: {exc}"
        logger.warning("attempt %s: %s", attempt.key, said)

    def _exited(self, attempt: HandedAttempt, ended: RemoteExit) -> None:
        with self._lock:
            if self._attempts.get(attempt.key) is attempt:
                del self._attempts[attempt.key]
            self._by_name.pop(attempt.name, None)
            report_start = not attempt.is_started and ended.pid is not None
            attempt.is_started = True
            client = attempt.client
        if report_start:
            assert ended.pid is not None
            self._deliver(AttemptStarted(attempt.key, ended.pid, from_epoch(ended.started_at)))
        at = from_epoch(ended.ended_at) if ended.ended_at else utcnow()
        self._deliver(AttemptExited(attempt.key, at, ended.exit_code, exit_outcome(ended)))
        if client is not None and client.status == "running":
            # after the exit is handed over: a crash in between leaves the dataset, not the try
            unpublish(client, attempt.dataset)
            if attempt.stop_signal is not None:
                self._forget_stop_events(client, attempt.name)

    def _forget_stop_events(self, client: Client, name: str) -> None:
        """A stopped attempt's events stay on the Dask scheduler until cleared."""
        from distributed import Event

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
