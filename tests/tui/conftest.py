"""Dashboard fixtures: the App built around a real store, with the scheduler either in another
process (`flowtui scheduler`, the attached mode) or in a thread of the test (embedded)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from textual.pilot import Pilot

from flowtui.commands.transport import SocketClient
from flowtui.scheduling.host import SchedulerHost
from flowtui.scheduling.service import Scheduler
from flowtui.tui.app import Dashboard
from tests.conftest import Home

SIZE = (120, 40)


async def wait_for(
    pilot: Pilot[Any],
    predicate: Callable[[], Any],
    timeout: float = 15.0,
    what: str = "the dashboard",
) -> Any:
    """Let the app run until `predicate()` is truthy (checked between UI updates)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for command workers to finish and the UI to process their messages."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


@pytest.fixture
def attached(home: Home, scheduler: subprocess.Popen[str]) -> Dashboard:
    """A dashboard attached to a real `flowtui scheduler` process on `home`."""
    client = SocketClient(home.settings, "dashboard:test")
    return Dashboard(home.settings, client, mode=f"attached (pid {scheduler.pid})")


@contextmanager
def embedded(home: Home) -> Iterator[tuple[Dashboard, Scheduler]]:
    """A dashboard with the scheduler running in a thread of this process, as `flowtui` does."""
    settings = home.settings
    host = SchedulerHost(settings)
    host.acquire()
    host.start()
    app = Dashboard(
        settings,
        host.client("dashboard:test"),
        mode="embedded",
        running_attempts=host.running_attempts,
    )
    host.add_listener(lambda _changes: app.store_changed())
    thread = threading.Thread(target=host.serve, daemon=True)
    thread.start()
    try:
        yield app, host.scheduler
    finally:
        host.request_stop()
        thread.join(timeout=30)
