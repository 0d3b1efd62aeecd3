"""The timeline of one run, as in Airflow's Gantt view: one bar per attempt on a shared time
axis, so retries show as separate bars; the time an attempt waited in the queue (queued_at to
start_date) is drawn light (░), the time it ran solid (█) in its state's colour. It draws with
the Line API: a run of 200 attempts costs the lines on screen, and a move of the selection
draws again the lines of the two tasks concerned (issue 13: the whole text was laid out and
drawn at each cursor move)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.style import Style
from rich.text import Span, Text
from textual import events
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual

from flowtui.states import instance_name
from flowtui.tui.format import format_duration, one_line, parse_timestamp
from flowtui.tui.widgets.state_badge import STYLES, glyph

QUEUED = "░"
RAN = "█"
LIVE = ("queued", "running", "restarting")
"""Attempt states whose bar grows until now."""

STRIPS_KEPT = 1024
"""Lines drawn kept: a few screens of bars, each highlighted or not."""

LineKey = tuple[str, str, tuple[Span, ...]]
"""What a line shows: its characters, its style and its spans of styles."""


class Timeline(ScrollView, can_focus=False):
    """Bars for the attempts of one run; the selected task's bars are highlighted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[Any, ...] | None = None
        """(run_id, attempts, now, width) the lines were made for (now only while an attempt
        is live: the others' bars do not move with it)."""
        self._now: datetime | None = None
        self._selected: str | None = None
        self._chart = Chart([], [], 0)
        self._strips: LRUCache[LineKey, Strip] = LRUCache(STRIPS_KEPT)
        """Lines drawn, by what they show: a refresh draws only the lines that changed."""
        self._drawn: dict[int, LineKey | None] = {}
        """What each line on screen shows (None: blank), by its index."""

    @property
    def text(self) -> Text:
        """What the timeline shows now, as rich text."""
        return Text("\n").join(
            self._chart.line(i, self._selected) for i in range(self._chart.height)
        )

    def on_resize(self, event: events.Resize) -> None:
        if self._shown is not None and self._width() != self._shown[3]:
            self.show_attempts(self._shown[0], self._shown[1], self._selected, self._now)

    def show_attempts(
        self,
        run_id: str | None,
        attempts: Sequence[Mapping[str, Any]] | None,
        selected: str | None,
        now: datetime | None,
    ) -> None:
        """Draw `attempts` of run `run_id` (None while they are being read)."""
        width = self._width()
        is_live = attempts is not None and any(_is_live(a) for a in attempts)
        shown = (run_id, attempts, now if is_live else None, width)
        self._now = now
        if self._shown is None or any(a is not b for a, b in zip(shown, self._shown, strict=True)):
            self._shown, self._selected = shown, selected
            self._chart = chart(run_id, attempts, width, now)
            # Most bars stay as they were when a task starts or ends: draw the others only.
            top = self.scroll_offset.y
            for index in range(top, top + self.size.height):
                if self._key(index) != self._drawn.get(index, ()):
                    self.refresh_line(index)
            size = Size(width, self._chart.height)
            if size != self.virtual_size:
                # Not `self.virtual_size = size`, which repaints every line: a layout alone
                self.set_reactive(Timeline.virtual_size, size)
                self.refresh(Region(0, 0, 0, 0), layout=True)
        elif selected != self._selected:
            changed = self._chart.lines_of(self._selected) + self._chart.lines_of(selected)
            self._selected = selected
            for index in changed:
                self.refresh_line(index)
        lines = self._chart.lines_of(selected)
        if lines:
            self.scroll_to_region(Region(0, lines[0], 1, 1), animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index, width = scroll_y + y, self.size.width
        # Past the text, the background alone, as a Static in a scrolling container left it
        blank = Style.from_color(bgcolor=self.rich_style.bgcolor)
        key = self._drawn[index] = self._key(index)
        if key is None:
            return Strip.blank(width, blank)
        strip = self._strips.get(key)
        if strip is None:
            # Drawn as a Static draws its text (Textual's Content), so that it looks the same.
            line = self._chart.line(index, self._selected)
            content = Content.from_rich_text(line, console=self.app.console)
            strips = Visual.to_strips(self, content, self._width(), 1, self.visual_style)
            strip = strips[0] if strips else Strip.blank(0)
            self._strips.set(key, strip)
        return strip.crop_extend(scroll_x, scroll_x + width, blank)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _key(self, index: int) -> LineKey | None:
        """What line `index` shows (None past the last one)."""
        if index >= self._chart.height:
            return None
        line = self._chart.line(index, self._selected)
        return line.plain, str(line.style), tuple(line.spans)

    def _width(self) -> int:
        return max(20, self.scrollable_content_region.width)


class Chart:
    """The timeline's lines: a title, then the bars (or a line saying why there are none),
    then the time axis; a line's text depends on which task is selected."""

    def __init__(self, bars: list[dict[str, Any]], body: list[Text], width: int) -> None:
        self.bars = bars
        self._body = body
        """The lines when there are no bars (a message)."""
        self._lines: dict[str, list[int]] = {}
        for index, bar in enumerate(bars, start=1):
            self._lines.setdefault(bar["task_id"], []).append(index)
        if bars:
            self.origin = min(b["queued"] for b in bars)
            self.span = max((max(b["end"] for b in bars) - self.origin).total_seconds(), 1e-3)
            self.label_width = min(max(len(b["label"]) for b in bars) + 3, max(16, width * 2 // 5))
            self.room = max(4, width - self.label_width - 7)

    @property
    def height(self) -> int:
        """How many lines: none before the timeline shows anything (not even its title)."""
        if self.bars:
            return len(self.bars) + 2
        return 1 + len(self._body) if self._body else 0

    def lines_of(self, task_id: str | None) -> list[int]:
        """The indexes of the lines of `task_id`'s bars, top down."""
        return self._lines.get(task_id or "", []) if task_id is not None else []

    def line(self, index: int, selected: str | None) -> Text:
        if index == 0:
            title = Text("timeline", style="bold")
            title.append(f"  {QUEUED} queued  {RAN} ran", style="dim")
            return title
        if not self.bars:
            return self._body[index - 1]
        if index <= len(self.bars):
            bar = self.bars[index - 1]
            return _bar_line(
                bar,
                self.origin,
                self.span,
                self.label_width,
                self.room,
                bar["task_id"] == selected,
            )
        axis = Text(" " * self.label_width + "0s", style="dim")
        end = format_duration(self.span)
        axis.append(" " * max(1, self.room - 2 - len(end)) + end)
        return axis


def chart(
    run_id: str | None,
    attempts: Sequence[Mapping[str, Any]] | None,
    width: int,
    now: datetime | None = None,
) -> Chart:
    """The lines of the timeline of `attempts` of `run_id` at `width` columns."""
    if run_id is None:
        return Chart([], [Text("no run yet", style="dim")], width)
    if attempts is None:
        return Chart([], [Text("reading…", style="dim")], width)
    bars = [b for b in (_times(a, now) for a in attempts) if b is not None]
    if not bars:
        return Chart([], [Text("no attempt has started yet", style="dim")], width)
    bars.sort(key=lambda b: (b["queued"], b["try_number"]))
    return Chart(bars, [], width)


def _is_live(attempt: Mapping[str, Any]) -> bool:
    return attempt.get("end_date") is None and attempt.get("state") in LIVE


def _times(attempt: Mapping[str, Any], now: datetime | None) -> dict[str, Any] | None:
    started = parse_timestamp(attempt.get("start_date"))
    queued = parse_timestamp(attempt.get("queued_at")) or started
    if queued is None:
        return None
    state = str(attempt.get("state") or "none")
    ended = parse_timestamp(attempt.get("end_date"))
    if ended is None:
        ended = now if (state in LIVE and now is not None) else (started or queued)
    name = instance_name(attempt["task_id"], attempt.get("map_index", -1))
    return {
        "task_id": attempt["task_id"],
        "name": name,
        "try_number": attempt.get("try_number") or 0,
        "state": state,
        "label": f"{name} #{attempt.get('try_number')}",
        "queued": queued,
        "started": started,
        "end": max(ended, started or queued),
    }


def _bar_line(
    bar: dict[str, Any],
    origin: datetime,
    span: float,
    label_width: int,
    room: int,
    is_selected: bool,
) -> Text:
    def column(moment: datetime) -> int:
        return round((moment - origin).total_seconds() / span * (room - 1))

    line = glyph(bar["state"])
    line.append(" ")
    suffix = f" #{bar['try_number']}"  # the task id is cut if need be, never the try number
    label = one_line(bar["name"], max(2, label_width - 3 - len(suffix))) + suffix
    line.append(label, style="reverse" if is_selected else "")
    line.append(" " * (label_width - 2 - len(label)))
    start = column(bar["queued"])
    ran_from = column(bar["started"]) if bar["started"] is not None else column(bar["end"]) + 1
    ran_to = max(column(bar["end"]) + 1, ran_from + 1) if bar["started"] is not None else ran_from
    line.append(" " * start)
    line.append(QUEUED * max(0, ran_from - start), style="dim")
    line.append(RAN * (ran_to - ran_from), style=STYLES.get(bar["state"], ""))
    seconds = (bar["end"] - (bar["started"] or bar["end"])).total_seconds()
    line.append(" " * max(1, room - max(ran_to, ran_from) + 1))
    line.append(format_duration(seconds) if bar["started"] else "", style="dim")
    return line
