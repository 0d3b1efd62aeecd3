"""Airflow 2's names for assets, which Airflow 3 keeps as aliases: `Dataset` is `Asset`
(`Dataset("s3://x")` names it by its uri), `DatasetAlias`, `DatasetAll`, `DatasetAny` and
`DatasetOrTimeSchedule` (which takes `datasets=`) are their Asset namesakes
(`flowtui.authoring.assets`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flowtui.authoring.assets import Asset, AssetAlias, AssetAll, AssetAny, AssetOrTimeSchedule

Dataset = Asset
DatasetAlias = AssetAlias
DatasetAll = AssetAll
DatasetAny = AssetAny


class DatasetOrTimeSchedule(AssetOrTimeSchedule):
    """`AssetOrTimeSchedule` under Airflow 2's name, whose assets are `datasets=`."""

    __slots__ = ()

    def __init__(self, *, timetable: str | timedelta, datasets: Any) -> None:
        super().__init__(timetable=timetable, assets=datasets)


__all__ = ["Dataset", "DatasetAlias", "DatasetAll", "DatasetAny", "DatasetOrTimeSchedule"]
