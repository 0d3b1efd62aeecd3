"""How the dashboard writes values for people (`tui/format.py`): durations, store timestamps,
text cut to one line, and each kind of schedule in words, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flowtui.tui.format import (
    format_duration,
    format_elapsed,
    format_timestamp,
    one_line,
    parse_timestamp,
    schedule_text,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, ""),
        (0.0, "0.0s"),
        (0.44, "0.4s"),
        (12.4, "12s"),
        (59.4, "59s"),
        (60, "1m00s"),
        (185, "3m05s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (7620, "2h07m"),
        (90000, "25h00m"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        ("2024-03-01T00:00:00+00:00", "2024-03-01T00:01:05+00:00", "1m05s"),
        ("2024-03-01T00:00:00.250000+00:00", "2024-03-01T00:00:03+00:00", "2.8s"),
        ("2024-03-01T23:00:00+00:00", "2024-03-02T01:30:00+00:00", "2h30m"),
        ("2024-03-01T00:00:00+00:00", None, ""),
        (None, "2024-03-01T00:00:00+00:00", ""),
        ("", "", ""),
    ],
)
def test_format_elapsed(start: str | None, end: str | None, text: str) -> None:
    assert format_elapsed(start, end) == text


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-03-01T02:30:00.123456+00:00", datetime(2024, 3, 1, 2, 30, 0, 123456, tzinfo=UTC)),
        ("2024-03-01T02:30:00", datetime(2024, 3, 1, 2, 30, tzinfo=UTC)),  # naive: UTC
        (None, None),
        ("", None),
    ],
)
def test_parse_timestamp(text: str | None, moment: datetime | None) -> None:
    assert parse_timestamp(text) == moment


def test_parse_timestamp_refuses_what_is_not_iso_8601() -> None:
    with pytest.raises(ValueError, match="isoformat"):
        parse_timestamp("yesterday")


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({}, "2024-03-01 02:30:59"),
        ({"year": False}, "03-01 02:30:59"),
        ({"seconds": False}, "2024-03-01 02:30"),
    ],
)
def test_format_timestamp(options: dict[str, bool], text: str) -> None:
    assert format_timestamp("2024-03-01T02:30:59.999999+00:00", **options) == text


@pytest.mark.parametrize(
    ("stored", "text"),
    [
        ("2024-03-01T04:30:00+02:00", "2024-03-01 02:30:00"),  # shown in UTC, as stored
        (None, ""),
    ],
)
def test_format_timestamp_shows_utc(stored: str | None, text: str) -> None:
    assert format_timestamp(stored) == text


@pytest.mark.parametrize(
    ("text", "width", "line"),
    [
        ("short", 10, "short"),
        ("exactly 10", 10, "exactly 10"),
        ("one more ch", 10, "one more …"),
        ("  spaces\tand\n\nnewlines  ", 40, "spaces and newlines"),
        ('{"a": 1,\n "b": 2}', 8, '{"a": 1…'),
    ],
)
def test_one_line(text: str, width: int, line: str) -> None:
    assert one_line(text, width) == line


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (None, "manual"),
        ("@daily", "every day at 00:00 (@daily)"),
        ("@midnight", "every day at 00:00 (@midnight)"),
        ("@hourly", "every hour at :00 (@hourly)"),
        ("@weekly", "at 00:00 on Sun (@weekly)"),
        ("@monthly", "at 00:00 on day 1 of the month (@monthly)"),
        ("@yearly", "at 00:00 on 1 Jan (@yearly)"),
        ("@once", "@once"),
        ("30 2 * * 1-5", "at 02:30 on Mon-Fri (30 2 * * 1-5)"),
        ("*/15 * * * *", "every 15 minutes (*/15 * * * *)"),
        ("0 */6 * * *", "every 6 hours at :00 (0 */6 * * *)"),
        ("0 9 1-7 * 1", "0 9 1-7 * 1"),  # no words for it: the expression alone
        ({"timedelta": 30.0}, "every 30s"),
        ({"timedelta": 3600.0}, "every 1h00m"),
        ({"datasets": ["s3://bucket/orders"]}, "on datasets s3://bucket/orders"),
        (
            {"datasets": ["file:///data/orders.csv", "file:///data/prices.csv"]},
            "on datasets file:///data/orders.csv, fi…",
        ),
    ],
)
def test_schedule_text(schedule: Any, text: str) -> None:
    assert schedule_text(schedule) == text


def test_format_until_counts_down_to_a_store_timestamp() -> None:
    from datetime import UTC, datetime

    from flowtui.tui.format import format_until

    now = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
    assert format_until("2024-03-01T00:04:10+00:00", now) == "in 4m10s"
    assert format_until("2024-02-29T23:59:00+00:00", now) == "now"
    assert format_until(None, now) == ""
