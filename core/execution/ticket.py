"""An attempt's ticket: a small file beside its log (`attempt=<n>.ticket`) that makes the
attempt's life durable, whatever happens to the processes that watch it.

The attempt's process claims the ticket before it runs anything: it takes an exclusive
`flock` on it, which the kernel keeps until the process (and whatever inherited the open file)
is gone, and appends a `start` record (its PID, the time, and the `queued_at` stamp of the try
it runs). When it knows its outcome it appends an `outcome`
record before it reports anywhere else. A fork server that reaps an attempt while nobody
listens appends an `exit` record. So, from the ticket alone:

- the lock is held: the attempt still runs (a new scheduler adopts it);
- a `start` record of this try and no lock: it ran and ended; its outcome is in the file or was
  lost with its process (killed);
- no `start` record of this try: it never ran anything, and may be started now.

Each try is claimed once: a second process that gets the lock finds the `start` record and
declines (`Declined`). This module uses the standard library only: it runs in the fork
server's children on the path between one task's end and the next one's start."""

from __future__ import annotations

import fcntl
import json
import os
import time
from json.encoder import encode_basestring
from typing import Any, NamedTuple

_OPEN = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC


def ticket_path(log_path: str) -> str:
    """Where the ticket of the attempt whose log is `log_path` lives."""
    return log_path.removesuffix(".log") + ".ticket"


class TicketState(NamedTuple):
    """What a ticket says about its try."""

    held: bool
    """A process holds the ticket's lock: the attempt (or something it started) still runs."""
    pid: int | None = None
    """The attempt's first process (it leads its own session and process group)."""
    started_at: float | None = None
    """Epoch seconds, just after the process started: with the PID, it tells the attempt's
    process from a later one given the same PID (`process_groups.is_same_process`)."""
    outcome: dict[str, Any] | None = None
    """The outcome the attempt recorded (`AttemptOutcome.to_json`)."""
    exit_code: int | None = None
    """How its process ended, when a fork server reaped it with nobody listening."""

    def to_json(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TicketState:
        return cls(**data)


class Declined(NamedTuple):
    """The try was claimed before: it runs elsewhere (`state.held`) or it ran and ended."""

    state: TicketState
    conflict: str | None = None
    """Set when the ticket belongs to another incarnation of the try (an earlier run with the
    same id, replaced) whose process still runs: this try cannot run now."""


def claim(path: str, queued_at: str) -> int | Declined:
    """Claim the try queued at `queued_at`: the locked ticket's fd (keep it open while the
    attempt runs; it is close-on-exec, so a program the attempt execs does not hold it), or
    `Declined`. Records from another incarnation (an earlier run with this id) are discarded."""
    fd = _open_new(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        records = _read(fd)
        os.close(fd)
        if records and records[0].get("queued_at") != queued_at:
            return Declined(TicketState(True), _conflict(records))  # an earlier run's, live
        return Declined(_state(records, queued_at, held=True))
    records = _read(fd)
    if records and records[0].get("queued_at") != queued_at:
        os.ftruncate(fd, 0)  # an earlier incarnation's, ended: not this try's
        records = []
    if any("start" in r for r in records):
        os.close(fd)
        return Declined(_state(records, queued_at, held=False))
    return _start(fd, queued_at)


def _open_new(path: str) -> int:
    """Open the ticket, making its folder first (the attempt's log folder, new for a first try,
    where the ticket is the first file): one `mkdir` rather than a failed open, a check of the
    parent and the `mkdir`. The parent is made too when missing (a run's first attempt)."""
    folder = os.path.dirname(path)
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:  # a later try of the task
        pass
    except FileNotFoundError:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    return os.open(path, _OPEN, 0o600)


def _start(fd: int, queued_at: str) -> int:
    """Write the `start` record on a ticket this process holds. By hand rather than with
    json.dumps: this runs in every attempt, first thing after the fork, where a first
    json.dumps costs more than the rest of the claim."""
    line = (
        f'{{"queued_at": {encode_basestring(queued_at)}, "start": {os.getpid()}, '
        f'"at": {time.time()!r}}}\n'
    )
    os.write(fd, line.encode())
    return fd


def record_outcome(fd: int, outcome: bytes) -> None:
    """Append the attempt's outcome (`AttemptOutcome.to_json`, encoded) to its claimed
    ticket."""
    os.write(fd, b'{"outcome": ' + outcome + b"}\n")


def record_exit(path: str, exit_code: int) -> None:
    """Append how the attempt's process ended (a fork server reaping it, nobody listening)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except OSError:
        return
    try:
        _append(fd, {"exit": exit_code})
    finally:
        os.close(fd)


def inspect(path: str, queued_at: str) -> TicketState | None:
    """What the ticket says about the try queued at `queued_at`; None when that try never
    started (no ticket, or only another incarnation's records, ended)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            held = False
        except BlockingIOError:
            held = True
        state = _state(_read(fd), queued_at, held=held)
    finally:
        os.close(fd)
    return state if state.pid is not None or held else None


def wait_released(path: str) -> None:
    """Block until no process holds the ticket's lock (the attempt has ended)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)


def _append(fd: int, record: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(record) + "\n").encode())


def _read(fd: int) -> list[dict[str, Any]]:
    data = os.pread(fd, 1 << 20, 0)
    records = []
    for line in data.split(b"\n"):
        if not line:  # a new ticket's, read by every attempt: not worth a failed decode
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # cut short by a kill mid-write
    return records


def _state(records: list[dict[str, Any]], queued_at: str, *, held: bool) -> TicketState:
    if not records or records[0].get("queued_at") != queued_at:
        return TicketState(held)
    pid = at = outcome = code = None
    for record in records:
        if "start" in record:
            pid, at = record["start"], record.get("at")
        elif "outcome" in record:
            outcome = record["outcome"]
        elif "exit" in record:
            code = record["exit"]
    return TicketState(held, pid, at, outcome, code)


def _conflict(records: list[dict[str, Any]]) -> str:
    pid = next((r["start"] for r in records if "start" in r), None)
    where = f" (pid {pid})" if pid else ""
    return (
        f"an attempt of an earlier run with this run id still runs{where}; stop it, then "
        f"clear this task"
    )
