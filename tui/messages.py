"""App-wide messages: the store changed (a nudge from the embedded scheduler), fresh data was
read for a screen (from the live thread), a command failed (from a command worker)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class StoreChanged(Message):
    """The embedded scheduler committed state changes; a burst costs one re-read."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreChanged)


class StateLoaded(Message):
    """Data read off the UI thread for `target` (a screen), plus the header's counts."""

    def __init__(self, target: object, data: Any, counts: dict[str, int]) -> None:
        super().__init__()
        self.target, self.data, self.counts = target, data, counts


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
