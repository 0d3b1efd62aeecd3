"""Reading a task attempt's log in windows of bytes: whole lines with their offsets around a
point of the file, at its tail, beside a window or added since the last poll, and a chunked
search, so that a log of any size is never read whole. No Textual here: these run on worker
threads."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rich.cells import cell_len

WINDOW = 256 * 1024
"""Bytes read when a log opens or the view jumps (first line, last line, a far match)."""
STEP = 256 * 1024
"""Bytes added when the viewport nears an edge of the window."""
MAX_WINDOW = 4 * 1024 * 1024
"""Bytes kept in memory; past this, the side of the window away from the viewport is dropped."""
MAX_POLL = 1024 * 1024
"""A followed log that grew more than this between two polls is re-read from its tail."""
SEARCH_CHUNK = 4 * 1024 * 1024
POLL_SECONDS = 0.25
EDGE_LINES = 40
"""Lines between the viewport and an edge of the window that make the view read more."""
MAX_LINE = 4000
"""Characters shown of one line (a minified JSON blob is cut, with an ellipsis)."""

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Chunk:
    """Whole lines read from a log file; line i starts at byte `offsets[i]`."""

    start: int
    end: int
    """The byte after the last whole line: where the next read starts."""
    lines: list[str]
    offsets: list[int]
    has_partial: bool = False
    """The last line has no newline yet (the chunk reached the end of a growing file)."""
    eof: bool = True
    """The chunk reached the end of the file as it was when read."""
    size: int = 0
    width: int = 0
    """Widest line, in cells."""


@dataclass(frozen=True)
class AttemptLog:
    """One attempt whose log the pane can show."""

    try_number: int
    path: Path
    state: str
    is_running: bool
    """The file may still grow, so the pane polls it."""


def read_chunk(
    path: Path,
    start: int,
    stop: int | None = None,
    *,
    start_is_line: bool = False,
    stop_is_line: bool = False,
) -> Chunk:
    """Read the whole lines between bytes `start` and `stop` (None: the end of the file).

    A line cut by `start` is skipped unless `start_is_line`; a line cut by `stop` is left for the
    next read unless `stop_is_line`, or the chunk reaches the end of the file (then it is the
    partial last line), or the chunk holds no newline at all (a giant line is cut anywhere).
    """
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            stop = size if stop is None else min(stop, size)
            start = max(0, min(start, stop))
            begin = start - 1 if start > 0 and not start_is_line else start
            file.seek(begin)
            data = file.read(stop - begin)
    except OSError:
        return Chunk(start, start, [], [], eof=True, size=0)
    eof = begin + len(data) >= size
    if begin < start:  # keep the line that starts after the first newline
        skip = data.find(b"\n") + 1 or 1
        data, start = data[skip:], begin + skip
    last = data.rfind(b"\n") + 1
    if eof:
        whole, rest = data[:last], data[last:]
    else:
        whole, rest = (data if stop_is_line or not last else data[:last]), b""
    pieces = whole.split(b"\n") if whole else []
    if whole.endswith(b"\n"):
        pieces.pop()
    offsets, position = [], start
    for piece in pieces:
        offsets.append(position)
        position += len(piece) + 1
    end = start + len(whole)
    if rest:
        pieces.append(rest)
        offsets.append(end)
    lines = [_clean(piece) for piece in pieces]
    width = max((cell_len(line) for line in lines), default=0)
    return Chunk(start, end, lines, offsets, bool(rest), eof, size, width)


def read_tail(path: Path) -> Chunk:
    """The whole lines in the last `WINDOW` bytes of `path` (none if it does not exist)."""
    try:
        start = max(0, path.stat().st_size - WINDOW)
    except OSError:
        start = 0
    return read_chunk(path, start)


def read_beside(path: Path, edge: int, *, before: bool) -> Chunk:
    """`STEP` bytes of whole lines next to byte `edge`, a line start: those ending there
    (`before`) or those starting there."""
    if before:
        return read_chunk(path, max(0, edge - STEP), edge, stop_is_line=True)
    return read_chunk(path, edge, edge + STEP, start_is_line=True)


def read_growth(path: Path, end: int, known: int, *, eof: bool) -> tuple[int, Chunk | None]:
    """The size of `path` now and, when a window that reached the end (`eof`) at size `known`
    can simply grow, the lines from byte `end` on: the file changed size, by at most
    `MAX_POLL` bytes past `end`, and was not cut below `end`."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if eof and size != known and end <= size <= end + MAX_POLL:
        return size, read_chunk(path, end, None, start_is_line=True)
    return size, None


def find_in_file(
    path: Path, needle: bytes, start: int, forward: bool, is_cancelled: Callable[[], bool]
) -> tuple[int | None, bool]:
    """The byte offset of the next match of `needle` (ASCII case-insensitive) at or after
    `start` (forward) or before it, wrapping around the file once; and whether it wrapped."""
    needle = needle.lower()
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            start = min(start, size)
            spans = [(start, size), (0, start)] if forward else [(0, start), (start, size)]
            for wrapped, (low, high) in enumerate(spans):
                found = _scan(file, needle, low, high, forward, is_cancelled)
                if found is not None:
                    return found, bool(wrapped)
    except OSError:
        pass
    return None, False


def _scan(
    file: BinaryIO, needle: bytes, low: int, high: int, forward: bool, stop: Callable[[], bool]
) -> int | None:
    """A match starting in [low, high), read in chunks that overlap by len(needle) - 1."""
    extra = len(needle) - 1
    position = low if forward else high
    while (position < high if forward else position > low) and not stop():
        begin = position if forward else max(low, position - SEARCH_CHUNK)
        finish = min(high, begin + SEARCH_CHUNK) if forward else position
        file.seek(begin)
        data = file.read(finish - begin + extra).lower()
        index = data.find(needle) if forward else data.rfind(needle)
        if index != -1 and begin + index < finish:
            return begin + index
        position = finish if forward else begin
    return None


def _clean(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").rstrip("\r")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if len(text) > MAX_LINE:
        text = text[:MAX_LINE] + "…"
    if "\t" in text:
        text = text.expandtabs()
    return _CONTROL.sub("�", text)
