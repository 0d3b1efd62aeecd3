"""An attempt's log, brought home from a Dask worker while it runs. On the worker the attempt
writes its log (its output, masked as locally, and its own `[flowtui]` lines) to a file of the
worker's own; `LogShipper` reads that file as it grows and sends it in numbered pieces of whole
lines on the `LOG_TOPIC` event topic (Dask's structured events: worker, Dask scheduler,
subscribed client, in order). On the scheduler's side `LogSink` appends each piece, in number
order, to the attempt's log file under the home, and reports the attempt's exit only once the
last piece it was told of is written: `flowtui logs --follow` sees every line before the end."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from flowtui.execution.local.protocol import write_all
from flowtui.execution.logs import CHUNK, flowtui_line, open_log

LOG_TOPIC = "flowtui-attempt-log"
"""Event topic: {"name", "seq", "data"}, a piece of an attempt's log; seq counts from 0."""

LOG_GRACE = 10.0
"""Seconds the sink waits, after an attempt ended, for pieces of its log still on their way."""

_POLL = 0.02
"""Seconds the shipper sleeps when the log has nothing new."""

logger = logging.getLogger(__name__)


class LogShipper:
    """Worker side: sends the log at `path` (the attempt writes it) as it grows, with `send`
    (`Worker.log_event` on `LOG_TOPIC`), from a thread of its own, until `finish`."""

    def __init__(self, name: str, path: str, send: Callable[[dict[str, Any]], None]) -> None:
        self._name = name
        self._path = path
        self._send = send
        self._done = threading.Event()
        self.sent = 0
        """Pieces sent so far; after `finish`, all of them."""
        self._thread = threading.Thread(target=self._run, name="flowtui-log", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> int:
        """Send what the attempt wrote to its end (call once its process ended); returns the
        number of pieces sent in all."""
        self._done.set()
        self._thread.join()
        return self.sent

    def _run(self) -> None:
        pending = b""
        with open(self._path, "rb") as log:
            while True:
                done = self._done.is_set()  # before reading: what follows was all written
                data = log.read(CHUNK)
                if data:
                    pending = self._ship_lines(pending + data)
                elif done:
                    if pending:
                        self._ship(pending)  # a last line without its newline
                    return
                else:
                    self._done.wait(_POLL)

    def _ship_lines(self, data: bytes) -> bytes:
        """Send the whole lines of `data`; return the start of a line still being written (a
        line longer than a piece goes in pieces)."""
        end = data.rfind(b"\n") + 1
        if end == 0 and len(data) < CHUNK:
            return data
        self._ship(data[: end or len(data)])
        return data[end:] if end else b""

    def _ship(self, data: bytes) -> None:
        self._send({"name": self._name, "seq": self.sent, "data": data})
        self.sent += 1


class _Log:
    """The sink's state of one attempt's log."""

    __slots__ = ("deadline", "expected", "fd", "path", "pieces", "then", "written")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1
        self.written = 0
        """Pieces written: the next to write is number `written`."""
        self.pieces: dict[int, bytes] = {}
        """Pieces that came before one with a lower number."""
        self.expected: int | None = None
        self.then: Callable[[], None] | None = None
        self.deadline = 0.0


class _Open(NamedTuple):
    name: str
    path: str


class _Piece(NamedTuple):
    name: str
    seq: int
    data: bytes


class _Close(NamedTuple):
    name: str
    pieces: int | None
    then: Callable[[], None]


class _Resume(NamedTuple):
    name: str
    pieces: list[tuple[int, bytes]]


class LogSink:
    """Scheduler side: writes the pieces of remote attempts' logs to their files under the
    home, on a thread of its own, and calls back when an attempt's log is complete."""

    def __init__(self) -> None:
        self._inbox: queue.SimpleQueue[_Open | _Piece | _Close | _Resume | None] = (
            queue.SimpleQueue()
        )
        self._logs: dict[str, _Log] = {}
        """Only the writer thread touches it."""
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="flowtui-log-sink", daemon=True)
        self._thread.start()

    def open(self, name: str, path: str) -> None:
        """Expect the log of attempt `name` (its Dask key), to be written at `path`."""
        self._inbox.put(_Open(name, path))

    def resume(self, name: str, events: list[tuple[float, dict[str, Any]]]) -> None:
        """Go on with the log of attempt `name` (opened) that a scheduler before this one
        wrote part of: `events` are the `LOG_TOPIC` events the Dask scheduler kept (anyone's);
        the pieces of this attempt not in its file yet are written, as are those that follow."""
        pieces = [(int(m["seq"]), m["data"]) for _at, m in events if m.get("name") == name]
        self._inbox.put(_Resume(name, sorted(pieces, key=lambda piece: piece[0])))

    def received(self, event: tuple[float, dict[str, Any]]) -> None:
        """A `LOG_TOPIC` event (on the Dask client's event loop: queued, never written here)."""
        message = event[1]
        self._inbox.put(_Piece(str(message["name"]), int(message["seq"]), message["data"]))

    def close(self, name: str, pieces: int | None, then: Callable[[], None]) -> None:
        """The attempt ended having sent `pieces` pieces (None: unknown, its worker died):
        call `then` once they are written, or after `LOG_GRACE` seconds without them (at
        once when the sink is stopped)."""
        with self._lock:
            if not self._stopped:
                self._inbox.put(_Close(name, pieces, then))
                return
        then()

    def stop(self) -> None:
        """Write what came, call back the attempts that ended, close every log, and end the
        thread."""
        with self._lock:
            self._stopped = True
            self._inbox.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            waiting = [log.deadline for log in self._logs.values() if log.then is not None]
            timeout = max(0.0, min(waiting) - time.monotonic()) if waiting else None
            try:
                message = self._inbox.get(timeout=timeout)
            except queue.Empty:
                self._give_up_late()
                continue
            if message is None:
                for name, log in list(self._logs.items()):
                    if log.then is not None:
                        self._finish(name, log)
                    _close_fd(log)
                return
            try:
                self._handle(message)
            except Exception:
                logger.exception("the log of attempt %s could not be written", message.name)

    def _handle(self, message: _Open | _Piece | _Close | _Resume) -> None:
        if isinstance(message, _Open):
            self._logs[message.name] = _Log(message.path)
            return
        log = self._logs.get(message.name)
        if log is None:  # another flowtui's attempt, or one given up on
            if isinstance(message, _Close):
                message.then()
            return
        if isinstance(message, _Piece):
            if message.seq >= log.written:  # not one a resumed log had already
                log.pieces[message.seq] = message.data
            self._write(log)
        elif isinstance(message, _Resume):
            if log.written == 0:  # opened by this scheduler: find where the last one stopped
                _skip_written(log, message.pieces)
            log.pieces.update(piece for piece in message.pieces if piece[0] >= log.written)
            self._write(log)
        else:
            log.expected, log.then = message.pieces, message.then
            log.deadline = time.monotonic() + LOG_GRACE
        if log.then is not None and (log.expected is None or log.written >= log.expected):
            self._finish(message.name, log)

    def _write(self, log: _Log) -> None:
        while log.written in log.pieces:
            data = log.pieces.pop(log.written)
            if log.fd < 0:
                log.fd = open_log(log.path)
            write_all(log.fd, data)
            log.written += 1

    def _give_up_late(self) -> None:
        now = time.monotonic()
        for name, log in list(self._logs.items()):
            if log.then is not None and log.deadline <= now:
                missing = (log.expected or 0) - log.written
                logger.warning("attempt %s: %d piece(s) of its log did not arrive", name, missing)
                _say_missing(log, missing)
                self._finish(name, log)

    def _finish(self, name: str, log: _Log) -> None:
        del self._logs[name]
        _close_fd(log)
        assert log.then is not None
        log.then()


