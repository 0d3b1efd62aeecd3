"""Five-field cron strings: checking one names the field that is wrong and what it takes (for a
DAG's schedule, and, stricter, for a crontab line, where cron and croniter must read it the
same way); describing one gives the words the dashboard shows. croniter decides what a string
means; this module only explains it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flowtui.errors import InvalidSchedule

PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
"""Cron presets and the expression each stands for; ``@once`` is a timetable of its own."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load_croniter() -> Any:
    # Imported on first use: croniter costs ~30 ms, too much for every `import flowtui` in a
    # DAG file that only validates its schedule string.
    from croniter import croniter

    return croniter


# --- validation: name the field that is wrong and say what it takes ---

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class _Field(NamedTuple):  # not a dataclass: a NamedTuple class is made in a tenth of the time
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    note: str = ""

    def value(self, text: str) -> int:
        """A number or name of this field (already checked) as its number."""
        return int(text) if text.isdigit() else self.names.index(text.lower()) + self.low

    @property
    def takes(self) -> str:
        names = f" or {self.names[0].upper()}-{self.names[-1].upper()}" if self.names else ""
        return f"{self.low}-{self.high}{names}{self.note}, lists (1,3), ranges (1-5), steps (*/2)"


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _DAYS, note=" (0 and 7 are Sunday)"),
)
_LAYOUT = "minute hour day-of-month month day-of-week"


def check_fields(fields: list[str], *, as_cron: bool = False) -> str | None:
    """The first problem of five cron fields, in words, or None.

    With `as_cron` (a crontab line), also what cron reads otherwise than croniter: a range
    that runs backwards, a step after a single value.
    """
    for field, text in zip(_FIELDS, fields, strict=True):
        problem = _field_problem(field, text) or (_cron_problem(field, text) if as_cron else None)
        if problem:
            return problem
    return _never_fires(" ".join(fields))


def validate_schedule(schedule: str, *, dag_id: str | None = None) -> None:
    """Check a preset or 5-field cron string without building a timetable.

    Raises:
        InvalidSchedule: naming the DAG (when given), the schedule, the wrong field and
            what that field takes, e.g. "minute field '61' out of range 0-59; ...".
    """
    problem = _schedule_problem(schedule)
    if problem:
        raise InvalidSchedule(dag_id, schedule, problem)


def _schedule_problem(schedule: str) -> str | None:
    text = schedule.strip()
    if text == "@once" or text in PRESETS:
        return None
    if text in ("@reboot", "@continuous"):
        return (
            f"{text} is not supported (flowtui schedules on the clock); use '@once' for a "
            f"single run or a cron string such as '* * * * *'"
        )
    if text.startswith("@"):
        return f"unknown preset {text!r}; use one of: @once, {', '.join(PRESETS)}"
    fields = text.split()
    if len(fields) != len(_FIELDS):
        fix = "drop the seconds or year field" if len(fields) > 5 else "add the missing fields"
        return f"it has {len(fields)} fields but cron takes 5 ({_LAYOUT}); {fix}"
    return check_fields(fields)


def _field_problem(field: _Field, text: str) -> str | None:
    probe = ["*"] * len(_FIELDS)
    probe[_FIELDS.index(field)] = text
    try:
        load_croniter()(" ".join(probe))
    except (ValueError, TypeError, KeyError):  # croniter's errors are ValueErrors
        return f"{field.name} field {text!r}{_field_reason(field, text)}; it takes {field.takes}"
    return None


def _field_reason(field: _Field, text: str) -> str:
    for part in text.split(","):
        _, slash, step = part.partition("/")
        if slash and (not step.isdigit() or int(step) == 0):
            return f": step {step!r} must be a whole number >= 1"
        for token in re.split(r"[-/]", part):
            lead = " " if token == text else f": {token!r} "
            if token.isdigit() and not field.low <= int(token) <= field.high:
                return f"{lead}out of range {field.low}-{field.high}"
            if token.isalpha() and token.lower() not in field.names:
                kind = f"a {field.name} name" if field.names else "a number"
                return f"{lead}is not {kind}"
    return " is not valid cron syntax"


def _cron_problem(field: _Field, text: str) -> str | None:
    """What croniter accepts in a field but cron reads otherwise (or refuses)."""
    for element in text.split(","):
        span, _, step = element.partition("/")
        low, _, high = span.partition("-")
        values = [field.value(v) for v in (low, high) if v and v != "*"]
        if len(values) == 2 and values[0] > values[1]:
            top = 6 if field.names is _DAYS else field.high  # 7 is Sunday again
            return (
                f"{field.name} range {element!r} runs backwards; split it, e.g. "
                f"{values[0]}-{top},{field.low}-{values[1]}"
            )
        if step and not high and low != "*":
            return (
                f"{field.name} step {element!r} needs * or a range before the /, "
                f"e.g. {values[0]}-{field.high}/{step}"
            )
    return None


def _never_fires(expression: str) -> str | None:
    try:
        load_croniter()(expression, EPOCH).get_next(datetime)
    except ValueError:  # CroniterBadDateError: no date matches within croniter's search
        return (
            "no date ever matches its day-of-month and month fields; pick days that exist "
            "in those months"
        )
    return None


# --- descriptions for the dashboard ---


def describe_cron(expression: str) -> str | None:
    """Common shapes in words ("every day at 02:30", "every 15 minutes"); None for any other
    expression, a preset, or one that is not valid."""
    fields = expression.split()
    if len(fields) != len(_FIELDS):
        return None
    minute, hour, dom, month, dow = fields
    when = _describe_time(minute, hour)
    days = _describe_days(dom, month, dow)
    if when is None or days is None:
        return None
    if days == "every day":
        return f"every day {when}" if when.startswith("at ") else when
    return f"{when} {days}"


def _describe_time(minute: str, hour: str) -> str | None:
    if minute.isdigit() and hour.isdigit():
        return f"at {int(hour):02d}:{int(minute):02d}"
    if minute.isdigit() and hour == "*":
        return f"every hour at :{int(minute):02d}"
    if minute.isdigit() and hour.startswith("*/") and hour[2:].isdigit():
        return f"every {hour[2:]} hours at :{int(minute):02d}"
    if minute == "*" and hour == "*":
        return "every minute"
    if minute.startswith("*/") and minute[2:].isdigit() and hour == "*":
        return f"every {minute[2:]} minutes"
    return None


def _describe_days(dom: str, month: str, dow: str) -> str | None:
    if dom == month == dow == "*":
        return "every day"
    if dom == month == "*":
        days = _names(dow, _DAYS, week=True)
        return f"on {days}" if days else None
    if dow == "*" and month == "*" and dom.isdigit():
        return f"on day {dom} of the month"
    months = _names(month, _MONTHS, week=False)
    if dow == "*" and dom.isdigit() and months:
        return f"on {dom} {months}"
    return None


def _names(text: str, names: tuple[str, ...], *, week: bool) -> str | None:
    """'1-5' → 'Mon-Fri', '0,7' → 'Sun,Sun'; None for steps, other syntax and values out of
    range."""
    if not re.fullmatch(r"[A-Za-z0-9]+([-,][A-Za-z0-9]+)*", text):
        return None
    words = []
    for token in re.split(r"([-,])", text):
        if token in "-,":
            words.append(token)
        elif token.isdigit():
            value = int(token)
            if not (0 <= value <= 7 if week else 1 <= value <= len(names)):
                return None  # out of range: no words for it
            number = value % 7 if week else value - 1
            words.append(names[number].title())
        elif token.lower() in names:
            words.append(token.title())
        else:
            return None
    return "".join(words)
