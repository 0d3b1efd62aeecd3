"""Time as the engine sees it: an injectable clock returning aware UTC datetimes, the one text
form timestamps take in the store (ISO-8601, UTC, microseconds, so they sort as text), and the
one parser of ISO-8601 text, from the store, a DAG file or the command line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """The store's form of `moment`; naive datetimes are taken as UTC."""
    return in_utc(moment).isoformat(timespec="microseconds")


def parse_datetime(text: str, naive_zone: tzinfo = UTC) -> datetime:
    """An ISO-8601 date or datetime as an aware datetime; without an offset it is taken in
    `naive_zone` (UTC unless told, as in Airflow's default configuration).

    Raises:
        ValueError: `text` is not ISO-8601.
    """
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=naive_zone)


def in_utc(moment: datetime) -> datetime:
    """`moment` in UTC; naive datetimes are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
