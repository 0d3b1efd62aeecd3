"""Starting the dashboard: with the scheduler embedded in this process when nobody runs one on
the home, else attached to the running one (its commands go over its socket; quitting never
stops it)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from flowtui.commands.model import default_actor
from flowtui.errors import SchedulerAlreadyRunning
from flowtui.execution.logs import log_to_file
from flowtui.scheduling.clients import connect
from flowtui.scheduling.lock import SchedulerLock, holder_pid
from flowtui.tui.messages import StoreChanged

if TYPE_CHECKING:
    from flowtui.config import Settings
    from flowtui.tui.app import Dashboard

logger = logging.getLogger(__name__)


def run_dashboard(settings: Settings) -> int:
    """Run the dashboard until the user quits; returns the exit code."""
    from flowtui.tui.app import Dashboard

    settings.ensure_home()
    log_to_file(settings)
    lock = SchedulerLock(settings.lock_path)
    try:
        lock.acquire()
    except SchedulerAlreadyRunning:
        pid = holder_pid(settings.lock_path)
        client = connect(settings, default_actor("dashboard"))
        app = Dashboard(settings, client, mode=f"attached (pid {pid})")
        return app.run() or 0
    try:
        return _run_embedded(settings)
    finally:
        lock.release()


def post_store_changed(app: Dashboard) -> None:
    """Tell the dashboard the store changed (called on the scheduler's thread)."""
    app.post_message(StoreChanged())


def _run_embedded(settings: Settings) -> int:
    from flowtui.commands.transport import CommandServer
    from flowtui.scheduling.service import Scheduler
    from flowtui.tui.app import Dashboard

    scheduler = Scheduler(settings)
    scheduler.start_executor()  # forks the fork server now, while this process has one thread
    client = connect(settings, default_actor("dashboard"), scheduler=scheduler)
    app = Dashboard(settings, client, mode="embedded", running_attempts=scheduler.running_attempts)
    scheduler.add_listener(lambda _changes: post_store_changed(app))
    server = CommandServer(settings, scheduler)
    ready = threading.Event()
    serving = threading.Event()

    def serve() -> None:
        try:
            scheduler.start()
            server.start()
            serving.set()
        except Exception as exc:
            logger.exception("the embedded scheduler could not start")
            app.call_from_thread(
                app.notify, f"the scheduler could not start: {exc}", severity="error", timeout=30
            )
            return
        finally:
            ready.set()
        scheduler.serve()

    thread = threading.Thread(target=serve, name="flowtui-scheduler", daemon=True)
    thread.start()
    try:
        return app.run() or 0
    finally:
        ready.wait(timeout=60)
        scheduler.request_stop()
        thread.join(timeout=settings.task_kill_grace_seconds + 10)
        if serving.is_set():
            server.stop()
