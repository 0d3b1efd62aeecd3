"""`@asset`, Airflow 3's asset-first way to write a DAG: the function becomes a DAG and its one
task, both named after it, whose outlet is the asset of the same name; the decorator returns
that asset, so other DAGs and assets can be scheduled on it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from flowtui.authoring.assets import Asset, AssetOrTimeSchedule, BaseAsset
from flowtui.authoring.dag import DAG
from flowtui.authoring.operators import PythonOperator
from flowtui.errors import InvalidArgument


class AssetDefinition(Asset):
    """The asset an `@asset` function makes; calling it is not how it runs (the scheduler runs
    its DAG), so it keeps the function as `function`."""

    __slots__ = ("function",)
    function: Callable[..., Any]


def asset(
    *,
    schedule: Any,
    uri: str | None = None,
    name: str | None = None,
    group: str = "asset",
    extra: dict[str, Any] | None = None,
    **dag_kwargs: Any,
) -> Callable[[Callable[..., Any]], AssetDefinition]:
    """Make the decorated function an asset with a DAG (`dag_id` and `task_id` = its name) that
    produces it on `schedule`.

    The function's parameters are filled as in Airflow: `self` is the asset, `context` the task
    context, and any other name is the asset of that name (one of `schedule`'s, else
    `Asset(name)`: flowtui keeps no catalogue of assets to look names up in), which becomes an
    inlet of the task (so `inlet_events[...]` has its events). Its return value is XCom
    `return_value`.

    Args:
        schedule: when the DAG runs (any flowtui schedule, e.g. another asset).
        uri: the asset's uri; defaults to its name.
        name: the asset's name; defaults to the function's name.
        group, extra: as in `Asset`.
        dag_kwargs: other arguments of the DAG (start_date, catchup, tags, ...).
    """

    def decorate(function: Callable[..., Any]) -> AssetDefinition:
        if not callable(function):
            raise InvalidArgument("@asset", f"decorates a function, got {function!r}")
        asset_name = name or function.__name__
        definition = AssetDefinition(asset_name, uri, group=group, extra=extra)
        object.__setattr__(definition, "function", function)
        wanted = list(inspect.signature(function).parameters)
        named = {a.name: a for a in _assets_of(schedule)}
        inlets = {p: named.get(p) or Asset(p) for p in wanted if p not in ("self", "context")}

        def produce(**context: Any) -> Any:
            given = {"self": definition, "context": context, **inlets}
            return function(**{p: given[p] for p in wanted})

        with DAG(asset_name, schedule=schedule, **dag_kwargs):
            PythonOperator(
                task_id=asset_name,
                python_callable=produce,
                outlets=[definition],
                inlets=list(inlets.values()),
            )
        return definition

    return decorate


def _assets_of(schedule: Any) -> list[Asset]:
    if isinstance(schedule, AssetOrTimeSchedule):
        schedule = schedule.assets
    if isinstance(schedule, list | tuple):
        return [a for item in schedule if isinstance(item, BaseAsset) for a in item.iter_assets()]
    return list(schedule.iter_assets()) if isinstance(schedule, BaseAsset) else []
