"""App-wide messages. Up from the screens: run a command (`CommandRequested`), read the store
again (`RefreshRequested`). Into the App from its threads: fresh data was read for a screen
(the live thread), a command was carried out or refused (a command worker), the home's
scheduler was probed (a probe worker)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from flowtui.commands.model import Command, SchedulerState, SchedulerStatus


class CommandRequested(Message):
    """A screen asks for `command` to be sent; `summary` is the toast once it is done."""

    def __init__(self, command: Command, summary: str) -> None:
        super().__init__()
        self.command, self.summary = command, summary


class RefreshRequested(Message):
    """A screen needs a fresh read (it wants other data); a burst costs one re-read."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RefreshRequested)


class StateLoaded(Message):
    """Data read off the UI thread for `target` (a screen), plus the header's counts."""

    def __init__(self, target: object, data: Any, counts: dict[str, int]) -> None:
        super().__init__()
        self.target, self.data, self.counts = target, data, counts


class TasksFailed(Message):
    """Attempts failed since the live thread last looked (each a dict of
    `reads.task_failures_since`), for the bell and the desktop notification."""

    def __init__(self, failures: list[dict[str, Any]]) -> None:
        super().__init__()
        self.failures = failures


class CommandFailed(Message):
    """A command (trigger, clear, mark, pause) was refused; `error` is one line."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class CommandDone(Message):
    """A command was carried out; `summary` says what happened, for a toast."""

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary


class SchedulerSeen(Message):
    """What the home's scheduler said when probed, or why it said nothing."""

    def __init__(self, seen: SchedulerStatus | SchedulerState) -> None:
        super().__init__()
        self.seen = seen

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SchedulerSeen)
