"""A scheduler as a home runs it: the lock that makes it the home's only one, a local fork
server, the scheduler, and the command server other processes send commands to.
`flowtui scheduler` runs one in the foreground; the dashboard runs one on a thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flowtui.commands.model import CommandClient
from flowtui.commands.transport import CommandServer
from flowtui.config import Settings
from flowtui.execution.local.executor import LocalExecutor
from flowtui.execution.logs import private_log
from flowtui.scheduling.changes import Listener
from flowtui.scheduling.clients import InProcess
from flowtui.scheduling.lock import SchedulerLock
from flowtui.scheduling.service import Scheduler

logger = logging.getLogger(__name__)


class SchedulerHost:
    """One home's scheduler with its executor, lock and command server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = SchedulerLock(settings.lock_path)
        self.executor = LocalExecutor(settings)
        self.scheduler = Scheduler(settings, self.executor, self.executor)
        self._server: CommandServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def acquire(self) -> None:
        """Take the home's scheduler lock.

        Raises:
            SchedulerAlreadyRunning: another process holds it.
        """
        self.settings.ensure_home()
        self.lock.acquire()

    def start_executor(self) -> None:
        """Start the fork server now, while this process has one thread (it forks)."""
        self.executor.start()

    def start(self) -> None:
        """Load the DAG folder, take over the home's runs, then answer commands."""
        self.scheduler.start()
        self._server = CommandServer(self.settings, self.scheduler)
        self._server.start()

    def serve(self) -> None:
        """Run until `request_stop`; then stop the attempts, the server and the lock."""
        try:
            self.scheduler.serve()
        finally:
            self._close()

    def serve_in_thread(self, on_failure: Callable[[Exception], None]) -> None:
        """`start` and `serve` on a thread of their own; `on_failure` hears why it could not
        start (called on that thread)."""

        def run() -> None:
            try:
                self.start()
            except Exception as exc:
                logger.exception("the embedded scheduler could not start")
                self.abort()
                on_failure(exc)
                return
            finally:
                self._ready.set()
            self.serve()

        self._thread = threading.Thread(target=run, name="flowtui-scheduler", daemon=True)
        self._thread.start()

    def stop_thread(self) -> None:
        """Stop the scheduler that `serve_in_thread` runs and wait for it."""
        self._ready.wait(timeout=60)
        self.scheduler.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.task_kill_grace_seconds + 10)

    def request_stop(self) -> None:
        self.scheduler.request_stop()

    def abort(self) -> None:
        """Undo a `start` that failed: stop the fork server, release the lock."""
        self.executor.stop()
        self._close()

    def client(self, actor: str) -> CommandClient:
        """Commands to this scheduler, from this process."""
        return InProcess(self.scheduler, actor)

    def add_listener(self, listener: Listener) -> None:
        self.scheduler.add_listener(listener)

    def running_attempts(self) -> int:
        return self.scheduler.running_attempts()

    def _close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.lock.release()


def log_to_file(settings: Settings) -> None:
    """Send flowtui's own log (not the tasks') to `<home>/logs/scheduler.log`."""
    settings.ensure_home()
    handler = logging.FileHandler(private_log(settings.logs_dir / "scheduler.log"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("flowtui")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
