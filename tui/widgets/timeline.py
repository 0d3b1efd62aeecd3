"""The timeline of one run, as in Airflow's Gantt view: one bar per attempt on a shared time
axis, so retries show as separate bars; the time an attempt waited in the queue (queued_at to
start_date) is drawn light (░), the time it ran solid (█) in its state's colour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from flowtui.states import instance_name
from flowtui.tui.format import format_duration, one_line, parse_timestamp
from flowtui.tui.widgets.state_badge import STYLES, glyph

QUEUED = "░"
RAN = "█"
LIVE = ("queued", "running", "restarting")
"""Attempt states whose bar grows until now."""


class Timeline(VerticalScroll, can_focus=False):
    """Bars for the attempts of one run; the selected task's bars are highlighted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[Any, ...] | None = None
        self.text = Text()
        """What the timeline shows now, as plain rich text."""

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-text")

    def on_resize(self, event: events.Resize) -> None:
        if self._shown is not None:
            self.show_attempts(*self._shown)

    def show_attempts(
        self,
        run_id: str | None,
        attempts: Sequence[Mapping[str, Any]] | None,
        selected: str | None,
        now: datetime,
    ) -> None:
        """Draw `attempts` of run `run_id` (None while they are being read)."""
        self._shown = (run_id, attempts, selected, now)
        width = max(20, self.scrollable_content_region.width)
        rows: dict[str, int] = {}
        if run_id is None:
            body = Text("no run yet", style="dim")
        elif attempts is None:
            body = Text("reading…", style="dim")
        else:
            body, rows = render_timeline(attempts, width, selected, now)
        title = Text("timeline", style="bold")
        title.append(f"  {QUEUED} queued  {RAN} ran", style="dim")
        self.text = Text("\n").join([title, body])
        self.query_one("#timeline-text", Static).update(self.text)
        if selected in rows:
            region = Region(0, rows[selected] + 1, 1, 1)
            self.call_after_refresh(self.scroll_to_region, region, animate=False)


def render_timeline(
    attempts: Sequence[Mapping[str, Any]],
    width: int,
    selected: str | None = None,
    now: datetime | None = None,
) -> tuple[Text, dict[str, int]]:
    """The bars as text (one line per attempt, then the axis), and each task's first line."""
    bars = [b for b in (_times(a, now) for a in attempts) if b is not None]
    if not bars:
        return Text("no attempt has started yet", style="dim"), {}
    bars.sort(key=lambda b: (b["queued"], b["try_number"]))
    origin = min(b["queued"] for b in bars)
    span = max((max(b["end"] for b in bars) - origin).total_seconds(), 1e-3)
    label_width = min(max(len(b["label"]) for b in bars) + 3, max(16, width * 2 // 5))
    room = max(4, width - label_width - 7)
    lines: list[Text] = []
    rows: dict[str, int] = {}
    for bar in bars:
        rows.setdefault(bar["task_id"], len(lines))
        lines.append(_bar_line(bar, origin, span, label_width, room, bar["task_id"] == selected))
    axis = Text(" " * label_width + "0s", style="dim")
    end = format_duration(span)
    axis.append(" " * max(1, room - 2 - len(end)) + end)
    lines.append(axis)
    return Text("\n").join(lines), rows


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
