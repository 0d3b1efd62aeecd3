"""How a command reaches whoever applies it: the scheduler in this process, a scheduler in
another process (over its socket), or, with no scheduler running, the store directly under the
scheduler lock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowtui.clock import utcnow
from flowtui.commands.model import Command, CommandClient
from flowtui.config import Settings
from flowtui.errors import FlowtuiError
from flowtui.scheduling.apply import apply
from flowtui.scheduling.run_book import RunBook


def connect(settings: Settings, actor: str, scheduler: Any = None) -> CommandClient:
    """The client for commands on `settings.home`: the embedded `scheduler` if given, else a
    running scheduler's socket, else the store directly."""
    from flowtui.scheduling.lock import holder_pid

    if scheduler is not None:
        return _InProcess(scheduler, actor)
    if holder_pid(settings.lock_path) is not None:
        from flowtui.commands.transport import SocketClient

        return SocketClient(settings, actor)
    return _Offline(settings, actor)


@dataclass
class _InProcess:
    scheduler: Any
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        result: dict[str, Any] = self.scheduler.call(command, self.actor)
        return result


@dataclass
class _Offline:
    """No scheduler runs: apply under the scheduler lock so that none starts meanwhile."""

    settings: Settings
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        from flowtui.scheduling.lock import SchedulerLock
        from flowtui.store import Store

        lock = SchedulerLock(self.settings.lock_path)
        try:
            lock.acquire()
        except FlowtuiError:
            from flowtui.commands.transport import SocketClient  # one started meanwhile

            return SocketClient(self.settings, self.actor).send(command)
        try:
            store = Store(self.settings.db_path)
            book = RunBook(utcnow, actor=self.actor)
            with store.transaction() as conn:
                result = apply(book, conn, command, self.actor)
            store.close()
            return result
        finally:
            lock.release()
