"""Task attempt log files: where each one lives, the scheduler's own lines appended to them, and
reading or following one from the CLI."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowtui.config import Settings


def attempt_log_path(
    logs_dir: Path, dag_id: str, run_id: str, task_id: str, try_number: int
) -> Path:
    """`logs/<dag_id>/<run_id>/<task_id>/attempt=<n>.log` under the home (DESIGN.md)."""
    return logs_dir / dag_id / run_id / task_id / f"attempt={try_number}.log"


def append_line(path: str | Path, text: str) -> None:
    """Append one `[flowtui]` line to a log, e.g. why the scheduler killed the attempt."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return  # the log folder is gone (deleted by hand); the store still has the cause
    try:
        os.write(fd, f"[flowtui] {time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n".encode())
    finally:
        os.close(fd)


def log_to_file(settings: Settings) -> None:
    """Send flowtui's own log (not the tasks') to `<home>/logs/scheduler.log`."""
    import logging

    settings.ensure_home()
    handler = logging.FileHandler(settings.logs_dir / "scheduler.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("flowtui")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def follow(path: Path, is_finished: Callable[[], bool], poll: float = 0.1) -> Iterator[str]:
    """Yield the log's text as it grows, like `tail -f`, until `is_finished()` and the file
    has nothing more to give."""
    while not path.exists():
        if is_finished():
            return
        time.sleep(poll)
    with path.open("r", errors="replace") as file:
        while True:
            chunk = file.read()
            if chunk:
                yield chunk
                continue
            if is_finished():
                rest = file.read()
                if rest:
                    yield rest
                return
            time.sleep(poll)
