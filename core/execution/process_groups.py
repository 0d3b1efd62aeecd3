"""Signals to an attempt's process group (its pgid is the PID of the attempt's first process,
which starts its own session) and liveness checks. "No such process" counts as done, as rq
does: a group that is gone needs no more signals."""

from __future__ import annotations

import os


def signal_group(pgid: int, signum: int) -> bool:
    """Send `signum` to every process of the group; False if the group is gone."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # a PID reused by another user's process: not ours to signal
        return False
    return True


def group_exists(pgid: int) -> bool:
    """Whether any process of the group is still there (signal 0 checks, sends nothing)."""
    return signal_group(pgid, 0)


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this PID exists (of any user)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
