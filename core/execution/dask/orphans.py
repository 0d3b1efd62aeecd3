"""An attempt whose Dask worker died: its process runs on in its own session, watched by no one,
while the scheduler has failed it and may start its retry. `end_orphan` runs on another worker
of the same host, on its event loop (`Client.run`: no task slot needed, so a busy worker does
not delay it), and stops the attempt's whole process group: SIGTERM, then SIGKILL after the
grace period."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import TYPE_CHECKING

from flowtui.execution.process_groups import is_same_process, signal_group

if TYPE_CHECKING:
    from distributed import Client


async def end_orphan(pid: int, started_at: float, grace: float) -> bool:
    """Stop the process group of the attempt that started as `pid` at `started_at` (epoch
    seconds), unless that PID names a later process now. Returns whether it was still there."""
    if is_same_process(pid, started_at) is not True or not signal_group(pid, signal.SIGTERM):
        return False
    deadline = time.monotonic() + grace
    while _has_live_members(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    signal_group(pid, signal.SIGKILL)
    return True


def _has_live_members(pgid: int) -> bool:
    """Whether a process of the group runs (a zombie does not: with its parent, the worker,
    dead, nobody may reap it soon)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                data = file.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def stop_orphan(client: Client, worker: str, pid: int, started_at: float, grace: float) -> str:
    """Run `end_orphan` on a worker of the host where `worker` died (waits for it); what
    became of the attempt's process, to log."""
    host = _host(worker)
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    there = [w for w in workers if _host(w) == host]
    if not there:
        return f"no Dask worker left on {host} to stop its process {pid}"
    ended = client.run(end_orphan, pid, started_at, grace, workers=there[:1])
    return f"its process {pid} " + ("stopped" if any(ended.values()) else "had ended")


def _host(address: str) -> str:
    """ "10.0.0.5" of "tcp://10.0.0.5:40123"."""
    return address.split("://")[-1].rsplit(":", 1)[0]
