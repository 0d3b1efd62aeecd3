"""How the dashboard writes values for people: durations, store timestamps, text cut to one
line, and a DAG's schedule in words. Pure functions, so that a value reads the same on every
screen; the screens and widgets decide where it goes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowtui.clock import in_utc, parse_datetime
from flowtui.cron import PRESETS, describe_cron

DATASETS_WIDTH = 40
"""Characters of a schedule that names its datasets, at most."""


def format_duration(seconds: float | None) -> str:
    """Short and readable: `0.4s`, `12s`, `3m05s`, `2h07m`; empty for None."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_elapsed(start: str | None, end: str | None) -> str:
    """The duration between two store timestamps; empty unless both are known."""
    began, ended = parse_timestamp(start), parse_timestamp(end)
    if began is None or ended is None:
        return ""
    return format_duration((ended - began).total_seconds())


def format_until(when: str | None, now: datetime | None = None) -> str:
    """How long until a store timestamp: `in 4m10s`, or `now` once it has passed."""
    moment = parse_timestamp(when)
    if moment is None:
        return ""
    left = (moment - (now or datetime.now(UTC))).total_seconds()
    return f"in {format_duration(left)}" if left > 0 else "now"


def parse_timestamp(text: str | None) -> datetime | None:
    """A store timestamp (ISO-8601, UTC) as an aware datetime; None for an empty column."""
    return parse_datetime(text) if text else None


def format_timestamp(text: str | None, *, year: bool = True, seconds: bool = True) -> str:
    """A store timestamp in UTC, as a log line shows it (`2024-03-01 02:30:00`); without the
    year where a table is narrow, without seconds for a time to come; empty for None."""
    moment = parse_timestamp(text)
    if moment is None:
        return ""
    layout = ("%Y-" if year else "") + "%m-%d %H:%M" + (":%S" if seconds else "")
    return in_utc(moment).strftime(layout)


def one_line(text: str, width: int) -> str:
    """`text` on one line (each run of spaces and newlines becomes one space), cut to `width`
    characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def schedule_text(schedule: Any) -> str:
    """A DAG's schedule as `DagSpec.schedule` holds it, in words where it has some.

    `manual` for none; a cron string or preset described, then itself in brackets
    (`every day at 00:00 (@daily)`), or itself alone when there are no words for it;
    `every 1h00m` for a timedelta; `on datasets a, b` for datasets, cut to `DATASETS_WIDTH`.
    """
    if schedule is None:
        return "manual"
    if isinstance(schedule, dict) and "timedelta" in schedule:
        return f"every {format_duration(schedule['timedelta'])}"
    if isinstance(schedule, dict) and "cron_trigger" in schedule:
        cron = schedule["cron_trigger"]
        words = _cron_words(cron)
        zone = "" if schedule.get("timezone") in (None, "UTC") else f" {schedule['timezone']}"
        return f"{words} ({cron}{zone}, trigger)" if words else f"{cron}{zone} (trigger)"
    if isinstance(schedule, dict) and "datasets" in schedule:
        return one_line("on datasets " + ", ".join(schedule["datasets"]), DATASETS_WIDTH)
    if isinstance(schedule, str):
        words = _cron_words(schedule)
        return f"{words} ({schedule})" if words else schedule
    return str(schedule)


def _cron_words(schedule: str) -> str | None:
    return describe_cron(PRESETS.get(schedule.strip(), schedule))
