"""Who may change a home's store: its one scheduler, or, while none runs, one command at a time.

Two `flock`s under the home, each file holding its holder's PID (the kernel drops a lock when
its process dies, however it dies):

- `scheduler.lock`, held by the home's scheduler for its whole life and by nothing else, so
  that `holder_pid` only ever names a scheduler;
- `offline.lock`, the turn: held by a command applied to the store while no scheduler runs,
  and by a starting scheduler while it takes `scheduler.lock`. Commands wait for their turn,
  one after another; a starting scheduler waits for the command before it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flowtui.errors import HomeBusy, SchedulerAlreadyRunning

TURN_WAIT = 30.0
"""Seconds a command or a starting scheduler waits for the turn; applying a command takes
milliseconds, so only a stopped (SIGSTOP) or stuck process holds it this long."""
_PROBE_WAIT = 1.0
"""Seconds a starting scheduler retries `scheduler.lock`: `holder_pid` takes it shared for an
instant, which must not pass for a running scheduler."""
_POLL = 0.01


class SchedulerLock:
    """The scheduler lock of one home; `acquire` raises if a scheduler holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, after waiting for a command being applied offline to finish.

        Raises:
            SchedulerAlreadyRunning: a scheduler holds it (the message names its PID).
            HomeBusy: a command held the turn for longer than `TURN_WAIT`.
        """
        with _holding(turn_path(self.path), TURN_WAIT):
            fd = _open(self.path)
            if not _poll_flock(fd, fcntl.LOCK_EX, _PROBE_WAIT):
                os.close(fd)
                raise SchedulerAlreadyRunning(self.path.parent, holder_pid(self.path))
            # Written before the turn is released: whoever gets the turn next finds the PID.
            _write_pid(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


@contextmanager
def offline_turn(lock_path: Path, timeout: float = TURN_WAIT) -> Iterator[bool]:
    """Hold the home's turn to change its store without a scheduler.

    Yields whether no scheduler runs: then none can start before the block ends. When one
    runs, the caller must send its command to that scheduler instead.

    Raises:
        HomeBusy: another command held the turn for longer than `timeout`.
    """
    with _holding(turn_path(lock_path), timeout):
        yield holder_pid(lock_path) is None


def turn_path(lock_path: Path) -> Path:
    """The turn's lock file beside the scheduler's."""
    return lock_path.with_name("offline.lock")


def holder_pid(path: Path) -> int | None:
    """PID of the scheduler holding the lock at `path`, or None when no scheduler runs."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or 0  # 0: held, its PID not written yet
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def _holding(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on `path` (waiting up to `timeout` seconds), its PID written."""
    fd = _open(path)
    try:
        if not _poll_flock(fd, fcntl.LOCK_EX, timeout):
            raise HomeBusy(path.parent, _read_pid(fd), timeout)
        _write_pid(fd)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _poll_flock(fd: int, operation: int, timeout: float) -> bool:
    """Take the flock, retrying until `timeout` (flock itself waits without a bound)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
