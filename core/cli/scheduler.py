"""`flowtui scheduler`: the home's scheduler without a dashboard (systemd, tmux)."""

from __future__ import annotations

import argparse
import signal

from flowtui.cli.arguments import Group, add_command
from flowtui.config import Settings


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_command(top, "scheduler", _scheduler, "run the scheduler without the dashboard", common)


def _scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.scheduling.host import SchedulerHost, log_to_file

    log_to_file(settings)
    host = SchedulerHost(settings)
    host.acquire()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: host.request_stop())
    try:
        host.start()
    except BaseException:
        host.abort()
        raise
    print(f"flowtui scheduler: home {settings.home}, DAGs {settings.dags_folder}", flush=True)
    host.serve()
    return 0
