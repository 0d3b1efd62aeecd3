"""Reading a crontab (`crontab -l` output) with cron's own rules into entries, for
`flowtui crontab import` (crontab_dags.py writes the DAG files). Which times a schedule fires
at stays croniter's business; this module only checks that cron and croniter read each line
the same way.

Decisions (README, "From cron to flowtui"):

- Time zone: cron fires in the system time zone, so each DAG's `start_date` carries it: the
  zone of the last `CRON_TZ=` (else `TZ=`) line above the entry, else the IANA name that
  /etc/localtime links to, else /etc/timezone, else UTC.
- `%`: an unescaped `%` ends the command and the rest becomes its stdin, each further `%` a
  newline; `\\%` is a literal `%`. The stdin is fed as a quoted heredoc to the whole command.
- Schedules are written as given: the five fields (joined by single spaces) or the nickname.
- dag_id: `cron_<line number>_<program and first argument>`, e.g. `cron_03_backup_db`.
- Environment lines apply to the entries below them (as in cron) and become the operator's
  `env` with `append_env=True`; `MAILTO` becomes `email` + `email_on_failure` instead.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
"""cron's nicknames, written to the DAG as given (@reboot has no DAG equivalent)."""

START_DATE = (2024, 1, 1)
"""A fixed past date: with catchup=False the first run is simply the next cron time."""

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (  # name, lowest, highest, names (index + lowest = value)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_ELEMENT = re.compile(r"(?:\*|(?P<low>\w+)(?:-(?P<high>\w+))?)(?:/(?P<step>\d+))?")
_ENV_LINE = re.compile(r"""\s*(["']?)(?P<name>[A-Za-z_]\w*)\1\s*=\s*(?P<value>.*?)\s*""")
_NUMERIC_FIELD = re.compile(r"[\d*][\d*,/-]*")
_CRON_ONLY = ("MAILTO", "CRON_TZ")
"""Environment lines that steer cron itself rather than the command."""
_WRAPPERS = frozenset(
    {"nice", "ionice", "sudo", "env", "timeout", "flock", "nohup", "exec", "time", "chronic"}
    | {"sh", "bash", "python", "python3", "perl", "ruby", "node", "php"}
)


class _Untranslatable(Exception):
    """A crontab line this module cannot turn into a DAG; the message says why and what to do."""


@dataclass(frozen=True)
class CronEntry:
    """One crontab entry, read with cron's rules."""

    line_number: int
    line: str
    schedule: str
    """The five fields as given (joined by one space), or a nickname."""
    command: str
    """The shell command, `%` rules applied."""
    stdin: str | None
    env: dict[str, str]
    emails: list[str]
    timezone: str
    zone_source: str
    """Where `timezone` came from, for the generated docstring."""
    dag_id: str
    task_id: str


@dataclass(frozen=True)
class BadLine:
    line_number: int
    line: str
    reason: str


@dataclass
class Crontab:
    entries: list[CronEntry] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)


# --- reading ---


def parse_crontab(text: str, system_timezone: str | None = None) -> Crontab:
    """Read every line of `text`; entries and untranslatable lines come back in file order."""
    system = system_timezone or system_zone()
    env: dict[str, str] = {}
    crontab = Crontab()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            match = _ENV_LINE.fullmatch(line)
            if match:
                _set_env(env, match["name"], match["value"])
            else:
                crontab.entries.append(_entry(number, line, dict(env), system))
        except _Untranslatable as exc:
            crontab.bad.append(BadLine(number, line, str(exc)))
    return crontab


def system_zone(localtime: Path = Path("/etc/localtime")) -> str:
    """The zone cron runs in: the IANA name /etc/localtime links to, else /etc/timezone, else
    UTC (a copied, unlinked /etc/localtime has no name to read)."""
    target = str(localtime.resolve()) if localtime.is_symlink() else ""
    candidates = [target.partition("/zoneinfo/")[2]] if "/zoneinfo/" in target else []
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    return next((name for name in candidates if _is_zone(name)), "UTC")


def split_percent(text: str) -> tuple[str, str | None]:
    """Apply cron's `%` rules: return (command, stdin or None)."""
    parts: list[list[str]] = [[]]
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            # cron drops the backslash of `\%` only; any other pair stays as it is.
            parts[-1].append("%" if following == "%" else char + following)
            index += 2
            continue
        if char == "%":
            parts.append([])
        else:
            parts[-1].append(char)
        index += 1
    command = "".join(parts[0]).rstrip()
    stdin = "\n".join("".join(part) for part in parts[1:]) if len(parts) > 1 else None
    return command, stdin


