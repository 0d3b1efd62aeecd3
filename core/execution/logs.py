"""Log files: flowtui's own lines in them (`flowtui_line`, `append_line`), a process's output
sent to one (`send_output_to`), and reading one in bounded pieces as it grows (`follow`). Every
log and log folder flowtui makes is private (0600 and 0700) whatever the umask. Where each
attempt's log lives is `Settings.attempt_log_path`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from flowtui.config import make_private_folder

_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND

CHUNK = 1 << 16
"""How much of a log `follow` reads at a time: a log of any size is printed in bounded memory."""


def flowtui_line(text: str) -> str:
    """`text` as a line of flowtui's own in a log: `[flowtui] <local time> <text>`."""
    return f"[flowtui] {time.strftime('%Y-%m-%d %H:%M:%S')} {text}"


def append_line(path: str | Path, text: str) -> None:
    """Append one `[flowtui]` line to a log, e.g. why the scheduler killed the attempt."""
    try:
        fd = os.open(path, _APPEND, 0o600)
    except OSError:
        return  # the log folder is gone (deleted by hand); the store still has the cause
    try:
        os.write(fd, f"{flowtui_line(text)}\n".encode())
    finally:
        os.close(fd)


def private_log(path: Path) -> Path:
    """`path`, created empty and 0600 if missing, for a writer that opens it without a mode of
    its own (logging's FileHandler)."""
    os.close(os.open(path, _APPEND, 0o600))
    return path


def open_log(log: str | Path) -> int:
    """An fd appending to `log`, created 0600 with its missing folders (each 0700)."""
    try:
        return os.open(log, _APPEND, 0o600)
    except FileNotFoundError:  # an attempt's first log: its folders are made here
        make_private_folder(Path(log).parent)  # each level 0700, not only the last
        return os.open(log, _APPEND, 0o600)


_streams: tuple[TextIO, TextIO] | None = None
"""The sys.stdout and sys.stderr `send_output_to` made last, in this process or the one it was
forked from."""


def send_output_to(log: str) -> None:
    """Read stdin from /dev/null and append stdout and stderr to `log` (its folders made if
    missing), with line-buffered sys.stdout and sys.stderr on them: whatever they were in the
    process this one was forked from (a terminal, pytest's capture), print() now writes to the
    log. The two fds opened to do so stay open; the caller closes what it does not keep."""
    global _streams
    null = os.open(os.devnull, os.O_RDONLY)  # first: fd 0 itself if the parent closed it
    fd = open_log(log)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    if _streams is not None and sys.stdout is _streams[0] and sys.stderr is _streams[1]:
        # Made here before, as the fork server made them for its own log (and flushed them
        # before it forked): they write to fds 1 and 2, now the log. New ones would cost every
        # attempt the pages of their buffers and of the codec's lookup.
        return
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    _streams = (sys.stdout, sys.stderr)


def last_line(path: str | Path, start: int) -> str:
    """The last line written to the log after byte `start`, without its trailing whitespace:
    what Airflow's BashOperator returns (bash's stdout and stderr, as they reach the log); ""
    when nothing was written. Read backwards from the end: a long output costs its last line."""
    with open(path, "rb") as file:
        position = file.seek(0, os.SEEK_END)
        tail = b""
        while position > start:
            step = min(CHUNK, position - start)
            position -= step
            file.seek(position)
            tail = file.read(step) + tail
            body = tail.removesuffix(b"\n")  # the line's own end, not an empty line after it
            if b"\n" in body or position <= start:
                return body.rpartition(b"\n")[2].decode(errors="backslashreplace").rstrip()
    return ""


def follow(path: Path, is_finished: Callable[[], bool], poll: float = 0.1) -> Iterator[bytes]:
    """Yield the log's bytes, at most `CHUNK` at a time, as it grows, like `tail -f`, until
    `is_finished()` and the file has nothing more to give (at once when it is finished
    already: then this reads the file once to its end)."""
    while not path.exists():
        if is_finished():
            return
        time.sleep(poll)
    with path.open("rb") as file:
        while True:
            chunk = file.read(CHUNK)
            if chunk:
                yield chunk
                continue
            if is_finished():
                # Whatever was written before it finished; read in pieces too.
                yield from iter(lambda: file.read(CHUNK), b"")
                return
            time.sleep(poll)
