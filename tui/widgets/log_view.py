"""`LogView`: a scrolling view of a window of one log file's lines (`LineWindow`), rendering
only the visible ones; it reads more as the viewport nears an edge of the window, follows a
running attempt like `tail -f` and searches the whole file, every read on a thread worker."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
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
    POLL_SECONDS,
    WINDOW,
    Chunk,
    find_in_file,
    read_beside,
    read_chunk,
    read_growth,
    read_tail,
)
from flowtui.tui.widgets.log_window import LineWindow

_PLAIN = Style()


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

    # No horizontal scrollbar: it took the pane's last row, hiding the last line (usually the
    # error) whenever a line was wider than the pane, and was redrawn cell by cell on every
    # new line; a wide line scrolls with ← → (issue 13, point 3).
    DEFAULT_CSS = """
    LogView { scrollbar-size-horizontal: 0; }
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
        self.search_text = ""
        self.note = ""
        """How the last search went, for the status line."""
        self._window = LineWindow()
        self._generation = 0
        """Bumped whenever the window is replaced, so that older reads are dropped."""
        self._extending = self._polling = self._grew = False
        self._match: int | None = None
        self._match_line = -1
        """Byte offset of the line holding the current match."""
        self._pattern: re.Pattern[str] | None = None
        self._cache: LRUCache[tuple[int, int, str, bool], Strip] = LRUCache(1024)
        self._timer: Timer | None = None
        self._tail_room = 0
        """Blank rows under the last line while following: new lines fill them one row each,
        and only a line that finds none scrolls the view, by half a page (see `_append`)."""

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.action_last_line()
        else:
            self._drop_tail_room()
        self.post_message(self.Changed(self))

    def watch_is_live(self, is_live: bool) -> None:
        self._grew = True  # one more read after the attempt ends catches its last lines
        if not is_live:
            self._drop_tail_room()
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
        if not self._window.eof:
            self._read_window(self.path, None, None, "bottom")
        else:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)

    @property
    def window(self) -> tuple[int, int]:
        """Bytes [start, end) of the file that are in memory."""
        return self._window.bounds

    @property
    def file_size(self) -> int:
        """The file's size at the last read or poll."""
        return self._window.file_size

    @property
    def lines(self) -> list[str]:
        """The lines in memory (read only)."""
        return self._window.lines

    @property
    def visible_lines(self) -> list[str]:
        top = round(self.scroll_y)
        return self._window.lines[top : top + self.scrollable_content_region.height]

    @property
    def match(self) -> int | None:
        """Byte offset of the current search match."""
        return self._match

    @property
    def is_following(self) -> bool:
        """New lines will scroll into view: follow is on and the last line is in view."""
        return self.follow and self._window.eof and self.is_vertical_scroll_end

    def open(self, path: Path, *, is_live: bool) -> None:
        """Show the tail of `path` (which may not exist yet)."""
        self.path, self._match, self.note = path, None, ""
        self._window = LineWindow()
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
            offsets = self._window.offsets
            top = min(round(self.scroll_y), len(offsets) - 1)
            start = offsets[top] if top >= 0 else 0
        self.note = "searching…"
        self.post_message(self.Changed(self))
        self._find(self.path, text.encode(), start, forward, self.window, self._generation)

    def _set_window(self, chunk: Chunk) -> None:
        self._window.replace(chunk)
        self._generation += 1
        self._cache.clear()
        self._tail_room = 0
        self._resize()

    def _resize(self) -> None:
        self._set_virtual_size()
        self.refresh()

    def _set_virtual_size(self) -> None:
        size = Size(self._window.width, len(self._window.lines) + self._tail_room)
        if size != self.virtual_size:
            self.virtual_size = size

    def _drop_tail_room(self) -> None:
        """Following stopped: no blank rows under the last line any more."""
        if self._tail_room:
            at_end = self.is_vertical_scroll_end
            self._tail_room = 0
            self._resize()
            if at_end:
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)

    def _scroll_to_offset(self, offset: int) -> None:
        index, lines = self._window.line_of(offset), self._window.lines
        height = self.scrollable_content_region.height
        if not round(self.scroll_y) <= index < round(self.scroll_y) + height:
            self.scroll_to(y=max(0, index - height // 3), animate=False, immediate=True, force=True)
        match = self._pattern.search(lines[index]) if self._pattern and lines else None
        if match is not None:
            column, width = cell_len(lines[index][: match.start()]), self.size.width
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
        chunk = read_tail(path) if start is None else read_chunk(path, start, stop)
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
        window = self._window
        start, _ = window.bounds
        if top < EDGE_LINES and start > 0:
            self._extending = True
            self._read_more(self.path, self._generation, start, before=True)
        elif top + height > len(window.lines) - EDGE_LINES and not window.eof:
            self._extending = True
            self._read_more(self.path, self._generation, window.end, before=False)

    @work(thread=True, group="log-more")
    def _read_more(self, path: Path, generation: int, edge: int, *, before: bool) -> None:
        chunk = read_beside(path, edge, before=before)
        self.post_message(_ReadDone(lambda: self._add(chunk, generation, before)))

    def _add(self, chunk: Chunk, generation: int, before: bool) -> None:
        self._extending = False
        if generation != self._generation:
            return
        if before and chunk.end == self.window[0]:
            self._prepend(chunk)
        elif not before and chunk.start == self._window.end:
            self._append(chunk)
        self.post_message(self.Changed(self))

    def _prepend(self, chunk: Chunk) -> None:
        self._window.prepend(chunk)
        self._resize()
        self.scroll_to(
            y=self.scroll_y + len(chunk.lines), animate=False, immediate=True, force=True
        )

    def _append(self, chunk: Chunk) -> None:
        stick = self.follow and self.is_vertical_scroll_end
        window = self._window
        first = len(window.lines) - window.has_partial  # the first row this chunk changes
        drop = window.append(chunk)
        if not stick or not self.is_live:
            self._tail_room = 0
            self._resize()
            if stick:
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
            elif drop:
                self.scroll_to(
                    y=max(0, self.scroll_y - drop), animate=False, immediate=True, force=True
                )
            return
        # Following: a new line fills a blank row, and only those rows are redrawn; a line
        # with no blank row left moves the view half a page. Scrolling by one row per line
        # redrew the whole pane for each line, about 2 KB at 100x30 (issue 13, point 3).
        height = self.scrollable_content_region.height
        bottom = round(self.scroll_y) + height - drop
        if drop or len(window.lines) > bottom or not height:
            self._tail_room = height // 2
            self._resize()
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
            return
        self._tail_room = bottom - len(window.lines)
        self._set_virtual_size()
        self.refresh_lines(first, len(window.lines) - first)

    def _poll(self) -> None:
        """Timer: read what a live attempt wrote since the last poll."""
        if self.path is None or self._polling:
            return
        if not self.is_live and not self._grew:
            if self._timer is not None:
                self._timer.pause()
            return
        self._polling = True
        window = self._window
        self._read_new(self.path, self._generation, window.end, window.eof, window.file_size)

    @work(thread=True, group="log-poll")
    def _read_new(self, path: Path, generation: int, end: int, eof: bool, known: int) -> None:
        size, chunk = read_growth(path, end, known, eof=eof)
        self.post_message(_ReadDone(lambda: self._polled(generation, size, chunk)))

    def _polled(self, generation: int, size: int, chunk: Chunk | None) -> None:
        self._polling, self._grew = False, size != self.file_size
        if generation != self._generation or not self._grew:
            return
        window = self._window
        if chunk is not None and chunk.start == window.end:
            self._append(chunk)
        elif window.eof and (size < window.end or self.is_following):
            self._read_window(self.path, None, None, "bottom")  # truncated, or a burst
        else:
            window.file_changed(size)
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
            offsets = self._window.offsets
            self._match_line = offsets[self._window.line_of(found)] if offsets else -1
        self._cache.clear()
        self.refresh()
        self.post_message(self.Changed(self))

    # --- rendering ---

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index, width = scroll_y + y, self.size.width
        if index >= len(self._window.lines):
            return Strip.blank(width, self.rich_style)
        return self._strip(index).crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _strip(self, index: int) -> Strip:
        line, offset = self._window.lines[index], self._window.offsets[index]
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
        # Every segment with a style: with NO_COLOR, Textual's monochrome filter reads each
        # segment's style, and a plain line's segment has none (it crashed the dashboard).
        segments = [
            Segment(t, style or _PLAIN, control)
            for t, style, control in text.render(self.app.console)
        ]
        strip = Strip(segments, cell_len(line))
        self._cache[key] = strip
        return strip
