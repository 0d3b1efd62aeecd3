"""`flowtui` with no command: the dashboard, attached to the home's scheduler, which runs as a
process of its own (started in the background when none runs, so a hang-up kills only the
dashboard). The one place that imports the dashboard, deferred, so that the other commands and
the engine never load Textual."""

from __future__ import annotations

import argparse
import contextlib
import sys

from flowtui.config import Settings
from flowtui.errors import FlowtuiError, SchedulerAlreadyRunning


class NeedsTerminal(FlowtuiError):
    def __init__(self) -> None:
        super().__init__(
            "the dashboard needs a terminal (stdin is not a tty); run `flowtui scheduler` for "
            "the scheduler alone, or a command such as `flowtui dags list` (`flowtui --help`)"
        )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not sys.stdin.isatty():
        raise NeedsTerminal
    from flowtui.commands.model import SchedulerState, SchedulerStatus, default_actor
    from flowtui.scheduling.background import BackgroundScheduler

    scheduler = BackgroundScheduler(settings)
    with contextlib.suppress(SchedulerAlreadyRunning):
        scheduler.spawn()  # before the dashboard loads: both start up at once
    from flowtui.scheduling.host import log_to_file
    from flowtui.tui.app import Dashboard

    log_to_file(settings)
    app = Dashboard(
        settings, scheduler.client(default_actor("dashboard")), scheduler, starts_scheduler=True
    )
    app.run()
    seen = scheduler.probe()
    if isinstance(seen, SchedulerStatus):
        _say(
            f"flowtui: the scheduler (pid {seen.pid}) goes on in the background with "
            f"{seen.running_attempts} running task attempt(s); `flowtui scheduler stop` stops it"
        )
    elif seen is not SchedulerState.NOT_RUNNING:
        _say(f"flowtui: the scheduler on {settings.home} is {seen} in the background")
    return 0


def _say(line: str) -> None:
    """Print, unless the terminal has gone (the dashboard ended because it went away)."""
    with contextlib.suppress(OSError):
        print(line, flush=True)
