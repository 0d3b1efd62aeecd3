"""The home's scheduler as a process of its own, for `flowtui scheduler --detach|stop|status` and
the dashboard: started as `flowtui scheduler` in a session of its own (no terminal, so a hang-up
never reaches it) with its output appended to `<home>/logs/scheduler.log`, asked what it does
over its socket, stopped with SIGTERM as systemd stops it. The dashboard never runs a scheduler
in its own process: a process with threads cannot hand its terminal back and go on headless
(forking it is unsafe), so a separate process is what lets a hang-up kill only the dashboard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from flowtui.commands.model import Command, CommandClient, SchedulerState, SchedulerStatus
from flowtui.commands.transport import SocketClient
from flowtui.config import Settings
from flowtui.errors import CommandRejected, FlowtuiError, SchedulerAlreadyRunning
from flowtui.scheduling.lock import holder_pid

READY_TIMEOUT = 120.0
"""Seconds a new scheduler may take to load the DAG folder and take over the home's runs."""
_POLL = 0.05
_TAIL_LINES = 3
_ERROR = "flowtui: error: "


class NoScheduler(CommandRejected):
    def __init__(self, home: Path) -> None:
        super().__init__(
            f"no scheduler runs on {home}; start one with `flowtui scheduler --detach` "
            f"(S in the dashboard)"
        )


class SchedulerDidNotStart(FlowtuiError):
    def __init__(self, log: Path, why: str) -> None:
        super().__init__(f"the scheduler did not start: {why} (all of it in {log})")


class SchedulerDidNotStop(FlowtuiError):
    def __init__(self, pid: int, seconds: float) -> None:
        super().__init__(
            f"the scheduler (pid {pid}) did not exit within {seconds:.0f} s of SIGTERM; "
            f"see its log, or end it with `kill -KILL {pid}`"
        )


class BackgroundScheduler:
    """The scheduler serving one home, whoever started it; `start` starts one from here."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._child: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        """The size of the scheduler's log when `_child` was started: its own lines follow."""
        self._stopping: int | None = None
        """The PID this object sent SIGTERM to."""

    @property
    def log_path(self) -> Path:
        return self.settings.logs_dir / "scheduler.log"

    @property
    def started_here(self) -> bool:
        """The scheduler this object started still runs (reaped here once it exited)."""
        return self._child is not None and self._child.poll() is None

    def probe(self) -> SchedulerStatus | SchedulerState:
        """What the home's scheduler says about itself, or why it says nothing."""
        holder = holder_pid(self.settings.lock_path)
        if holder is None:
            return SchedulerState.STARTING if self.started_here else SchedulerState.NOT_RUNNING
        if holder == self._stopping:
            return SchedulerState.STOPPING
        status = self._status()
        return SchedulerState.STARTING if status is None else status

    def start(self) -> int:
        """Start `flowtui scheduler` in the background; return its PID once it answers.

        Raises:
            SchedulerAlreadyRunning: one runs (or won a race to start).
            SchedulerDidNotStart: it exited, with the last lines of its log; or it did not
                answer within `READY_TIMEOUT`.
        """
        child = self._child if self.started_here else self.spawn()
        assert child is not None  # spawned here, and still running
        offset = self._log_offset
        deadline = time.monotonic() + READY_TIMEOUT
        while child.poll() is None:
            status = self._status()
            if status is not None and status.pid == child.pid:
                return child.pid
            if time.monotonic() > deadline:
                raise SchedulerDidNotStart(
                    self.log_path, f"pid {child.pid} does not answer after {READY_TIMEOUT:.0f} s"
                )
            time.sleep(_POLL)
        holder = holder_pid(self.settings.lock_path)
        if holder is not None:
            raise SchedulerAlreadyRunning(self.settings.home, holder)
        raise SchedulerDidNotStart(self.log_path, self._log_tail(offset))

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start `flowtui scheduler` in the background without waiting for it to answer
        (`start` waits): `flowtui` does so before it loads the dashboard, so that the two start
        up side by side.

        Raises:
            SchedulerAlreadyRunning: one runs.
        """
        holder = holder_pid(self.settings.lock_path)
        if holder is not None:
            raise SchedulerAlreadyRunning(self.settings.home, holder)
        self.settings.ensure_home()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._child = self._spawn()
        return self._child

    def ensure_running(self) -> None:
        """Start a scheduler unless one runs; a dashboard starting at the same moment as
        another may lose the race, and then the winner serves both."""
        if holder_pid(self.settings.lock_path) is not None and not self.started_here:
            return
        try:
            self.start()
        except SchedulerAlreadyRunning:
            return

    def stop(self) -> int:
        """SIGTERM the home's scheduler (it stops its attempts, each recorded failed or
        up_for_retry) and wait until it exited; its PID.

        Raises:
            NoScheduler: none runs.
            CommandRejected: one holds the lock but does not answer (still starting).
            SchedulerDidNotStop: it did not exit in time.
        """
        status = self._status()
        if status is not None:
            pid = status.pid
        elif self._child is not None and self.started_here:
            pid = self._child.pid  # still starting: it has not answered yet
        elif (holder := holder_pid(self.settings.lock_path)) is None:
            raise NoScheduler(self.settings.home)
        else:
            raise CommandRejected(
                f"the scheduler on {self.settings.home} (pid {holder}) does not answer yet; "
                f"it may be starting up, try again in a moment"
            )
        self._stopping = pid
        self._terminate(pid)
        return pid

    def client(self, actor: str) -> CommandClient:
        """Commands for the home's scheduler, never applied to the store directly: the
        dashboard's, which says when no scheduler runs instead of acting offline."""
        return _ToScheduler(self.settings, actor)

    def _spawn(self) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "flowtui", "scheduler", "--home", str(self.settings.home)]
        if self.settings.dags_folder_source == "--dags-folder":
            argv += ["--dags-folder", str(self.settings.dags_folder)]
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            os.close(log)

    def _status(self) -> SchedulerStatus | None:
        try:
            return SocketClient(self.settings, "").status()
        except CommandRejected:
            return None

    def _terminate(self, pid: int) -> None:
        try:
            process = psutil.Process(pid)
            process.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            return
        grace = self.settings.task_kill_grace_seconds
        seconds = 2 * grace + 30  # stopping attempts: SIGTERM, grace, SIGKILL, their exits
        deadline = time.monotonic() + seconds
        while _is_alive(process):
            if time.monotonic() > deadline:
                raise SchedulerDidNotStop(pid, seconds)
            if self._child is not None and self._child.pid == pid:
                self._child.poll()  # reap our own child: a zombie counts as gone anyway
            time.sleep(_POLL)

    def _log_tail(self, offset: int) -> str:
        """The last lines the scheduler wrote to its log, on one line."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"its log cannot be read ({exc.strerror})"
        lines = [line.strip().removeprefix(_ERROR) for line in text.splitlines() if line.strip()]
        return " / ".join(lines[-_TAIL_LINES:]) or "it exited without a word"


def _is_alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class _ToScheduler:
    settings: Settings
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        try:
            return SocketClient(self.settings, self.actor).send(command)
        except CommandRejected:
            if holder_pid(self.settings.lock_path) is None:
                raise NoScheduler(self.settings.home) from None
            raise
