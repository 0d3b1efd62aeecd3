"""How a command reaches whoever applies it: the scheduler in this process, a scheduler in
another process (over its socket), or, with no scheduler running, the store directly under the
scheduler lock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowtui.clock import utcnow
from flowtui.commands.model import Command, CommandClient
from flowtui.commands.transport import CommandTarget, SocketClient
from flowtui.config import Settings
from flowtui.errors import FlowtuiError
from flowtui.scheduling.apply import apply
from flowtui.scheduling.lock import SchedulerLock, holder_pid
from flowtui.scheduling.plain_effects import carry_out
from flowtui.scheduling.run_book import RunBook
from flowtui.store import Store


def connect(settings: Settings, actor: str) -> CommandClient:
    """The client for commands on `settings.home`: a running scheduler's socket, else the
    store directly."""
    if holder_pid(settings.lock_path) is not None:
        return SocketClient(settings, actor)
    return Offline(settings, actor)


@dataclass
class InProcess:
    """Commands for the scheduler that runs in this process (the dashboard's embedded one)."""

    target: CommandTarget
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        return self.target.call(command, self.actor)


@dataclass
class Offline:
    """No scheduler runs: apply under the scheduler lock so that none starts meanwhile. What a
    command asks of running attempts (stopping them) is moot then; its log lines and a
    secret-marker refresh are carried out here."""

    settings: Settings
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        lock = SchedulerLock(self.settings.lock_path)
        try:
            lock.acquire()
        except FlowtuiError:  # one started meanwhile
            return SocketClient(self.settings, self.actor).send(command)
        try:
            self.settings.ensure_home()
            store = Store(self.settings.db_path)
            book = RunBook(utcnow, actor=self.actor)
            try:
                with store.transaction() as conn:
                    result = apply(book, conn, command, self.actor)
            finally:
                store.close()
        finally:
            lock.release()
        for effect in book.effects:
            carry_out(effect, self.settings.db_path)  # stopping attempts is moot: none run
        return result
