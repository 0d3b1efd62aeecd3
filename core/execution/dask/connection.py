"""The Dask executor's link to an existing cluster (`[dask] address`): it connects in the
background and again after the connection is lost, every few seconds until the cluster answers,
and refuses a cluster flowtui cannot use (a worker with another flowtui, Python or distributed
version; a Dask scheduler that retries a task whose worker died). Whatever keeps it from the
cluster is one line in the log and its `problem`, which `flowtui scheduler status` shows;
attempts wait meanwhile (the executor holds them)."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)

_CONNECT_TIMEOUT = 2.0
"""Seconds one connection attempt may take."""
_FIRST_RETRY = 1.0
_MAX_RETRY = 3.0
"""Seconds between connection attempts: doubled from the first up to this."""
_WATCH_INTERVAL = 0.5
"""Seconds between looks at a connected client's state."""
_CHECKED = ("flowtui", "python", "distributed")
"""What a worker must have as the scheduler's side has it: flowtui runs its own code there
(the request and outcome formats), pickles between the same Python and distributed."""


class ClusterInfo(NamedTuple):
    """What `flowtui scheduler status` shows of the cluster."""

    address: str
    workers: int | None
    """None: not connected."""
    problem: str | None = None
    """Why attempts cannot go to the cluster now (unreachable, refused); None when they can."""


class ClusterLink:
    """A client of the Dask scheduler at `address`, kept connected by a thread of its own,
    which calls `on_connected(client)` after each connection that passed the checks and
    `on_lost()` when that connection is lost."""

    def __init__(
        self, address: str, on_connected: Callable[[Client], None], on_lost: Callable[[], None]
    ) -> None:
        self.address = address
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._client: Client | None = None
        self.problem: str | None = None
        """Why there is no usable connection now (one line naming the address); None while
        connected."""
        self._stopping = threading.Event()
        self._renew = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flowtui-dask-link", daemon=True)

    @property
    def client(self) -> Client | None:
        """The connected client; None while the cluster is unreachable or refused."""
        return self._client

    def start(self) -> None:
        self.problem = f"connecting to the Dask scheduler at {self.address}"
        self._thread.start()

    def stop(self) -> Client | None:
        """Stop connecting; returns the client for the caller to close."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=_CONNECT_TIMEOUT + 2)
        client, self._client = self._client, None
        return client

    def reconnect(self) -> None:
        """Connect anew (the client's futures were cancelled: it lost its connection, even if
        it has found it again by itself)."""
        self._renew.set()

    def _run(self) -> None:
        delay = _FIRST_RETRY
        while not self._stopping.is_set():
            client = self._connect()
            if client is None:
                self._stopping.wait(delay)
                delay = min(delay * 2, _MAX_RETRY)
                continue
            delay = _FIRST_RETRY
            self._watch(client)

    def _connect(self) -> Client | None:
        from distributed import Client

        try:
            client = Client(self.address, timeout=_CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            self._report(f"the Dask scheduler at {self.address} is unreachable ({exc})")
            return None
        try:
            refusal = cluster_refusal(client, self.address)
            if refusal is None and not self._stopping.is_set():
                self._on_connected(client)
        except Exception as exc:  # it went away while being checked or handed attempts
            self._on_lost()
            refusal = f"the Dask scheduler at {self.address} stopped answering ({exc})"
        if refusal is not None or self._stopping.is_set():
            _close(client)
            if refusal is not None:
                self._report(refusal)
            return None
        self._client = client
        self.problem = None
        # Asked for while the last connection was being lost: this one is new already.
        self._renew.clear()
        workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        logger.info("connected to the Dask scheduler at %s, %d worker(s)", self.address, workers)
        return client

    def _watch(self, client: Client) -> None:
        """Return once the connection is lost (the client's own reconnection is not waited
        for: its futures are cancelled either way) or the link stops."""
        while not self._stopping.wait(_WATCH_INTERVAL):
            if client.status != "running" or self._renew.is_set():
                break
        if self._stopping.is_set():
            return
        self._renew.clear()
        self._client = None
        self._report(f"lost the connection to the Dask scheduler at {self.address}")
        self._on_lost()
        _close(client)

    def _report(self, problem: str) -> None:
        """One line per problem, not one per try."""
        if problem != self.problem:
            logger.error("%s; attempts stay queued; trying again every few seconds", problem)
        self.problem = problem


def cluster_refusal(client: Client, address: str) -> str | None:
    """Why flowtui cannot use the cluster `client` is connected to (one line naming what to
    change), or None."""
    allowed = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    if allowed:
        return (
            f"the Dask scheduler at {address} runs a task again when its worker dies "
            f"(allowed-failures = {allowed}): flowtui's retries must be the only ones; start it "
            f"with DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0"
        )
    versions: Any = client.get_versions(packages=["flowtui"])  # a dict: the client is not async
    return version_mismatch(versions["client"], versions["workers"])


def version_mismatch(
    mine: Mapping[str, Any], workers: Mapping[str, Mapping[str, Any] | None]
) -> str | None:
    """The first of flowtui, Python (major.minor) and distributed whose version a worker does
    not share with this side, as one line naming both; None if they all agree. The values are
    `distributed.versions.get_versions()`' dicts."""
    here = _versions(mine)
    for worker, info in sorted(workers.items()):
        refusal = worker_refusal(worker, _versions(info or {}), here)
        if refusal is not None:
            return refusal
    return None


@functools.cache
def own_versions() -> dict[str, str]:
    """This process's flowtui, Python and distributed versions, as `worker_refusal` takes
    them."""
    from distributed.versions import get_versions

    return _versions(get_versions(packages=["flowtui"]))


def worker_refusal(worker: str, there: Mapping[str, str], here: Mapping[str, str]) -> str | None:
    """Why the worker at `worker`, with the versions `there`, cannot run the attempts of a
    scheduler with the versions `here` (one line naming both); None if it can."""
    for name in _CHECKED:
        if there[name] != here[name]:
            return (
                f"the Dask worker {worker} has {name} {there[name]}, this scheduler "
                f"{name} {here[name]}: install the same {name} version on every worker"
            )
    return None


def _versions(info: Mapping[str, Any]) -> dict[str, str]:
    packages = info.get("packages") or {}
    python = str(packages.get("python") or "unknown")
    found = {name: str(packages.get(name) or "(not installed)") for name in _CHECKED}
    found["python"] = ".".join(python.split(".")[:2])
    return found


def _close(client: Client) -> None:
    with contextlib.suppress(Exception):  # a client whose scheduler is gone may complain
        client.close(timeout=2)
