"""Reading a log on a worker thread, on real files: its tail, the lines beside a window, and
what a growing file added since the last poll (or that it was cut, or grew too much)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui.tui.widgets.log_file import (
    MAX_POLL,
    WINDOW,
    read_beside,
    read_growth,
    read_tail,
)


def _write(path: Path, count: int) -> bytes:
    data = "".join(f"line {i:07d}\n" for i in range(count)).encode()  # 13 bytes a line
    path.write_bytes(data)
    return data


def test_read_tail_starts_at_a_whole_line_near_the_end(tmp_path: Path) -> None:
    path = tmp_path / "attempt=1.log"
    data = _write(path, 2 * WINDOW // 13)
    chunk = read_tail(path)
    assert chunk.lines[-1] == f"line {2 * WINDOW // 13 - 1:07d}"
    assert len(data) - WINDOW <= chunk.start < len(data) - WINDOW + 13
    assert chunk.eof
    assert read_tail(tmp_path / "missing.log").lines == []


def test_read_beside_reads_up_to_and_from_an_edge(tmp_path: Path) -> None:
    path = tmp_path / "attempt=1.log"
    _write(path, 100)
    above = read_beside(path, 13 * 50, before=True)
    assert above.lines[-1] == "line 0000049"
    assert above.end == 13 * 50
    below = read_beside(path, 13 * 50, before=False)
    assert below.lines[0] == "line 0000050"
    assert below.start == 13 * 50


@pytest.mark.parametrize(
    ("added", "eof", "reads"),
    [
        (b"new line\n", True, ["new line"]),
        (b"", True, None),  # the same size: nothing to read
        (b"new line\n", False, None),  # the window stops before the end: scrolling reads it
        (b"x" * (MAX_POLL + 1), True, None),  # a burst: re-read from the tail instead
    ],
)
def test_read_growth(tmp_path: Path, added: bytes, eof: bool, reads: list[str] | None) -> None:
    path = tmp_path / "attempt=1.log"
    known = len(_write(path, 10))
    with path.open("ab") as file:
        file.write(added)
    size, chunk = read_growth(path, known, known, eof=eof)
    assert size == known + len(added)
    assert (chunk.lines if chunk else None) == reads


def test_read_growth_sees_a_file_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "attempt=1.log"
    known = len(_write(path, 10))
    path.write_bytes(b"again\n")
    assert read_growth(path, known, known, eof=True) == (6, None)
