"""Schedules on assets: the condition a spec keeps (`{"datasets": [...], "condition": ...}`),
what it waits for and when it holds, and the timetables of asset schedules (never on time) and
of `AssetOrTimeSchedule` (on time, as its inner schedule says). Pure functions of plain data;
which asset events exist is the scheduler's business (`scheduling.dataset_triggers`).

A condition is a uri (that asset was updated), `{"alias": name}` (an event arrived through
the alias, or an asset it stood for was updated), `{"all": [...]}` or `{"any": [...]}`. A spec
written before conditions existed holds `{"datasets": [uri, ...]}`: all of them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from flowtui.scheduling.timetables.base import DataInterval, NullTimetable, RunInfo, Timetable


def asset_condition(schedule: object) -> Any | None:
    """The condition of an asset schedule (a spec's, or its JSON read back); None for any
    other schedule."""
    if not isinstance(schedule, dict) or not isinstance(schedule.get("datasets"), list):
        return None
    if "condition" in schedule:
        return schedule["condition"]
    return {"all": [str(uri) for uri in schedule["datasets"]]}


def condition_leaves(condition: Any) -> tuple[list[str], list[str]]:
    """The uris and the alias names a condition names, each once, in order."""
    uris: dict[str, None] = {}
    aliases: dict[str, None] = {}
    todo = [condition]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            uris[item] = None
        elif isinstance(item, dict) and "alias" in item:
            aliases[str(item["alias"])] = None
        elif isinstance(item, dict):
            todo.extend(reversed(item.get("all") or item.get("any") or []))
    return list(uris), list(aliases)


def condition_holds(condition: Any, uris: Collection[str], aliases: Collection[str]) -> bool:
    """Whether `condition` holds when the assets `uris` and the aliases `aliases` were updated
    (since the DAG's previous asset-triggered run)."""
    if isinstance(condition, str):
        return condition in uris
    if "alias" in condition:
        return str(condition["alias"]) in aliases
    if "all" in condition:
        return all(condition_holds(c, uris, aliases) for c in condition["all"])
    return any(condition_holds(c, uris, aliases) for c in condition.get("any", ()))


def describe_condition(condition: Any) -> str:
    """`a, b` for all of some uris, else the condition in Airflow's operators:
    `a & (b | alias:c)`."""
    if isinstance(condition, dict) and all(isinstance(c, str) for c in condition.get("all", [0])):
        return ", ".join(condition["all"])
    return _expression(condition, nested=False)


def _expression(condition: Any, *, nested: bool) -> str:
    if isinstance(condition, str):
        return condition
    if "alias" in condition:
        return f"alias:{condition['alias']}"
    key, joiner = ("all", " & ") if "all" in condition else ("any", " | ")
    text = joiner.join(_expression(c, nested=True) for c in condition[key])
    return f"({text})" if nested and len(condition[key]) > 1 else text


class AssetTimetable(NullTimetable):
    """``schedule=[Asset(...)]``, ``a | b``, ``a & b``, an alias: runs are created when the
    condition holds, never on time."""

    def __init__(self, condition: Any) -> None:
        self.condition = condition

    @property
    def description(self) -> str:
        return "when updated: " + describe_condition(self.condition)


class AssetOrTimeTimetable(Timetable):
    """``AssetOrTimeSchedule``: the runs of its time schedule, and (created by the scheduler)
    a run whenever its condition holds."""

    def __init__(self, timetable: Timetable, condition: Any) -> None:
        self.timetable = timetable
        self.condition = condition

    def next_run(
        self, last: DataInterval | None, *, now: datetime, catchup: bool
    ) -> RunInfo | None:
        return self.timetable.next_run(last, now=now, catchup=catchup)

    def infer_manual_interval(self, logical_date: datetime) -> DataInterval:
        return self.timetable.infer_manual_interval(logical_date)

    def runs_between(self, start: datetime, end: datetime) -> list[RunInfo]:
        return self.timetable.runs_between(start, end)

    @property
    def description(self) -> str:
        when = describe_condition(self.condition)
        return f"{self.timetable.description}, or when updated: {when}"
