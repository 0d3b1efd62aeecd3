"""Checking what a DAG file passes to `DAG(...)` and to operators: ids, durations, whole
numbers, callbacks, trigger rules and dates. Each check returns the value in the form flowtui
keeps, or raises a one-line `DagDefinitionError` naming the DAG and task."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from flowtui.clock import parse_datetime
from flowtui.errors import InvalidArgument, InvalidId, UnknownTriggerRule
from flowtui.executor_config import TASK_EXECUTORS
from flowtui.states import TriggerRule, parse_trigger_rule

_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")
_GROUP_KEY = re.compile(r"[A-Za-z0-9_-]{1,250}")
"""A task group's own id: no '.', which joins a group's id to its children's (Airflow's rule;
a task's own id may hold one, as in Airflow)."""


def where(task_id: object, dag_id: str | None) -> str:
    """How error messages name a task: "DAG 'etl', task 'load'"."""
    return f"DAG {dag_id!r}, task {task_id!r}" if dag_id is not None else f"task {task_id!r}"


def check_id(kind: str, value: object, dag_id: str | None = None) -> str:
    """Return `value` if it is a valid id, else raise `InvalidId`: a dag_id or a task's id may
    hold a '.', a task group's own id may not (Airflow's rules)."""
    pattern = _GROUP_KEY if kind == "group_id" else _ID
    # "." and ".." would name the log folder's own or parent folder (logs/<dag_id>/...).
    if not isinstance(value, str) or not pattern.fullmatch(value) or value in (".", ".."):
        raise InvalidId(kind, value, dag_id)
    return value


def to_timedelta(value: object, place: str, name: str) -> timedelta | None:
    """Accept a timedelta or a number of seconds (>= 0), or None; raise `InvalidArgument`."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise InvalidArgument(
            place, f"{name} must be a timedelta or a number of seconds >= 0, got {value!r}"
        )
    return value


def check_whole_number(value: object, place: str, name: str, minimum: int) -> int:
    """Return `value` if it is an int >= `minimum`, else raise `InvalidArgument`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidArgument(place, f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


def callbacks(value: object, place: str, name: str) -> tuple[Callable[..., Any], ...]:
    """A callable or a list of them, as a tuple (one shared empty tuple for none: an operator
    has four such arguments, and a 10,000-task DAG's empty lists made its fork server's heap,
    which every fork copies the page tables of, 2 MB larger); raise `InvalidArgument` for
    anything else."""
    if value is None:
        return ()
    items = tuple(value) if isinstance(value, list | tuple) else (value,)
    if not all(callable(item) for item in items):
        raise InvalidArgument(place, f"{name} must be a callable or a list of callables")
    return items


def email_addresses(value: object, place: str, name: str = "email") -> tuple[str, ...]:
    """Addresses from a string (several separated by commas or semicolons, as Airflow takes
    them), a list or tuple of strings, or None; raise `InvalidArgument` for anything else or
    for an item without an "@"."""
    if value is None:
        return ()
    items: list[object] = list(value) if isinstance(value, list | tuple) else [value]
    texts = [item for item in items if isinstance(item, str)]
    if len(texts) != len(items):
        raise InvalidArgument(place, f"{name} must be an address or a list of addresses")
    found = [a.strip() for item in texts for a in item.replace(";", ",").split(",")]
    addresses = tuple(a for a in found if a)
    bad = [a for a in addresses if "@" not in a or any(c.isspace() for c in a)]
    if bad:
        raise InvalidArgument(place, f"{name}: {bad[0]!r} is not an email address")
    return addresses


def check_trigger_rule(rule: object, task_id: str, dag_id: str | None) -> str:
    """Return the rule's name if it is one of Airflow's, else raise `UnknownTriggerRule`."""
    try:
        return str(parse_trigger_rule(str(rule)))
    except ValueError:
        raise UnknownTriggerRule(
            dag_id or "(none)", task_id, str(rule), list(TriggerRule)
        ) from None


def task_executor(name: object, place: str) -> str | None:
    """The executor a task's `executor=` names ("local" or "dask"), or None for the home's;
    raise `InvalidArgument` for a name flowtui has no executor for."""
    if name is None:
        return None
    if not isinstance(name, str) or name not in TASK_EXECUTORS:
        names = ", ".join(map(repr, TASK_EXECUTORS))
        raise InvalidArgument(place, f"unknown executor {name!r}; use one of: {names}")
    return TASK_EXECUTORS[name]


def to_datetime(value: object, place: str, name: str) -> datetime | None:
    """A datetime, date or ISO string as an aware datetime (naive means UTC), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            raise InvalidArgument(place, f"{name} {value!r} is not an ISO date") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise InvalidArgument(place, f"{name} must be a datetime, got {value!r}")
    # Naive means UTC, as in Airflow's default configuration; an aware one keeps its zone.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def timezone_name(tz: tzinfo | None, place: str) -> str:
    """The IANA name of `start_date`'s zone (or an Etc/GMT zone for a whole-hour offset)."""
    # zoneinfo, and pendulum's Timezone (a ZoneInfo), have `key`; pendulum's FixedTimezone has
    # only a `name` such as "+02:00", which is no zone name: it goes by its offset below.
    key = getattr(tz, "key", None) or getattr(tz, "name", None)
    if isinstance(key, str) and key and not key.startswith(("+", "-")):
        return key
    offset = tz.utcoffset(None) if tz is not None else timedelta(0)
    if offset == timedelta(0):
        return "UTC"
    if offset is not None and offset % timedelta(hours=1) == timedelta(0):
        return f"Etc/GMT{-(offset // timedelta(hours=1)):+d}"  # Etc/GMT signs are inverted
    raise InvalidArgument(
        place, "start_date has a time zone without a name; use zoneinfo.ZoneInfo('Area/City')"
    )
