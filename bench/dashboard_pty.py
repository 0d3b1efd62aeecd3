"""The real `flowtui` command in a pseudo-terminal, as a user starts it: its output is read from
the master side and fed into a terminal emulator (pyte), so that the benchmark knows what is on
screen and when; its RSS is sampled with psutil while it runs."""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pyte
from measure import RssSampler

RSS_INTERVAL_S = 0.020
"""How often the dashboard process's RSS is sampled."""

FOOTER_WORDS = ("Trigger", "q Quit", "palette")
"""What the footer line shows on the DAG list (the first screen)."""


class DashboardError(Exception):
    """A measurement could not be taken: the figure would be missing or wrong."""


@dataclass
class Chunk:
    at: float
    """time.perf_counter() right after os.read returned these bytes."""
    data: bytes


@dataclass
class QuitOutcome:
    exit_code: int | None
    answer: str = ""
    """The key that answered the quit dialog about running tasks (s or k); "" if none came."""
    killed: bool = False
    """The process did not exit within the time limit; its process group was killed."""
    leftovers: list[str] = field(default_factory=list)
    """Processes still in its process group after it exited (then killed)."""


class PtyDashboard:
    """`argv` attached to a fresh pseudo-terminal of `columns` x `rows`, in its own session."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        columns: int = 100,
        rows: int = 30,
    ) -> None:
        self.argv, self.env, self.cwd = list(argv), dict(env), cwd
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._size = struct.pack("HHHH", rows, columns, 0, 0)
        self._chunks: queue.Queue[Chunk | None] = queue.Queue()
        self._lock = threading.Lock()
        self._received = 0
        self._eof = False
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.rss: RssSampler | None = None
        self._master = -1

    # --- start, read, quit ---

    def start(self) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, self._size)
        self._master = master
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env=self.env,
            cwd=self.cwd,
        )
        os.close(slave)  # the child holds it now; EOF (EIO) on the master when it exits
        self.rss = RssSampler(self.process.pid, RSS_INTERVAL_S)
        self.rss.start()
        threading.Thread(target=self._read, name="pty-reader", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: every process holding the slave side is gone
                data = b""
            at = time.perf_counter()
            if not data:
                self._chunks.put(None)
                return
            with self._lock:
                self._received += len(data)
            self._chunks.put(Chunk(at, data))

    @property
    def peak_rss_mb(self) -> float:
        """The highest RSS sampled so far, in MiB."""
        return 0.0 if self.rss is None else self.rss.peak_bytes / 2**20

    @property
    def received(self) -> int:
        """Bytes read from the master side so far."""
        with self._lock:
            return self._received

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> float:
        """Feed the output into the emulator until `predicate(screen text)` holds; returns the
        moment (perf_counter) the bytes that made it hold were read.

        Raises:
            DashboardError: not within `timeout` seconds, or the process ended first.
        """
        deadline = time.perf_counter() + timeout
        if predicate(self.text()):
            return time.perf_counter()
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or self._eof:
                break
            try:
                chunk = self._chunks.get(timeout=min(left, 0.1))
            except queue.Empty:
                continue
            if chunk is None:
                self._eof = True
                break
            self._stream.feed(chunk.data)
            if predicate(self.text()):
                return chunk.at
        state = "ended" if self._eof else f"still not there after {timeout:g} s"
        tail = "\n".join(line.rstrip() for line in self.screen.display if line.strip())
        raise DashboardError(f"waiting for {what}: {state}; the screen shows:\n{tail}")

    def drain(self) -> None:
        """Feed whatever has been read so far into the emulator."""
        while True:
            try:
                chunk = self._chunks.get_nowait()
            except queue.Empty:
                return
            if chunk is None:
                self._eof = True
                return
            self._stream.feed(chunk.data)

    def press(self, keys: bytes) -> None:
        os.write(self._master, keys)

    def quit(self, timeout: float = 15.0, *, stop_all: bool = True) -> QuitOutcome:
        """Press q, and if it asks about running tasks, s (stop all: the scheduler it started
        stops with it) or, not `stop_all`, k (keep running: a scheduler it attached to goes
        on); kill the process group if it does not exit in time. Also kills whatever it left
        in its process group."""
        assert self.process is not None
        outcome = QuitOutcome(exit_code=None)
        with contextlib.suppress(OSError):
            self.press(b"q")
        deadline = time.perf_counter() + timeout
        while self.process.poll() is None and time.perf_counter() < deadline:
            time.sleep(0.02)
            self.drain()
            if not outcome.answer and "are running. Quit?" in self.text():
                outcome.answer = "s" if stop_all else "k"
                with contextlib.suppress(OSError):
                    self.press(outcome.answer.encode())
        if self.process.poll() is None:
            outcome.killed = True
            _kill_group(self.process.pid)
            self.process.wait(timeout=10)
        outcome.exit_code = self.process.returncode
        outcome.leftovers = _group_members(self.process.pid)
        if outcome.leftovers:
            _kill_group(self.process.pid)
        self.close()
        return outcome

    def close(self) -> None:
        """Kill the process group if it still runs; release the terminal and the sampler."""
        if self.process is not None and self.process.poll() is None:
            _kill_group(self.process.pid)
            self.process.wait(timeout=10)
        if self.rss is not None:
            self.rss.stop()
        if self._master >= 0:
            os.close(self._master)
            self._master = -1


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _group_members(pgid: int) -> list[str]:
    """Live processes (not zombies) in process group `pgid`, as "pid name"."""
    found = []
    for process in psutil.process_iter(["pid", "name", "status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {process.info['name']}")
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def shows_dag_list(dag_ids: Sequence[str]) -> Callable[[str], bool]:
    """A predicate: the screen lists every one of `dag_ids` and its last line is the footer."""

    def predicate(text: str) -> bool:
        lines = text.splitlines()
        footer = lines[-1] if lines else ""
        body = "\n".join(lines[:-1])
        return all(word in footer for word in FOOTER_WORDS) and all(
            f" {dag_id} " in body for dag_id in dag_ids
        )

    return predicate


def dashboard_env(home: Path, dags_folder: Path | None) -> dict[str, str]:
    """The environment of a dashboard run: no FLOWTUI_* from outside, no size overrides."""
    skip = ("COLUMNS", "LINES")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTUI_") and k not in skip}
    env |= {"TERM": "xterm-256color", "FLOWTUI_HOME": str(home)}
    if dags_folder is not None:
        env["FLOWTUI_DAGS_FOLDER"] = str(dags_folder)
    return env
