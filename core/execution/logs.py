"""Task attempt log files: the scheduler's own lines appended to them, and following one as it
grows. Where each one lives is `Settings.attempt_log_path`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path


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
