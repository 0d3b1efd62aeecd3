"""Dashboard fixtures: the App built around a real store, with the scheduler either in another
process (`flowtui scheduler`) or, for speed, in a thread of the test (`in_thread`); either way
the App probes it and sends it commands over its real socket."""

from __future__ import annotations

import contextlib
import io
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rich.console import Console
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from flowtui.commands.model import CommandClient
from flowtui.config import Settings
from flowtui.scheduling.background import BackgroundScheduler
from flowtui.scheduling.host import SchedulerHost
from flowtui.scheduling.service import Scheduler
from flowtui.tui.app import Dashboard
from flowtui.tui.palette import FlowtuiCommands
from tests.conftest import Home

SIZE = (120, 40)


async def wait_for(
    pilot: Pilot[Any],
    predicate: Callable[[], Any],
    timeout: float = 15.0,
    what: str = "the dashboard",
) -> Any:
    """Let the app run until `predicate()` is truthy (checked between UI updates); a widget
    the predicate queries that is not mounted yet (NoMatches) counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except NoMatches:
            value = None
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for command workers to finish and the UI to process their messages (a worker a
    newer one of its exclusive group cancelled counts as finished)."""
    for worker in list(pilot.app.workers):
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()
    await pilot.pause(0.1)


def make_dashboard(settings: Settings, commands: CommandClient | None = None) -> Dashboard:
    """The App as `flowtui` builds it, without starting a scheduler; `commands` replaces the
    scheduler's socket (e.g. `clients.Offline` to apply commands with none running)."""
    scheduler = BackgroundScheduler(settings)
    return Dashboard(settings, commands or scheduler.client("dashboard:test"), scheduler)


@pytest.fixture
def attached(home: Home, scheduler: subprocess.Popen[str]) -> Dashboard:
    """A dashboard attached to a real `flowtui scheduler` process on `home`."""
    return make_dashboard(home.settings)


def load_dags(home: Home) -> None:
    """Store the home's DAG files as its scheduler would (`dags list` only reads them)."""
    home.run("dags", "reserialize", check=True)


@contextmanager
def in_thread(home: Home) -> Iterator[tuple[Dashboard, Scheduler]]:
    """A dashboard attached to a scheduler that runs in a thread of this test (no process to
    start). Never let the App stop it: its PID is the test's."""
    host = SchedulerHost(home.settings)
    host.acquire()
    host.start()
    thread = threading.Thread(target=host.serve, daemon=True)
    thread.start()
    try:
        yield make_dashboard(home.settings), host.scheduler
    finally:
        host.request_stop()
        thread.join(timeout=30)


async def palette_titles(app: Dashboard) -> list[str]:
    """The names flowtui's palette provider offers on the screen on top, unfiltered."""
    provider = FlowtuiCommands(app.screen)
    await provider.startup()
    return [command.name for command in provider.commands()]


def plain(renderable: Any, width: int = 200) -> str:
    """What a Rich renderable reads as, without styles (lines joined by newlines)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()