def _set_env(env: dict[str, str], name: str, value: str) -> None:
    if value[:1] in ("'", '"'):
        if len(value) < 2 or value[-1] != value[0]:
            raise _Untranslatable(f"the value of {name} has no closing {value[0]}")
        value = value[1:-1]
    if name in ("TZ", "CRON_TZ") and value and not _is_zone(value.lstrip(":")):
        raise _Untranslatable(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"
        )
    env[name] = value


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _entry(number: int, line: str, env: dict[str, str], system: str) -> CronEntry:
    schedule, rest = _split_schedule(line)
    command, stdin = split_percent(rest)
    if not command.strip():
        raise _Untranslatable("the command before the first % is empty")
    zone_line = next((name for name in ("CRON_TZ", "TZ") if env.get(name)), None)
    timezone = env[zone_line].lstrip(":") if zone_line else system
    words = _command_words(command)
    return CronEntry(
        line_number=number,
        line=line,
        schedule=schedule,
        command=command,
        stdin=stdin,
        env={k: v for k, v in env.items() if k not in _CRON_ONLY},
        emails=[a for a in re.split(r"[,\s]+", env.get("MAILTO", "")) if a],
        timezone=timezone,
        zone_source=f"from the {zone_line}= line above" if zone_line else "the system's zone",
        dag_id="_".join(["cron", f"{number:02d}", *words]),
        task_id="_".join(words) or "command",
    )


def _split_schedule(line: str) -> tuple[str, str]:
    if line.startswith("@"):
        nickname = line.split(None, 1)[0]
        rest = line[len(nickname) :].strip()
        if nickname == "@reboot":
            raise _Untranslatable(
                "@reboot is not supported (a DAG has no 'at boot' schedule); keep it in cron or a "
                "systemd unit, or make a DAG with schedule=None and trigger it"
            )
        if nickname not in NICKNAMES:
            raise _Untranslatable(
                f"unknown nickname {nickname!r}; use one of {', '.join(NICKNAMES)}"
            )
        if not rest:
            raise _Untranslatable(f"{nickname} has no command after it")
        return nickname, rest
    parts = line.split(None, 5)
    if len(parts) < 6:
        raise _Untranslatable(
            "expected five time fields (minute hour day-of-month month day-of-week) and a command"
        )
    if _NUMERIC_FIELD.fullmatch(parts[5].split()[0]):
        raise _Untranslatable(
            "six or more time fields (seconds or years?); cron takes exactly five: "
            "minute hour day-of-month month day-of-week"
        )
    _check_fields(parts[:5])
    return " ".join(parts[:5]), parts[5]


def _check_fields(fields: list[str]) -> None:
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for element in value.split(","):
            _check_element(element, name, low, high, names)
    expression = " ".join(fields)
    if not croniter.is_valid(expression):  # croniter is the one source of cron semantics
        raise _Untranslatable(f"croniter rejects {expression!r}")
    try:
        croniter(expression, datetime(*START_DATE)).get_next(datetime)
    except CroniterBadDateError:
        raise _Untranslatable(f"{expression!r} never fires (e.g. 30 February)") from None


def _check_element(element: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    match = _ELEMENT.fullmatch(element)
    if not match:
        raise _Untranslatable(
            f"{name} field {element!r} is not cron syntax; use numbers, names, *, ',', '-', '/'"
        )
    values = [_field_value(v, name, low, high, names) for v in match.group("low", "high") if v]
    if len(values) == 2 and values[0] > values[1]:
        top = 6 if names is _DAYS else high  # 7 is Sunday again
        raise _Untranslatable(
            f"{name} range {element!r} runs backwards; split it, e.g. "
            f"{values[0]}-{top},{low}-{values[1]}"
        )
    step = match["step"]
    if step is not None and int(step) == 0:
        raise _Untranslatable(f"{name} step {element!r} is 0; step by 1 or more, e.g. */5")
    if step is not None and len(values) == 1:
        raise _Untranslatable(
            f"{name} step {element!r} needs * or a range before the /, "
            f"e.g. {values[0]}-{high}/{step}"
        )


def _field_value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    if text.lower() in names:
        return names.index(text.lower()) + low
    allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
    problem = "is out of range" if text.isdigit() else f"is not a {name}"
    raise _Untranslatable(f"{name} {text!r} {problem}; use {allowed}")


def _command_words(command: str) -> list[str]:
    """Up to two words naming what `command` runs, for ids: its program and first argument."""
    for segment in re.split(r"&&|\|\||[;|&]", command):
        words = [w for w in segment.split() if not re.match(r"[-<>0-9+]|.*=", w)]
        if not words or words[0] in ("cd", "export", "source", "."):
            continue
        while len(words) > 1 and Path(words[0]).name in _WRAPPERS:
            words.pop(0)
        found = [Path(words[0]).name.split(".")[0]]
        if len(words) > 1 and re.fullmatch(r"[A-Za-z][\w.-]*", words[1]):
            found.append(words[1].split(".")[0])
        slugs = [re.sub(r"[^a-z0-9]+", "_", w.lower()).strip("_")[:30] for w in found]
        return [s for s in slugs if s]
    return []
