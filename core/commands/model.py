"""The commands: value types for everything a user may ask of a home (trigger, clear, mark,
pause, variables), their JSON wire form, and the client protocol a dashboard or the CLI sends
them through. No engine imports: carrying them out is `flowtui.scheduling.apply`'s job."""

from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from flowtui.errors import CommandRejected


@dataclass(frozen=True)
class Trigger:
    """Create a run of a DAG now (it starts when the scheduler has room for it)."""

    dag_id: str
    conf: dict[str, Any] | None = None
    logical_date: str | None = None
    run_id: str | None = None
    run_type: str = "manual"


@dataclass(frozen=True)
class Clear:
    """Reset task instances so that they run again; run_id None means every run."""

    dag_id: str
    run_id: str | None = None
    task_regex: str | None = None
    downstream: bool = False
    upstream: bool = False
    only_failed: bool = False


@dataclass(frozen=True)
class Mark:
    """Set a task instance to success or failed by hand."""

    dag_id: str
    run_id: str
    task_id: str
    state: str


@dataclass(frozen=True)
class SetPaused:
    """Pause (no new runs or tasks start) or unpause a DAG."""

    dag_id: str
    is_paused: bool


Command = Trigger | Clear | Mark | SetPaused
_KINDS: dict[str, type[Command]] = {
    "trigger": Trigger,
    "clear": Clear,
    "mark": Mark,
    "set_paused": SetPaused,
}


def to_wire(command: Command) -> dict[str, Any]:
    name = next(k for k, v in _KINDS.items() if isinstance(command, v))
    return {"command": name, "args": asdict(command)}


def from_wire(data: dict[str, Any]) -> Command:
    kind = _KINDS.get(data.get("command", ""))
    if kind is None:
        raise CommandRejected(f"unknown command {data.get('command')!r}")
    return kind(**data.get("args", {}))


def default_actor(via: str) -> str:
    """Who is acting, for the audit trail: the interface and the OS user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{via}:{user}"


class CommandClient(Protocol):
    """Something that carries a command to whoever applies it and returns its result."""

    def send(self, command: Command) -> dict[str, Any]: ...
