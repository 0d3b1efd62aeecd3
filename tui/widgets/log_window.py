"""`LineWindow`: the part of one log file that `LogView` holds in memory — whole lines with
the byte offset each starts at, grown at either edge by chunks and trimmed to `MAX_WINDOW`
bytes. Plain data on the UI thread; reading the chunks is `log_file`'s, scrolling the view's."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from flowtui.tui.widgets.log_file import MAX_WINDOW, Chunk


class LineWindow:
    """Lines `lines[i]` starting at byte `offsets[i]`, from the first line's offset to `end`."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.offsets: list[int] = []
        self.end = 0
        """The byte after the last whole line: where a read further down starts."""
        self.eof = True
        """The window reaches the end of the file as it was when last read."""
        self.has_partial = False
        """The last line has no newline yet; the next chunk below holds it again, whole."""
        self.width = 0
        """The widest line, in cells."""
        self.file_size = 0
        """The file's size at the last read or poll."""

    @property
    def bounds(self) -> tuple[int, int]:
        """Bytes [start, end) of the file that are in memory."""
        start = self.offsets[0] if self.offsets else self.end
        return start, self.file_size if self.eof else self.end

    def line_of(self, offset: int) -> int:
        """The index of the line holding byte `offset` (the first line for one above it)."""
        return max(0, bisect_right(self.offsets, offset) - 1)

    def replace(self, chunk: Chunk) -> None:
        """Hold `chunk` instead of what was held; its size is the file's now (a truncated file
        shrinks)."""
        self.lines, self.offsets = list(chunk.lines), list(chunk.offsets)
        self.end, self.eof, self.has_partial = chunk.end, chunk.eof, chunk.has_partial
        self.width, self.file_size = chunk.width, chunk.size

    def file_changed(self, size: int) -> None:
        """A poll found the file at `size` and read none of it: the window no longer reaches
        the end (scrolling down reads the rest)."""
        self.eof, self.file_size = False, size

    def prepend(self, chunk: Chunk) -> None:
        """Add `chunk`, which ends where the window starts; past `MAX_WINDOW` bytes, drop the
        bottom (it is read again when needed)."""
        self.lines[:0], self.offsets[:0] = chunk.lines, chunk.offsets
        self.width = max(self.width, chunk.width)
        keep = bisect_left(self.offsets, self.offsets[0] + MAX_WINDOW)
        if keep < len(self.lines):
            self.end, self.eof, self.has_partial = self.offsets[keep], False, False
            del self.lines[keep:], self.offsets[keep:]

    def append(self, chunk: Chunk) -> int:
        """Add `chunk`, which starts at `end`; past `MAX_WINDOW` bytes, drop the top.

        Returns:
            How many lines were dropped from the top.
        """
        if self.has_partial:  # read again in full by this chunk
            self.lines.pop()
            self.offsets.pop()
        self.lines += chunk.lines
        self.offsets += chunk.offsets
        self.end, self.eof, self.has_partial = chunk.end, chunk.eof, chunk.has_partial
        self.width, self.file_size = max(self.width, chunk.width), chunk.size
        drop = bisect_left(self.offsets, self.end - MAX_WINDOW)
        if not drop or drop >= len(self.lines):
            return 0
        del self.lines[:drop], self.offsets[:drop]
        return drop
