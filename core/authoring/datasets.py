"""Airflow 2's names for assets, which Airflow 3 keeps as aliases: `Dataset` is `Asset`
(`Dataset("s3://x")` names it by its uri), `DatasetAlias`, `DatasetAll`, `DatasetAny` and
`DatasetOrTimeSchedule` are their Asset namesakes (`flowtui.authoring.assets`)."""

from __future__ import annotations

from flowtui.authoring.assets import Asset, AssetAlias, AssetAll, AssetAny, AssetOrTimeSchedule

Dataset = Asset
DatasetAlias = AssetAlias
DatasetAll = AssetAll
DatasetAny = AssetAny
DatasetOrTimeSchedule = AssetOrTimeSchedule

__all__ = ["Dataset", "DatasetAlias", "DatasetAll", "DatasetAny", "DatasetOrTimeSchedule"]
