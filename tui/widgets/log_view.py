"""`LogView`: a scrolling view of a window of one log file's lines, rendering only the visible
ones; it reads more as the viewport nears an edge of the window, follows a running attempt
like `tail -f` and searches the whole file, every read on a thread worker."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.worker import get_current_worker

from flowtui.tui.widgets.log_file import (
    EDGE_LINES,
    MAX_POLL,
    MAX_WINDOW,
    POLL_SECONDS,
    STEP,
    WINDOW,
    Chunk,
    find_in_file,
    read_chunk,
)


class _ReadDone(Message, bubble=False):
    """A thread worker finished a read; `apply` puts it on screen (UI thread)."""

    def __init__(self, apply: Callable[[], None]) -> None:
        super().__init__()
        self.apply = apply


class LogView(ScrollView, can_focus=True):
    """A window of one log file's lines; reads more as the viewport nears an edge of it."""

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g,home", "first_line", "First line", show=False),
        Binding("G,end", "last_line", "Last line", show=False),
    ]

    COMPONENT_CLASSES = {"log-view--match", "log-view--current-match"}

    DEFAULT_CSS = """
    LogView > .log-view--match { background: $warning 35%; }
    LogView > .log-view--current-match { background: $warning; color: $background; }
    """

    follow: reactive[bool] = reactive(True, init=False)
    """New lines scroll into view while the last line is in view (`f` turns it off)."""
    is_live: reactive[bool] = reactive(False, init=False)
    """The attempt still runs: the file is polled every 250 ms."""

    class Changed(Message):
        """What the view shows changed: new lines, another part of the file, a search result."""

        def __init__(self, view: LogView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> LogView:
            return self.view

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.path: Path | None = None
        self.file_size = 0
        """The file's size at the last read or poll."""
        self.search_text = ""
        self.note = ""
        """How the last search went, for the status line."""
        self._lines: list[str] = []
        self._offsets: list[int] = []
        self._end = 0
        self._eof = True
        self._has_partial = False
        self._width = 0
        self._generation = 0
        """Bumped whenever the window is replaced, so that older reads are dropped."""
        self._extending = self._polling = self._grew = False
        self._match: int | None = None
        self._match_line = -1
        """Byte offset of the line holding the current match."""
        self._pattern: re.Pattern[str] | None = None
        self._cache: LRUCache[tuple[int, int, str, bool], Strip] = LRUCache(1024)
        self._timer: Timer | None = None

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.action_last_line()
        self.post_message(self.Changed(self))

    def watch_is_live(self, is_live: bool) -> None:
        self._grew = True  # one more read after the attempt ends catches its last lines
        if self._timer is not None:
            self._timer.resume()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._read_near_edges()

    def on_mount(self) -> None:
        self._timer = self.set_interval(POLL_SECONDS, self._poll, pause=not self.is_live)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    @on(_ReadDone)
    def _read_done(self, message: _ReadDone) -> None:
        message.apply()

    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_first_line(self) -> None:
        if self.window[0] > 0:
            self._read_window(self.path, 0, WINDOW, "top")
        else:
            self.scroll_to(y=0, animate=False, immediate=True, force=True)

    def action_last_line(self) -> None:
        if not self._eof:
            self._read_window(self.path, None, None, "bottom")
        else:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)

    @property
    def window(self) -> tuple[int, int]:
        """Bytes [start, end) of the file that are in memory."""
        start = self._offsets[0] if self._offsets else self._end
        return start, self.file_size if self._eof else self._end

    @property
    def lines(self) -> list[str]:
        """The lines in memory (read only)."""
        return self._lines

    @property
    def visible_lines(self) -> list[str]:
        top = round(self.scroll_y)
        return self._lines[top : top + self.scrollable_content_region.height]

    @property
    def match(self) -> int | None:
        """Byte offset of the current search match."""
        return self._match

    @property
    def is_following(self) -> bool:
        """New lines will scroll into view: follow is on and the last line is in view."""
        return self.follow and self._eof and self.is_vertical_scroll_end

    def open(self, path: Path, *, is_live: bool) -> None:
        """Show the tail of `path` (which may not exist yet)."""
        self.path, self._match, self.note, self.file_size = path, None, "", 0
        self._set_window(Chunk(0, 0, [], []))
        self.is_live = is_live
        self._read_window(path, None, None, "bottom")

    def search(self, text: str, *, forward: bool = True, again: bool = False) -> None:
        """Find `text` (case-insensitive) from the top line in view, or next to the current
        match when `again`, in a thread worker; the match is highlighted and scrolled to."""
        if text != self.search_text:
            self._match, again = None, False
        self.search_text = text
        self._pattern = re.compile(re.escape(text), re.IGNORECASE) if text else None
        self._cache.clear()
        self.refresh()
        if not text or self.path is None:
            return
        if again and self._match is not None:
            start = self._match + 1 if forward else self._match
        else:
            top = min(round(self.scroll_y), len(self._offsets) - 1)
            start = self._offsets[top] if top >= 0 else 0
        self.note = "searching…"
        self.post_message(self.Changed(self))
        self._find(self.path, text.encode(), start, forward, self.window, self._generation)

    def _set_window(self, chunk: Chunk) -> None:
        self._lines, self._offsets = list(chunk.lines), list(chunk.offsets)
        self._end, self._eof, self._has_partial = chunk.end, chunk.eof, chunk.has_partial
        self._width, self.file_size = chunk.width, max(chunk.size, self.file_size)
        self._generation += 1
        self._cache.clear()
        self._resize()

    def _resize(self) -> None:
        self.virtual_size = Size(self._width, len(self._lines))
        self.refresh()

    def _line_of(self, offset: int) -> int:
        return max(0, bisect_right(self._offsets, offset) - 1)

    def _scroll_to_offset(self, offset: int) -> None:
        index = self._line_of(offset)
        height = self.scrollable_content_region.height
        if not round(self.scroll_y) <= index < round(self.scroll_y) + height:
            self.scroll_to(y=max(0, index - height // 3), animate=False, immediate=True, force=True)
        match = self._pattern.search(self._lines[index]) if self._pattern and self._lines else None
        if match is not None:
            column, width = cell_len(self._lines[index][: match.start()]), self.size.width
            if not self.scroll_x <= column < self.scroll_x + width - len(self.search_text):
                self.scroll_to(
                    x=max(0, column - width // 3), animate=False, immediate=True, force=True
                )

    # --- reads (thread workers) and what they hand back ---

    @work(thread=True, exclusive=True, group="log-window")
    def _read_window(
        self, path: Path | None, start: int | None, stop: int | None, anchor: str | int
    ) -> None:
        """Replace the window: the tail (start None), or bytes around `anchor` (an offset)."""
        if path is None:
            return
        if start is None:
            try:
                start = max(0, path.stat().st_size - WINDOW)
            except OSError:
                start = 0
        chunk = read_chunk(path, start, stop)
        if not get_current_worker().is_cancelled:
            self.post_message(_ReadDone(lambda: self._show_window(path, chunk, anchor)))

    def _show_window(self, path: Path, chunk: Chunk, anchor: str | int) -> None:
        if path != self.path:
            return
        self._set_window(chunk)
        if anchor == "bottom":
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
            if not self.size.height:  # not laid out yet: the end is known after the refresh
                self.call_after_refresh(self.action_last_line)
        elif anchor == "top":
            self.scroll_to(y=0, animate=False, immediate=True, force=True)
        elif isinstance(anchor, int):
            self._scroll_to_offset(anchor)
        self.post_message(self.Changed(self))
        self._read_near_edges()

    def _read_near_edges(self) -> None:
        if self.path is None or self._extending:
            return
        top, height = round(self.scroll_y), self.scrollable_content_region.height
        start, _ = self.window
        if top < EDGE_LINES and start > 0:
            self._extending = True
            self._read_more(self.path, self._generation, start, before=True)
        elif top + height > len(self._lines) - EDGE_LINES and not self._eof:
            self._extending = True
            self._read_more(self.path, self._generation, self._end, before=False)

    @work(thread=True, group="log-more")
    def _read_more(self, path: Path, generation: int, edge: int, *, before: bool) -> None:
        if before:
            chunk = read_chunk(path, max(0, edge - STEP), edge, stop_is_line=True)
        else:
            chunk = read_chunk(path, edge, edge + STEP, start_is_line=True)
        self.post_message(_ReadDone(lambda: self._add(chunk, generation, before)))

    def _add(self, chunk: Chunk, generation: int, before: bool) -> None:
        self._extending = False
        if generation != self._generation:
            return
        if before and chunk.end == self.window[0]:
            self._prepend(chunk)
        elif not before and chunk.start == self._end:
            self._append(chunk)
        self.post_message(self.Changed(self))

    def _prepend(self, chunk: Chunk) -> None:
        self._lines[:0], self._offsets[:0] = chunk.lines, chunk.offsets
        self._width = max(self._width, chunk.width)
        keep = bisect_left(self._offsets, self._offsets[0] + MAX_WINDOW)
        if keep < len(self._lines):  # drop the far end; it is read again when needed
            self._end, self._eof, self._has_partial = self._offsets[keep], False, False
            del self._lines[keep:], self._offsets[keep:]
        self._resize()
        self.scroll_to(
            y=self.scroll_y + len(chunk.lines), animate=False, immediate=True, force=True
        )

    def _append(self, chunk: Chunk) -> None:
        stick = self.follow and self.is_vertical_scroll_end
        if self._has_partial:  # read again in full by this chunk
            self._lines.pop()
            self._offsets.pop()
        self._lines += chunk.lines
        self._offsets += chunk.offsets
        self._end, self._eof, self._has_partial = chunk.end, chunk.eof, chunk.has_partial
        self._width, self.file_size = max(self._width, chunk.width), max(chunk.size, self.file_size)
        drop = bisect_left(self._offsets, self._end - MAX_WINDOW)
        if drop and drop < len(self._lines):
            del self._lines[:drop], self._offsets[:drop]
        else:
            drop = 0
        self._resize()
        if stick:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        elif drop:
            self.scroll_to(
                y=max(0, self.scroll_y - drop), animate=False, immediate=True, force=True
            )

    def _poll(self) -> None:
        """Timer: read what a live attempt wrote since the last poll."""
        if self.path is None or self._polling:
            return
        if not self.is_live and not self._grew:
            if self._timer is not None:
                self._timer.pause()
            return
        self._polling = True
        self._read_new(self.path, self._generation, self._end, self._eof, self.file_size)

    @work(thread=True, group="log-poll")
    def _read_new(self, path: Path, generation: int, end: int, eof: bool, known: int) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        chunk = None
        if eof and size != known and end <= size <= end + MAX_POLL:
            chunk = read_chunk(path, end, None, start_is_line=True)
        self.post_message(_ReadDone(lambda: self._polled(generation, size, chunk)))

    def _polled(self, generation: int, size: int, chunk: Chunk | None) -> None:
        self._polling, self._grew = False, size != self.file_size
        if generation != self._generation or not self._grew:
            return
        if chunk is not None and chunk.start == self._end:
            self._append(chunk)
        elif self._eof and (size < self._end or self.is_following):
            self._read_window(self.path, None, None, "bottom")  # truncated, or a burst
        else:
            self._eof, self.file_size = False, size  # scrolling down reads the rest
        self.post_message(self.Changed(self))

    @work(thread=True, exclusive=True, group="log-search")
    def _find(
        self,
        path: Path,
        needle: bytes,
        start: int,
        forward: bool,
        window: tuple[int, int],
        generation: int,
    ) -> None:
        worker = get_current_worker()
        found, wrapped = find_in_file(path, needle, start, forward, lambda: worker.is_cancelled)
        chunk = None
        if found is not None and not window[0] <= found < window[1]:
            chunk = read_chunk(path, max(0, found - WINDOW // 2), found + WINDOW // 2)
        if not worker.is_cancelled:
            self.post_message(
                _ReadDone(lambda: self._found(path, found, wrapped, chunk, generation))
            )

    def _found(
        self, path: Path, found: int | None, wrapped: bool, chunk: Chunk | None, generation: int
    ) -> None:
        if path != self.path:
            return
        self._match = found
        self.note = "no match" if found is None else ("wrapped" if wrapped else "")
        if found is not None:
            if chunk is not None:
                self._show_window(path, chunk, found)
            elif generation != self._generation:
                self._read_window(path, max(0, found - WINDOW // 2), found + WINDOW // 2, found)
            else:
                self._scroll_to_offset(found)
            self._match_line = self._offsets[self._line_of(found)] if self._offsets else -1
        self._cache.clear()
        self.refresh()
        self.post_message(self.Changed(self))

    # --- rendering ---

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index, width = scroll_y + y, self.size.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        return self._strip(index).crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _strip(self, index: int) -> Strip:
        line, offset = self._lines[index], self._offsets[index]
        is_current = offset == self._match_line and self._match is not None
        key = (offset, len(line), self.search_text, is_current)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        text = Text(line, style=self.rich_style, no_wrap=True, end="")
        if self._pattern is not None:
            part = "log-view--current-match" if is_current else "log-view--match"
            style = self.get_component_rich_style(part)
            for match in self._pattern.finditer(line):
                text.stylize(style, match.start(), match.end())
        strip = Strip(text.render(self.app.console), cell_len(line))
        self._cache[key] = strip
        return strip
