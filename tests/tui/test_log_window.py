"""The lines a log view holds: chunks added at either edge, a partial last line read again
whole, and the far side dropped past `MAX_WINDOW` bytes, with the byte bounds kept right."""

from __future__ import annotations

from flowtui.tui.widgets.log_file import MAX_WINDOW, Chunk
from flowtui.tui.widgets.log_window import LineWindow


def _chunk(start: int, lines: list[str], **extra: bool) -> Chunk:
    """Whole lines from byte `start`, each followed by a newline; `size` is where they end."""
    offsets, position = [], start
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    width = max((len(line) for line in lines), default=0)
    return Chunk(start, position, lines, offsets, size=position, width=width, **extra)


def test_replace_holds_the_chunk_and_its_bounds() -> None:
    window = LineWindow()
    assert window.bounds == (0, 0)
    window.replace(_chunk(10, ["one", "three"]))
    assert (window.lines, window.offsets, window.bounds) == (["one", "three"], [10, 14], (10, 20))
    assert window.line_of(15) == 1
    assert window.line_of(3) == 0  # above the window: its first line
    assert window.width == 5


def test_append_reads_a_partial_last_line_again() -> None:
    window = LineWindow()
    partial = _chunk(0, ["done", "half"])
    window.replace(Chunk(0, 5, partial.lines, partial.offsets, has_partial=True, size=9))
    dropped = window.append(_chunk(5, ["half and the rest", "next"]))
    assert dropped == 0
    assert window.lines == ["done", "half and the rest", "next"]
    assert window.offsets == [0, 5, 23]
    assert not window.has_partial
    assert window.bounds == (0, 28)


def test_append_drops_the_top_past_max_window() -> None:
    line = "x" * 1023  # 1 KiB with its newline
    count = MAX_WINDOW // 1024
    window = LineWindow()
    window.replace(_chunk(0, [line] * count))
    dropped = window.append(_chunk(count * 1024, [line] * 3))
    assert dropped == 3
    start, end = window.bounds
    assert (start, end) == (3 * 1024, (count + 3) * 1024)
    assert end - start == MAX_WINDOW
    assert len(window.lines) == count


def test_prepend_drops_the_bottom_past_max_window_and_forgets_the_end() -> None:
    line = "y" * 1023
    count = MAX_WINDOW // 1024
    window = LineWindow()
    window.replace(_chunk(2 * 1024, [line] * count))
    assert window.bounds == (2 * 1024, 2 * 1024 + MAX_WINDOW)
    window.prepend(_chunk(0, ["first" + "y" * 1018, line]))
    assert window.lines[0].startswith("first")
    assert window.bounds == (0, MAX_WINDOW)  # the last two lines are read again when needed
    assert not window.eof
    assert window.end == MAX_WINDOW


def test_replace_keeps_a_truncated_files_smaller_size() -> None:
    window = LineWindow()
    window.replace(_chunk(0, ["a long first line", "and a second"]))
    assert window.file_size == 31
    window.replace(_chunk(0, ["short"]))  # the file was cut and read again from its tail
    assert (window.file_size, window.bounds) == (6, (0, 6))
    window.append(_chunk(6, []))  # a poll read nothing new: the size stays the file's
    assert (window.file_size, window.bounds) == (6, (0, 6))
    window.file_changed(40)  # a poll found more than it read: the window no longer ends it
    assert (window.eof, window.file_size, window.bounds) == (False, 40, (0, 6))
