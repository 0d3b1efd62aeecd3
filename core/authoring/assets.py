"""Assets (Airflow 3's name for datasets): `Asset`, `AssetAlias`, the conditions `AssetAny`
(`a | b`) and `AssetAll` (`a & b`, or a plain list), and `AssetOrTimeSchedule`. What a DAG file
writes in `schedule=`, `outlets=` and `inlets=`; `as_expression` turns a condition into the
plain data a spec keeps. When a condition holds is the scheduler's business
(`flowtui.scheduling.dataset_triggers`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flowtui.errors import InvalidArgument

_MAX_IDENTIFIER = 1500


def _identifier(kind: str, what: str, value: object) -> str:
    """Airflow's checks of a name, uri or group: a non-blank string of at most 1500 chars."""
    if not isinstance(value, str) or not value or value.isspace():
        raise InvalidArgument(kind, f"{what} must be a non-empty string, got {value!r}")
    if len(value) > _MAX_IDENTIFIER:
        raise InvalidArgument(kind, f"{what} is longer than {_MAX_IDENTIFIER} characters")
    return value


class BaseAsset:
    """What a schedule condition is made of; `|` and `&` combine two into AssetAny/AssetAll."""

    __slots__ = ()

    def __or__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(self, other)

    def __and__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(self, other)

    def iter_assets(self) -> Iterator[Asset]:
        """The assets the condition names, in order (an alias's are known only at run time)."""
        return iter(())

    def iter_asset_aliases(self) -> Iterator[AssetAlias]:
        return iter(())

    def as_expression(self) -> Any:
        """The condition as JSON: a uri, {"alias": name}, {"any": [...]}, {"all": [...]}."""
        raise NotImplementedError


class Asset(BaseAsset):
    """Data a task updates (`outlets`) and a DAG may be scheduled on, named by `name` and
    `uri` (Airflow 3: either gives the other when it is missing; the first positional argument
    is the name). Immutable; equal and hashed by (name, uri), as in Airflow; written by hand
    because `dataclasses` would double the cost of `import flowtui`.

    Args:
        name: the asset's name; defaults to `uri`.
        uri: where the data is; defaults to `name`. The scheme `airflow` is reserved.
        group: Airflow's grouping of assets ("asset").
        extra: static information about the asset (not an event's extra).
    """

    __slots__ = ("extra", "group", "name", "uri")
    name: str
    uri: str
    group: str
    extra: dict[str, Any]

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        *,
        group: str = "asset",
        extra: dict[str, Any] | None = None,
        watchers: list[Any] | None = None,
    ) -> None:
        kind = type(self).__name__
        if name is None and uri is None:
            raise InvalidArgument(kind, "give a name or a uri")
        name = _identifier(kind, "name", uri if name is None else name)
        uri = _identifier(kind, "uri", name if uri is None else uri)
        if uri.partition("://")[0].lower() == "airflow" and "://" in uri:
            raise InvalidArgument(kind, f"uri {uri!r}: the scheme 'airflow' is reserved")
        if watchers:
            raise InvalidArgument(kind, "watchers need Airflow's triggerer; flowtui has none")
        if extra is not None and not isinstance(extra, dict):
            raise InvalidArgument(kind, f"extra must be a dict, got {extra!r}")
        for field, value in (
            ("name", name),
            ("uri", uri),
            ("group", _identifier(kind, "group", group)),
            ("extra", dict(extra or {})),
        ):
            object.__setattr__(self, field, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"Asset(name={self.name!r}, uri={self.uri!r}, group={self.group!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Asset):
            return NotImplemented
        return (other.name, other.uri) == (self.name, self.uri)

    def __hash__(self) -> int:
        return hash((self.name, self.uri))

    def __fspath__(self) -> str:
        return self.uri

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.name, self.uri, self.group, self.extra))

    def iter_assets(self) -> Iterator[Asset]:
        yield self

    def as_expression(self) -> Any:
        return self.uri


