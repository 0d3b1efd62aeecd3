"""What the terminal gets when a task fails while the dashboard is open: the bell, and a
desktop notification as two escapes many terminals show even from another window or over
SSH (OSC 9, as iTerm2 and Windows Terminal read it, and OSC 777 `notify`, as VTE-based
terminals and rxvt do); inside tmux only the bell gets through (the escapes are not wrapped
for tmux's passthrough)."""

from __future__ import annotations

from typing import Any

from flowtui.states import instance_name

BEL = "\a"
TITLE = "flowtui"
MAX_BODY = 200
"""Characters of the notification's text, at most."""


def failure_alert(failure: dict[str, Any]) -> str:
    """The bytes (as text) announcing one failed attempt: a `reads.task_failures_since` row."""
    what = "failed" if failure["new_state"] == "failed" else "failed, will retry"
    name = instance_name(failure["task_id"], failure.get("map_index", -1))
    body = f"{failure['dag_id']}.{name} {what} ({failure['run_id']})"
    if failure.get("detail"):
        body += f": {failure['detail']}"
    body = _printable(body)[:MAX_BODY]
    return f"{BEL}\x1b]9;{TITLE}: {body}{BEL}\x1b]777;notify;{TITLE};{body}{BEL}"


def _printable(text: str) -> str:
    """One line without control characters: an escape or BEL inside would end the sequence
    early (and let a task's error message write to the terminal)."""
    return "".join(c if c.isprintable() else " " for c in " ".join(text.split()))
