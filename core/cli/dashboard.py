"""`flowtui` with no command: the dashboard. With the scheduler embedded in this process when
nobody runs one on the home, else attached to the running one (its commands go over its socket;
quitting never stops it). The one place that imports the dashboard, deferred, so that the other
commands and the engine never load Textual."""

from __future__ import annotations

import argparse

from flowtui.config import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import default_actor
    from flowtui.errors import SchedulerAlreadyRunning
    from flowtui.scheduling.host import SchedulerHost, log_to_file
    from flowtui.scheduling.lock import holder_pid
    from flowtui.tui.app import Dashboard

    log_to_file(settings)
    actor = default_actor("dashboard")
    host = SchedulerHost(settings)
    try:
        host.acquire()
    except SchedulerAlreadyRunning:
        from flowtui.commands.transport import SocketClient

        mode = f"attached (pid {holder_pid(settings.lock_path)})"
        return Dashboard(settings, SocketClient(settings, actor), mode=mode).run() or 0
    host.start_executor()  # forks the fork server now, while this process has one thread
    app = Dashboard(
        settings, host.client(actor), mode="embedded", running_attempts=host.running_attempts
    )
    host.add_listener(lambda _changes: app.store_changed())
    host.serve_in_thread(
        lambda exc: app.call_from_thread(
            app.notify, f"the scheduler could not start: {exc}", severity="error", timeout=30
        )
    )
    try:
        return app.run() or 0
    finally:
        host.stop_thread()
