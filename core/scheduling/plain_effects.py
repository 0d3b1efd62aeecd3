"""The effects that need no scheduler, carried out the same way by the scheduler service and
by a command applied with no scheduler running (`clients.Offline`). Apart from `effects` so
that the run book, which makes effects, does not import the store's variables."""

from __future__ import annotations

from pathlib import Path

from flowtui.execution.logs import append_line
from flowtui.scheduling.effects import Effect, LogLine, RefreshSecretMarker
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
