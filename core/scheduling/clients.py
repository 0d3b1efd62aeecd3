"""How a command reaches whoever applies it: the home's scheduler (over its socket), or, with
no scheduler running, the store directly in the home's offline turn (`lock.offline_turn`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowtui.clock import utcnow
from flowtui.commands.model import Command, CommandClient
from flowtui.commands.transport import SocketClient
from flowtui.config import Settings
from flowtui.scheduling.apply import apply
from flowtui.scheduling.effects import KillAttempt
from flowtui.scheduling.lock import holder_pid, offline_turn
from flowtui.scheduling.plain_effects import carry_out, stop_unwatched
from flowtui.scheduling.run_book import RunBook
from flowtui.store import Store


def connect(settings: Settings, actor: str) -> CommandClient:
    """The client for commands on `settings.home`: a running scheduler's socket, else the
    store directly."""
    if holder_pid(settings.lock_path) is not None:
        return SocketClient(settings, actor)
    return Offline(settings, actor)


@dataclass
class Offline:
    """No scheduler runs: apply in the home's offline turn, so that none starts meanwhile and
    concurrent commands apply one after another. Attempts may still run (their scheduler
    died; they outlive it): one the command stops gets SIGTERM here, and the scheduler that
    adopts it records its end (and kills it if it ignored the SIGTERM). Log lines and a
    secret-marker refresh are carried out here too."""

    settings: Settings
    actor: str

    def send(self, command: Command) -> dict[str, Any]:
        self.settings.ensure_home()
        book = RunBook(utcnow, actor=self.actor)
        with offline_turn(self.settings.lock_path) as no_scheduler:
            result = self._apply(book, command) if no_scheduler else None
        if result is None:  # a scheduler started before this command's turn
            return SocketClient(self.settings, self.actor).send(command)
        for effect in book.effects:
            if isinstance(effect, KillAttempt):
                stop_unwatched(effect)
            else:
                carry_out(effect, self.settings.db_path)
        return result

    def _apply(self, book: RunBook, command: Command) -> dict[str, Any]:
        store = Store(self.settings.db_path)
        try:
            with store.transaction() as conn:
                return apply(book, conn, command, self.actor)
        finally:
            store.close()
