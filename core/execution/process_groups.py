"""Signals to an attempt's process group (its pgid is the PID of the attempt's first process,
which starts its own session), liveness checks, and telling an attempt's process from a later
one given the same PID. "No such process" counts as done, as rq
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


def is_same_process(pid: int, started_at: float | None) -> bool | None:
    """True: `pid` is the process that started at `started_at` (epoch seconds, taken just
    after its start) or one started before; False: a process started later has the PID now
    (reused); None: no process has that PID. A second of tolerance covers clock ticks and
    the boot time's rounding; a PID reused within a second of its attempt's start would be
    missed, and PIDs are handed out in order through tens of thousands."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:
        return None
    if started_at is None:
        return True
    ticks = int(data[data.rindex(b")") + 2 :].split()[19])
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK") <= started_at + 1.0


def _boot_time() -> float:
    with open("/proc/stat", "rb") as file:
        for line in file:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    return 0.0


def stop_if_same(pid: int, started_at: float | None, signum: int) -> bool:
    """Signal the group of `pid` unless the PID now names a process started after
    `started_at` (reused); False if nothing was signalled."""
    if is_same_process(pid, started_at) is False:
        return False
    return signal_group(pid, signum)
