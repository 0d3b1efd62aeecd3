"""Processes a task leaves behind. An attempt's first process leads its own session and process
group and is a child subreaper (`PR_SET_CHILD_SUBREAPER`), so whatever the task started and
abandoned (`cmd &`, `nohup`, a `subprocess.Popen` never waited for) becomes its child when its
parent ends. When the task is done, those still in the attempt's process group are stopped
(SIGTERM, then SIGKILL after the grace period) and the attempt's log names them. A process that
started a session of its own chose to outlive the task; it is named in the log and left alone.
Standard library only: this runs in every attempt's process."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from flowtui.execution.logs import flowtui_line

if TYPE_CHECKING:
    from collections.abc import Callable

_PR_SET_CHILD_SUBREAPER = 36
_prctl: Callable[..., int] | None = None


def load() -> None:
    """Import ctypes and find libc's prctl once (in the fork server, so that its children need
    not; a process that only imports this module, the command line, pays for neither)."""
    global _prctl
    if _prctl is None:
        import ctypes

        with contextlib.suppress(OSError, AttributeError):  # no libc, or no prctl in it
            _prctl = ctypes.CDLL(None, use_errno=True).prctl


def become_subreaper() -> None:
    """Adopt this process's orphaned descendants (Linux; elsewhere a no-op)."""
    load()
    if _prctl is not None:
        _prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def stop_leftovers(grace: float) -> None:
    """Stop the processes left in this process's group; say so in the log (stderr)."""
    me = os.getpid()
    try:
        os.waitpid(-1, os.WNOHANG)  # one syscall; reaps a child that has ended, if any
    except ChildProcessError:
        return  # no child at all (the usual case): the task left nothing behind
    _reap()
    left, others = _split(_children(), me)
    if others:
        _say(f"left running (each started a session of its own): {_names(others)}")
    if not left:
        return
    _say(f"the task left {len(left)} process(es) running: {_names(left)}; sending SIGTERM")
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.killpg(me, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        _reap()
        left, _ = _split(_children(), me)
    if left:
        _say(f"still running {grace:g} s after SIGTERM, killed with SIGKILL: {_names(left)}")
        for pid in _group_members(me):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        while _split(_children(), me)[0]:
            time.sleep(0.01)
            _reap()
    else:
        _say("they have stopped")


def _children() -> list[int]:
    """This process's live children, of every thread (reparented orphans included)."""
    pids: list[int] = []
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for tid in threads:
        pids.extend(int(p) for p in _read(f"/proc/self/task/{tid}/children").split())
    return pids


def _read(path: str) -> bytes:
    """A small /proc file's bytes (b"" if it is gone), with plain os calls: this runs at the
    end of every attempt."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _split(pids: list[int], group: int) -> tuple[list[int], list[int]]:
    """(in the group, elsewhere) among `pids`; zombies and vanished processes dropped."""
    inside: list[int] = []
    outside: list[int] = []
    for pid in pids:
        state = _stat(pid)
        if state is None or state[0] == "Z":
            continue
        (inside if state[1] == group else outside).append(pid)
    return inside, outside


def _group_members(group: int) -> list[int]:
    """Every descendant in the group, children first (they may have children of their own)."""
    found, queue = [], _children()
    while queue:
        pid = queue.pop()
        state = _stat(pid)
        if state is None or pid == os.getpid():
            continue
        if state[1] == group:
            found.append(pid)
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{pid}/children", "rb") as file:
            queue.extend(int(p) for p in file.read().split())
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of `pid`, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[2])


def _names(pids: list[int]) -> str:
    return ", ".join(f"{pid} {_comm(pid)}" for pid in pids)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as file:
            return file.read().strip()
    except OSError:
        return "?"


def _reap() -> None:
    """Collect children that have exited (the task's own are of no interest any more)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _say(text: str) -> None:
    print(flowtui_line(text), file=sys.stderr, flush=True)
