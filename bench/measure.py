"""Runs one command as a child process and measures it: wall time from spawn to reap, CPU time
of the whole process tree (`os.wait4`), and peak RSS, both of the largest process in the tree
(wait4's ru_maxrss) and of the main process alone (sampled with psutil)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_INTERVAL_S = 0.010
"""How often the main process's RSS is sampled."""


@dataclass(frozen=True)
class Measurement:
    """What one run of a command cost; RSS figures are in MiB."""

    exit_code: int
    """The child's exit code; negative for the signal that killed it."""
    wall_s: float
    user_s: float
    sys_s: float
    tree_max_rss_mb: float
    """ru_maxrss from wait4: the largest single process among the child and the descendants
    it reaped (including itself); not a sum over processes."""
    main_peak_rss_mb: float
    """The highest RSS of the main process over its samples."""
    timed_out: bool

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


class RssSampler(threading.Thread):
    """Samples one process's RSS every `interval` seconds until stopped or until it is gone."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            process = psutil.Process(self.pid)
            while not self._stopped.is_set():
                self.peak_bytes = max(self.peak_bytes, process.memory_info().rss)
                self.samples += 1
                self._stopped.wait(self.interval)
        except psutil.Error:
            return  # the process exited (or became a zombie) between two samples

    def stop(self) -> float:
        """Stop sampling; returns the peak in MiB."""
        self._stopped.set()
        self.join()
        return self.peak_bytes / 2**20


class _Deadline:
    """Kills the child's process group if it outlives `timeout_s`."""

    def __init__(self, pid: int, timeout_s: float) -> None:
        self.pid = pid
        self.fired = threading.Event()
        self._timer = threading.Timer(timeout_s, self._kill)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def _kill(self) -> None:
        self.fired.set()
        with contextlib.suppress(ProcessLookupError):  # it ended on its own just now
            os.killpg(self.pid, signal.SIGKILL)


def run_measured(
    argv: Sequence[str], env: Mapping[str, str], output: Path, timeout_s: float
) -> Measurement:
    """Run `argv` with stdout and stderr to `output` and measure it.

    The child leads its own session, so that a timeout kills it with its helpers.
    """
    with output.open("wb") as log:
        start = time.perf_counter()
        child = subprocess.Popen(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sampler = RssSampler(child.pid)
        sampler.start()
        with _Deadline(child.pid, timeout_s) as deadline:
            _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.perf_counter() - start
        sampler.stop()
    # The child was reaped here, not by Popen: tell it, so that it does not wait again.
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        exit_code=child.returncode,
        wall_s=wall_s,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        tree_max_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        main_peak_rss_mb=sampler.peak_bytes / 2**20,
        timed_out=deadline.fired.is_set(),
    )