def _rebuild(cls: type[Asset], name: str, uri: str, group: str, extra: dict[str, Any]) -> Asset:
    return cls(name, uri, group=group, extra=extra)


class AssetAlias(BaseAsset):
    """A name a task attaches asset events to at run time
    (`outlet_events[AssetAlias("x")].add(Asset(...))`); a DAG scheduled on it runs when an
    event arrives through it, and afterwards on updates of the assets it stood for."""

    __slots__ = ("group", "name")
    name: str
    group: str

    def __init__(self, name: str, *, group: str = "asset") -> None:
        object.__setattr__(self, "name", _identifier("AssetAlias", "name", name))
        object.__setattr__(self, "group", _identifier("AssetAlias", "group", group))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"AssetAlias is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"AssetAlias(name={self.name!r}, group={self.group!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetAlias):
            return NotImplemented
        return (other.name, other.group) == (self.name, self.group)

    def __hash__(self) -> int:
        return hash(("alias", self.name))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_alias, (self.name, self.group))

    def iter_asset_aliases(self) -> Iterator[AssetAlias]:
        yield self

    def as_expression(self) -> Any:
        return {"alias": self.name}


def _rebuild_alias(name: str, group: str) -> AssetAlias:
    return AssetAlias(name, group=group)


class _Condition(BaseAsset):
    __slots__ = ("objects",)
    _key = ""

    def __init__(self, *objects: BaseAsset) -> None:
        if not objects or not all(isinstance(o, BaseAsset) for o in objects):
            raise InvalidArgument(
                type(self).__name__, f"expects one or more assets or conditions, got {objects!r}"
            )
        self.objects = objects

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Condition) and (other._key, other.objects) == (
            self._key,
            self.objects,
        )

    def __hash__(self) -> int:
        return hash((self._key, self.objects))

    def iter_assets(self) -> Iterator[Asset]:
        for item in self.objects:
            yield from item.iter_assets()

    def iter_asset_aliases(self) -> Iterator[AssetAlias]:
        for item in self.objects:
            yield from item.iter_asset_aliases()

    def as_expression(self) -> Any:
        return {self._key: [item.as_expression() for item in self.objects]}


class AssetAny(_Condition):
    """Holds when any of its parts holds: `a | b`."""

    __slots__ = ()
    _key = "any"

    def __or__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(*self.objects, other)  # X | Y | Z is one AnyOf, as in Airflow


class AssetAll(_Condition):
    """Holds when every part holds: `a & b`, or a plain list in `schedule=`."""

    __slots__ = ()
    _key = "all"

    def __and__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(*self.objects, other)


class AssetOrTimeSchedule:
    """Runs on `timetable` (a cron string, preset or timedelta, or one of Airflow's interval
    timetables, which flowtui serves as those), and also whenever `assets` holds.

    Args:
        timetable: the time schedule.
        assets: an asset, alias, condition, or a list of them (meaning all).
    """

    __slots__ = ("assets", "timetable")

    def __init__(self, *, timetable: str | timedelta, assets: Any) -> None:
        if not isinstance(timetable, str | timedelta):
            raise InvalidArgument(
                "AssetOrTimeSchedule",
                f"timetable {timetable!r} is not one flowtui has; use a cron string, a "
                f"preset, a timedelta, CronDataIntervalTimetable or DeltaDataIntervalTimetable",
            )
        self.timetable = timetable
        self.assets = as_condition(assets, "AssetOrTimeSchedule")

    def __repr__(self) -> str:
        return f"AssetOrTimeSchedule(timetable={self.timetable!r}, assets={self.assets!r})"


def as_condition(value: Any, where: str) -> BaseAsset:
    """`value` as one condition: a list or tuple means all of its items (as in Airflow).

    Raises:
        InvalidArgument: `value` is neither an asset, alias, condition nor a list of them.
    """
    if isinstance(value, BaseAsset):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, BaseAsset) for v in value):
        return value[0] if len(value) == 1 else AssetAll(*value)
    raise InvalidArgument(where, f"{value!r} is not an asset, an alias, a condition or a list")
