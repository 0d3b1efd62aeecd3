"""What runs on a Dask worker for one attempt: `run_attempt` starts the attempt as a process in
a session of its own (`attempt`), says so on the `STARTED_TOPIC` event topic, sends its log home
as it grows (`log_stream`), signals its process group when the scheduler sets the attempt's stop
events, and returns how it ended. What goes in and out is plain data: the request as JSON, the
outcome as JSON, never a pickled DAG. Nothing here or in the attempt's process touches the home:
the log (and the try's ticket beside it) are files of the worker's own, in its local directory."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, NamedTuple

from distributed import Event, get_client, get_worker

from flowtui.execution.dask.connection import own_versions, worker_refusal
from flowtui.execution.dask.log_stream import LOG_TOPIC, LogShipper
from flowtui.execution.dask.store_proxy import relay
from flowtui.execution.logs import open_log
from flowtui.execution.process_groups import signal_group

STARTED_TOPIC = "flowtui-attempt-started"
"""Event topic: {"name", "pid", "worker", "at"} once an attempt's process runs."""

_ATTEMPT = "flowtui.execution.dask.attempt"


class RemoteAttempt(NamedTuple):
    """One attempt as the scheduler sends it: its Dask key (`name`, also the prefix of its
    stop events), the `AttemptRequest` as JSON, where the worker finds the DAG folder, and the
    queue that takes its requests for the store (`store_proxy`), and the scheduler's versions."""

    name: str
    request: dict[str, Any]
    dags_folder: str
    store_queue: str
    versions: dict[str, str]
    """The scheduler's flowtui, Python and distributed (`connection.own_versions`): a worker
    that joined after the connection's check refuses the attempt if its own differ."""


class RemoteExit(NamedTuple):
    """How the attempt's process ended, as the worker saw it."""

    worker: str
    pid: int | None
    """None: stopped before its process started."""
    started_at: float
    ended_at: float
    exit_code: int
    """< 0: the signal that ended it."""
    result: dict[str, Any] | None
    """What the process reported (its outcome as JSON, or that its ticket declined the try);
    None when it reported nothing."""
    log_pieces: int | None = 0
    """How many pieces of its log were sent on `LOG_TOPIC`; None: not known (its worker died)."""


def stop_events(name: str) -> tuple[str, str]:
    """The names of an attempt's SIGTERM and SIGKILL events."""
    return f"{name}-term", f"{name}-kill"


def run_attempt(job: RemoteAttempt) -> RemoteExit:
    """Run one attempt on this worker and return how it ended (called by Dask)."""
    client = get_client()
    worker = get_worker()
    term, kill = (Event(name, client=client) for name in stop_events(job.name))
    started = time.time()
    if term.is_set() or kill.is_set():  # stopped while it waited for a worker
        return RemoteExit(worker.address, None, started, time.time(), -signal.SIGTERM, None)
    refusal = worker_refusal(worker.address, own_versions(), job.versions)
    if refusal is not None:
        return RemoteExit(worker.address, None, started, time.time(), 0, {"refused": refusal})
    log = local_log_path(worker.local_directory, job.request["log_path"])
    os.close(open_log(log))  # there before the shipper opens it
    shipper = LogShipper(job.name, log, lambda piece: worker.log_event(LOG_TOPIC, piece))
    shipper.start()
    result_r, result_w = os.pipe()
    store, attempt_store = socket.socketpair()
    store_fd = attempt_store.fileno()
    process = subprocess.Popen(
        [sys.executable, "-m", _ATTEMPT, str(result_w), str(store_fd), job.dags_folder],
        stdin=subprocess.PIPE,
        pass_fds=(result_w, store_fd),
        start_new_session=True,
    )
    os.close(result_w)
    attempt_store.close()
    threading.Thread(
        target=relay,
        args=(store, job.name, job.store_queue, client),
        name="flowtui-store",
        daemon=True,
    ).start()
    worker.log_event(
        STARTED_TOPIC,
        {"name": job.name, "pid": process.pid, "worker": worker.address, "at": started},
    )
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(process.pid, term, kill, done), name="flowtui-stop", daemon=True
    )
    watcher.start()
    try:
        assert process.stdin is not None  # stdin=PIPE
        with contextlib.suppress(BrokenPipeError), process.stdin:
            process.stdin.write(json.dumps({**job.request, "log_path": log}).encode())
        with os.fdopen(result_r, "rb") as pipe:
            data = pipe.read()  # to its end before waiting: a large outcome fills the pipe
        code = process.wait()
    finally:
        done.set()
        pieces = shipper.finish()
    with contextlib.suppress(OSError):
        os.unlink(log)  # home now; the ticket stays: this try ran here
    try:
        result: dict[str, Any] | None = json.loads(data)
    except ValueError:
        result = None
    return RemoteExit(worker.address, process.pid, started, time.time(), code, result, pieces)


def local_log_path(local_directory: str, home_log: str) -> str:
    """Where, in the worker's own directory, the attempt whose log lives at `home_log` on the
    scheduler's machine writes its log: the same path for the same try, so that its ticket
    (`execution.ticket`, beside the log) declines a second run of it on this worker."""
    digest = hashlib.sha256(home_log.encode()).hexdigest()[:24]
    return os.path.join(local_directory, "flowtui-attempts", digest, os.path.basename(home_log))


def _watch(pid: int, term: Event, kill: Event, done: threading.Event) -> None:
    """Signal the attempt's group when its stop events are set: SIGTERM, then SIGKILL (a
    forced stop sets both). Each wait is a long poll on the Dask scheduler, so a stop arrives
    at once; the half-second timeout only bounds how long this outlives the attempt."""
    with contextlib.suppress(Exception):  # the cluster went away: the attempt runs to its end
        for event, signum in ((term, signal.SIGTERM), (kill, signal.SIGKILL)):
            while not event.wait(timeout=0.5):
                if done.is_set():
                    return
            if done.is_set():
                return
            signal_group(pid, signum)