def _skip_written(log: _Log, pieces: list[tuple[int, bytes]]) -> None:
    """Set `log.written` past the pieces its file holds already (in order, maybe with the
    scheduler's own lines between them); cut a piece the last scheduler wrote only part of;
    say so in the log when pieces before the first the Dask scheduler kept are missing."""
    try:
        with open(log.path, "rb") as file:
            held = file.read()
    except FileNotFoundError:
        held = b""
    at = 0
    for seq, data in pieces:
        found = held.find(data, at)
        if found < 0:
            break
        at, log.written = found + len(data), seq + 1
    else:
        return
    rest = held[at:]
    missing = seq - log.written
    if rest and data.startswith(rest):  # its write was cut short by the crash
        os.truncate(log.path, len(held) - len(rest))
    if missing > 0 and log.written == 0:
        _say_missing(log, missing)
        log.written = seq


def _say_missing(log: _Log, missing: int) -> None:
    """Say in the log that `missing` pieces of it never came."""
    with contextlib.suppress(OSError):
        if log.fd < 0:
            log.fd = open_log(log.path)
        note = f"{missing} piece(s) of this log did not arrive from the worker"
        write_all(log.fd, f"\n{flowtui_line(note)}\n".encode())


def _close_fd(log: _Log) -> None:
    if log.fd >= 0:
        os.close(log.fd)
        log.fd = -1
