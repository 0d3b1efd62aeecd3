"""A scheduler as a home runs it: the lock that makes it the home's only one, a local fork
server (which runs the attempts too unless `executor = "dask"` sends them to a cluster: then
only those of tasks with `executor="local"`), the scheduler, and the command server other
processes send commands (and the status query) to. `flowtui scheduler` runs one in the
foreground; `scheduling/background` starts that command as a process of its own for the
dashboard and `flowtui scheduler --detach`."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from flowtui.clock import to_text, utcnow
from flowtui.commands.model import SchedulerStatus
from flowtui.commands.transport import CommandServer
from flowtui.config import Settings
from flowtui.execution.base import Executor
from flowtui.execution.local.executor import LocalExecutor
from flowtui.execution.logs import private_log
from flowtui.execution.routing import RoutingExecutor
from flowtui.scheduling.activity_log import log_changes
from flowtui.scheduling.lock import SchedulerLock
from flowtui.scheduling.log_retention import LogRetention
from flowtui.scheduling.service import Scheduler

if TYPE_CHECKING:
    from flowtui.execution.dask.executor import DaskExecutor

logger = logging.getLogger(__name__)


class SchedulerHost:
    """One home's scheduler with its executor, lock and command server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = SchedulerLock(settings.lock_path)
        self.executor = LocalExecutor(settings)
        """The fork server: it parses DAG files and runs callbacks, and runs the attempts
        unless `attempts` routes them to a Dask executor (all but `executor="local"` tasks')."""
        self.attempts: Executor = self.executor
        self._dask: DaskExecutor | None = None
        if settings.executor == "dask":
            from flowtui.execution.dask.executor import DaskExecutor  # only with the extra

            self._dask = DaskExecutor(settings)
            # a task with executor="local" stays in the fork server
            self.attempts = RoutingExecutor(self._dask, {"local": self.executor})
        self.scheduler = Scheduler(settings, self.attempts, self.executor)
        self.scheduler.add_listener(log_changes)
        self._server: CommandServer | None = None
        self._retention: LogRetention | None = None
        self._started_at = to_text(utcnow())

    def acquire(self) -> None:
        """Take the home's scheduler lock.

        Raises:
            SchedulerAlreadyRunning: another process holds it.
        """
        self.settings.ensure_home()
        self.lock.acquire()

    def start(self) -> None:
        """Load the DAG folder, take over the home's runs, then answer commands."""
        if self.attempts is not self.executor:
            self.executor.start()  # first: it forks while this process has one thread
        self.scheduler.start()
        self._server = CommandServer(self.settings, self.scheduler, self.status)
        self._server.start()
        if self.settings.log_retention_days is not None:
            self._retention = LogRetention(self.settings, self.settings.log_retention_days)
            self._retention.start()

    def serve(self) -> str | None:
        """Run until `request_stop`; then stop the attempts, the server and the lock. Returns
        why the scheduler stopped by itself (its process then exits non-zero), or None."""
        try:
            self.scheduler.serve()
        finally:
            self._close()
        return self.scheduler.failure

    def request_stop(self) -> None:
        self.scheduler.request_stop()

    def abort(self) -> None:
        """Undo a `start` that failed: stop the executor, release the lock."""
        self.attempts.stop()
        self._close()

    def status(self) -> SchedulerStatus:
        """What `flowtui scheduler status` shows (called on the command server's threads)."""
        status = SchedulerStatus(
            pid=os.getpid(),
            started_at=self._started_at,
            running_attempts=self.scheduler.running_attempts(),
            home=str(self.settings.home),
            dags_folder=str(self.settings.dags_folder),
        )
        if self._dask is None:
            return status
        status = status._replace(executor="dask", dask_address=self.settings.dask.address or None)
        try:
            info = self._dask.cluster_info()
        except Exception as exc:  # the cluster does not answer: say so, not fail the status
            logger.warning("the Dask cluster did not say how many workers it has: %s", exc)
            return status
        if info is None:
            return status
        return status._replace(
            dask_address=info.address, dask_workers=info.workers, dask_problem=info.problem
        )

    def _close(self) -> None:
        if self.attempts is not self.executor:  # the scheduler stopped the one it runs on
            self.executor.stop()
        if self._retention is not None:
            self._retention.stop()
            self._retention = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.lock.release()


def log_to_file(settings: Settings, *, to_stderr: bool = False) -> None:
    """Send flowtui's own log (not the tasks') to `<home>/logs/scheduler.log`, and with
    `to_stderr` (`flowtui scheduler -v`) to stderr as well."""
    settings.ensure_home()
    handlers: list[logging.Handler] = [
        logging.FileHandler(private_log(settings.logs_dir / "scheduler.log"))
    ]
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger("flowtui")
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO)
