"""Durations at a glance: per task, one block character per recent run, scaled against the
slowest task instance on display so that a slow step stands out in its row, plus the latest
duration in words. Pure text: the run grid puts it in a column; no colour is needed to read it."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from flowtui.tui.format import format_duration

BLOCKS = "▁▂▃▄▅▆▇█"
"""Eight heights, lowest first."""

NO_DURATION = "·"
"""A run in which the task has no duration (not run yet, skipped, upstream_failed)."""

WIDTH = 8
"""Blocks per sparkline: the task's last `WIDTH` runs, oldest left."""


def sparkline(durations: Sequence[float | None], scale: float, width: int = WIDTH) -> Text:
    """The last `width` durations as blocks (oldest left), then the latest known duration.

    Args:
        durations: Seconds per run, oldest first; None where the task did not finish a run.
        scale: The duration drawn as a full block (the slowest on display); 0 draws all low.
        width: How many runs to draw; shorter histories are padded on the left.
    """
    recent = list(durations)[-width:]
    text = Text(" " * (width - len(recent)), no_wrap=True)
    for seconds in recent:
        if seconds is None:
            text.append(NO_DURATION, style="dim")
            continue
        level = 0 if scale <= 0 else round(seconds / scale * (len(BLOCKS) - 1))
        text.append(BLOCKS[max(0, min(level, len(BLOCKS) - 1))])
    latest = next((s for s in reversed(recent) if s is not None), None)
    text.append(f" {format_duration(latest):>5}", style="dim")
    return text
