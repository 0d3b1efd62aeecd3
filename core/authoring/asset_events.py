"""Asset events in a task's context, as Airflow 3 gives them: `outlet_events[asset].extra` (a
dict the task fills, stored with the event its success records),
`outlet_events[AssetAlias(...)].add(asset, extra=...)` (an event attached to an alias at run
time), and `inlet_events[asset]` (the events of one of the task's inlets, oldest first, read
from the store on first use). Recording the events is the scheduler's job, from the outcome's
`asset_events`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowtui.authoring.assets import Asset, AssetAlias
from flowtui.clock import in_utc, parse_datetime
from flowtui.records import FrozenRecord

if TYPE_CHECKING:
    from flowtui.store.access import StoreReader

AssetEventRow = tuple[str, dict[str, Any] | None, tuple[str, ...]]
"""(uri, extra or None, names of the aliases it came through): one event to record."""


class OutletEventAccessor:
    """`outlet_events[key]`: the `extra` of the event of an outlet asset, or, for an alias,
    the assets `add` attached to it."""

    __slots__ = ("asset_alias_events", "extra", "key")

    def __init__(self, key: Asset | AssetAlias) -> None:
        self.key = key
        self.extra: dict[str, Any] = {}
        self.asset_alias_events: list[tuple[Asset, dict[str, Any]]] = []

    def __repr__(self) -> str:
        return f"OutletEventAccessor(key={self.key!r}, extra={self.extra!r})"

    def add(self, asset: Asset, extra: dict[str, Any] | None = None) -> None:
        """Attach an event of `asset` to this alias (Airflow ignores it on an asset's key)."""
        if not isinstance(asset, Asset):
            raise TypeError(f"outlet_events[...].add() takes an Asset, got {asset!r}")
        if isinstance(self.key, AssetAlias):
            self.asset_alias_events.append((asset, dict(extra or {})))


class OutletEventAccessors(Mapping[Asset | AssetAlias, OutletEventAccessor]):
    """Context key `outlet_events`: an accessor for any asset or alias, made on first use."""

    def __init__(self) -> None:
        self._accessors: dict[Asset | AssetAlias, OutletEventAccessor] = {}

    def __getitem__(self, key: Asset | AssetAlias) -> OutletEventAccessor:
        if not isinstance(key, Asset | AssetAlias):
            raise TypeError(f"outlet_events takes an Asset or an AssetAlias, got {key!r}")
        if key not in self._accessors:
            self._accessors[key] = OutletEventAccessor(key)
        return self._accessors[key]

    def __iter__(self) -> Iterator[Asset | AssetAlias]:
        return iter(self._accessors)

    def __len__(self) -> int:
        return len(self._accessors)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> OutletEventAccessor:
        return self[Asset(name, uri)]

    def for_asset_alias(self, *, name: str) -> OutletEventAccessor:
        return self[AssetAlias(name)]

    def events(self, outlets: Sequence[Any]) -> tuple[AssetEventRow, ...]:
        """The events a success of a task with `outlets` records: one per outlet asset (with
        the extra the task gave it), and one per (asset, extra) added to an outlet alias, which
        joins an outlet's event of the same asset and extra.

        Raises:
            TypeError: an extra is not JSON (it is stored as JSON).
        """
        found: dict[tuple[str, str], tuple[str, dict[str, Any] | None, list[str]]] = {}
        for outlet in outlets:
            if isinstance(outlet, Asset):
                accessor = self._accessors.get(outlet)
                extra = dict(accessor.extra) if accessor and accessor.extra else None
                found.setdefault((outlet.uri, _json(outlet, extra or {})), (outlet.uri, extra, []))
        for outlet in outlets:
            accessor = self._accessors.get(outlet) if isinstance(outlet, AssetAlias) else None
            for asset, extra in accessor.asset_alias_events if accessor else ():
                key = (asset.uri, _json(asset, extra))
                event = found.setdefault(key, (asset.uri, extra or None, []))
                if outlet.name not in event[2]:
                    event[2].append(outlet.name)
        return tuple((uri, extra, tuple(aliases)) for uri, extra, aliases in found.values())


def _json(asset: Asset, extra: dict[str, Any]) -> str:
    try:
        return json.dumps(extra, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the extra of the event of {asset.uri!r} is not JSON: {exc}") from None


class AssetEvent(FrozenRecord):
    """One stored event of an asset, as `inlet_events[asset]` lists it (Airflow's
    AssetEventResult, without the map index flowtui does not have)."""

    __slots__ = _fields = (
        "id",
        "asset",
        "extra",
        "timestamp",
        "source_dag_id",
        "source_task_id",
        "source_run_id",
        "source_aliases",
    )
    id: int
    asset: Asset
    extra: dict[str, Any]
    timestamp: datetime
    source_dag_id: str | None
    source_task_id: str | None
    source_run_id: str | None
    source_aliases: list[AssetAlias]

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    @property
    def uri(self) -> str:
        return self.asset.uri

    @property
    def source_map_index(self) -> int:
        return -1


class InletEventsAccessors(Mapping[Any, list[AssetEvent]]):
    """Context key `inlet_events`: for each asset or alias among the task's inlets (or an
    index into them), its events, oldest first; an empty list when it has none. Another key is
    a KeyError, as in Airflow."""

    def __init__(self, inlets: Sequence[Any], connect: Callable[[], StoreReader | None]) -> None:
        self._inlets = list(inlets)
        self._connect = connect
        self._cache: dict[Asset | AssetAlias, list[AssetEvent]] = {}

    def __getitem__(self, key: Any) -> list[AssetEvent]:
        item = self._inlets[key] if isinstance(key, int) else key
        if not isinstance(item, Asset | AssetAlias):
            raise TypeError(f"inlet_events takes an Asset, an AssetAlias or an index: {key!r}")
        if item not in self._inlets:
            raise KeyError(f"{item!r} is not among the task's inlets; add it to inlets=[...]")
        if item not in self._cache:
            self._cache[item] = self._read(item)
        return self._cache[item]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)

    def _read(self, item: Asset | AssetAlias) -> list[AssetEvent]:
        conn = self._connect()
        if conn is None:
            return []
        columns = "e.id, e.uri, e.dag_id, e.task_id, e.run_id, e.ts, e.extra"
        if isinstance(item, Asset):
            query = f"SELECT {columns} FROM dataset_events e WHERE e.uri = ? ORDER BY e.id"
            arg = item.uri
        else:
            query = (
                f"SELECT {columns} FROM dataset_events e JOIN dataset_alias_events a "
                "ON a.event_id = e.id WHERE a.alias = ? ORDER BY e.id"
            )
            arg = item.name
        try:
            rows = conn.execute(query, (arg,)).fetchall()
            aliases = _aliases_of(conn, [row[0] for row in rows])
        except sqlite3.OperationalError:  # a store that was never migrated
            return []
        return [
            AssetEvent(
                row[0],
                item if isinstance(item, Asset) else Asset(uri=row[1]),
                json.loads(row[6]) if row[6] else {},
                in_utc(parse_datetime(row[5])),
                row[2],
                row[3],
                row[4],
                [AssetAlias(name) for name in aliases.get(row[0], ())],
            )
            for row in rows
        ]


def _aliases_of(conn: StoreReader, event_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for start in range(0, len(event_ids), 500):  # SQLite's limit on parameters
        chunk = event_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for event_id, alias in conn.execute(
            "SELECT event_id, alias FROM dataset_alias_events "
            f"WHERE event_id IN ({marks}) ORDER BY alias",
            chunk,
        ):
            found.setdefault(event_id, []).append(alias)
    return found
