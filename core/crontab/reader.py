"""Reading a crontab (`crontab -l` output) with cron's own rules into entries, for
`flowtui crontab import` (`writer.py` writes the DAG files). Which times a schedule fires at
stays croniter's business; `flowtui.cron.check_fields(as_cron=True)` checks that cron and
croniter read each line the same way.

Decisions (README, "From cron to flowtui"):

- Time zone: cron fires in the system time zone, so each DAG's `start_date` carries it: the
  zone of the last `CRON_TZ=` (else `TZ=`) line above the entry, else the IANA name that
  /etc/localtime links to, else /etc/timezone, else UTC.
- `%`: an unescaped `%` ends the command and the rest becomes its stdin, each further `%` a
  newline; `\\%` is a literal `%`. The stdin is fed as a quoted heredoc to the whole command.
- Schedules are written as given: the five fields (joined by single spaces) or the nickname.
- dag_id: `cron_<line number>_<program and first argument>`, e.g. `cron_03_backup_db`.
- Environment lines apply to the entries below them (as in cron) and become the operator's
  `env` with `append_env=True`; `MAILTO` becomes `email` + `email_on_failure` instead (a
  failure then mails it through `[smtp]`, as cron mailed a failing job's output).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowtui.cron import PRESETS, check_fields

START_DATE = (2024, 1, 1)
"""A fixed past date: with catchup=False the first run is simply the next cron time."""

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
        if nickname not in PRESETS:  # cron's nicknames are Airflow's presets
            raise _Untranslatable(f"unknown nickname {nickname!r}; use one of {', '.join(PRESETS)}")
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
    problem = check_fields(parts[:5], as_cron=True)
    if problem:
        raise _Untranslatable(problem)
    return " ".join(parts[:5]), parts[5]


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
