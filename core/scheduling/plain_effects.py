"""The effects that need no scheduler, carried out the same way by the scheduler service and
by a command applied with no scheduler running (`clients.Offline`), and stopping an attempt
no executor of this process watches. Apart from `effects` so that the run book, which makes
effects, does not import the store's variables."""

from __future__ import annotations

import signal
from pathlib import Path

from flowtui.clock import parse_datetime
from flowtui.execution.logs import append_line
from flowtui.execution.process_groups import stop_if_same
from flowtui.scheduling.effects import Effect, KillAttempt, LogLine, RefreshSecretMarker
from flowtui.store.variables import refresh_marker


def carry_out(effect: Effect, db_path: Path) -> bool:
    """Carry out an effect that needs no scheduler: a line in an attempt's log, a refresh of
    the secret-variables marker of the store at `db_path`. False for any other effect, which
    is left to the caller."""
    match effect:
        case LogLine(path, text):
            append_line(path, text)
        case RefreshSecretMarker():
            refresh_marker(db_path)
        case _:
            return False
    return True


def stop_unwatched(effect: KillAttempt) -> None:
    """SIGTERM to an attempt that runs in another process's care or in nobody's (a `dags
    test` process's, or one whose scheduler died: it runs on until a scheduler adopts it),
    unless its PID now names a later process. What its exit means is recorded by whoever
    watches it, or by the scheduler that adopts it."""
    if effect.pid is None:
        return
    started = parse_datetime(effect.started).timestamp() if effect.started else None
    if stop_if_same(effect.pid, started, signal.SIGTERM) and effect.log_path:
        append_line(effect.log_path, f"stopping the attempt: {effect.cause}; sending SIGTERM")
