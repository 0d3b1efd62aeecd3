"""One checker for cron fields: a DAG's schedule takes what croniter reads; a crontab line
must also mean to croniter what it means to cron."""

from __future__ import annotations

import pytest

from flowtui.cron import check_fields, describe_cron
from flowtui.crontab.reader import parse_crontab


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ("30 2 * * 1-5", None),
        ("*/15 * * * *", None),
        ("0 0 1 jan,jul *", None),
        ("61 * * * *", "minute field '61' out of range 0-59"),
        ("0 0 30 2 *", "no date ever matches its day-of-month and month fields"),
        ("* * * * MON-FOO", "day-of-week field 'MON-FOO': 'FOO' is not a day-of-week name"),
    ],
)
def test_a_schedule_field_is_checked_as_croniter_reads_it(fields: str, problem: str | None) -> None:
    found = check_fields(fields.split())
    if problem is None:
        assert found is None
    else:
        assert problem in (found or "")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ("0 22-2 * * *", "hour range '22-2' runs backwards; split it, e.g. 22-23,0-2"),
        ("0 0 * * fri-mon", "day-of-week range 'fri-mon' runs backwards; split it, e.g. 5-6,0-1"),
        ("5/10 * * * *", "minute step '5/10' needs * or a range before the /, e.g. 5-59/10"),
    ],
)
def test_cron_reads_some_fields_otherwise_than_croniter(fields: str, problem: str) -> None:
    assert check_fields(fields.split()) is None  # croniter alone takes them
    assert check_fields(fields.split(), as_cron=True) == problem


def test_a_crontab_line_is_refused_with_the_field_problem() -> None:
    crontab = parse_crontab("0 22-2 * * * /usr/bin/nightly\n", system_timezone="UTC")
    assert crontab.entries == []
    (bad,) = crontab.bad
    assert (bad.line_number, bad.reason) == (
        1,
        "hour range '22-2' runs backwards; split it, e.g. 22-23,0-2",
    )


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 0 * * *", "every day at 00:00"),
        ("30 2 * * 1-5", "at 02:30 on Mon-Fri"),
        ("*/15 * * * *", "every 15 minutes"),
        ("0 0 1 jan,jul *", "at 00:00 on 1 Jan,Jul"),
        ("0 0 * 13 *", None),
        ("* * * * 9", None),
        ("0 0 1 xyz *", None),
        ("@daily", None),
        ("0 0 * *", None),
    ],
)
def test_a_schedule_in_words_or_none(expression: str, words: str | None) -> None:
    """The dashboard's words for common shapes; anything else, valid or not, has none."""
    assert describe_cron(expression) == words
