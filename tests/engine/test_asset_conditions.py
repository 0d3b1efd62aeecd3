"""Assets as values and as schedules, in process: Airflow 3's defaults and equality, `|` and
`&` into AnyOf/AllOf, what a DAG's spec keeps of each kind of asset schedule (an old plain list
unchanged), and when a kept condition holds."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flowtui import DAG, Asset, AssetAlias, AssetAll, AssetAny, AssetOrTimeSchedule, Dataset
from flowtui.authoring.operators import EmptyOperator
from flowtui.errors import InvalidArgument
from flowtui.loading.serialization import dag_spec
from flowtui.scheduling.timetables.assets import (
    AssetOrTimeTimetable,
    AssetTimetable,
    asset_condition,
    condition_holds,
    condition_leaves,
)
from flowtui.scheduling.timetables.factory import timetable


def test_name_and_uri_default_to_each_other_and_identify_the_asset() -> None:
    by_uri = Asset(uri="s3://a")
    assert (by_uri.name, by_uri.uri, by_uri.group, by_uri.extra) == (
        "s3://a",
        "s3://a",
        "asset",
        {},
    )
    assert Asset("orders").uri == "orders"  # the first positional argument is the name
    named = Asset("orders", "s3://a", extra={"owner": "x"})
    assert named == Asset(name="orders", uri="s3://a")
    assert named != by_uri
    assert len({named, Asset("orders", "s3://a"), by_uri}) == 2
    assert Dataset is Asset
    assert Dataset("s3://a") == by_uri


@pytest.mark.parametrize(
    "make",
    [lambda: Asset(), lambda: Asset(""), lambda: Asset(uri="airflow://x"), lambda: Asset(" ")],
)
def test_an_asset_without_a_usable_name_or_uri_is_refused(make: object) -> None:
    with pytest.raises(InvalidArgument):
        make()  # type: ignore[operator]


def test_or_and_and_build_flat_conditions_that_nest() -> None:
    a, b, c = Asset("a"), Asset("b"), Asset("c")
    assert a | b | c == AssetAny(a, b, c)
    assert a & b & c == AssetAll(a, b, c)
    mixed = (a | b) & c
    assert mixed == AssetAll(AssetAny(a, b), c)
    assert mixed.as_expression() == {"all": [{"any": ["a", "b"]}, "c"]}
    assert (a | AssetAlias("x")).as_expression() == {"any": ["a", {"alias": "x"}]}


def _spec_schedule(schedule: object) -> object:
    with DAG("d", schedule=schedule, start_date=datetime(2024, 1, 1)) as dag:
        EmptyOperator(task_id="t")
    return dag_spec(dag, "d.py").schedule


def test_a_spec_keeps_a_plain_list_as_before_and_a_condition_beside_it() -> None:
    a, b = Asset("a", "s3://a"), Dataset("s3://b")
    assert _spec_schedule([a, b]) == {"datasets": ["s3://a", "s3://b"]}
    assert _spec_schedule(a) == {"datasets": ["s3://a"]}
    assert _spec_schedule(a | AssetAlias("x")) == {
        "datasets": ["s3://a", "alias:x"],
        "condition": {"any": ["s3://a", {"alias": "x"}]},
    }
    both = AssetOrTimeSchedule(timetable=timedelta(hours=1), assets=[a, b | a])
    assert _spec_schedule(both) == {
        "datasets": ["s3://a", "s3://b"],
        "condition": {"all": ["s3://a", {"any": ["s3://b", "s3://a"]}]},
        "timetable": {"timedelta": 3600.0},
    }


def test_a_bad_schedule_names_what_it_takes() -> None:
    with pytest.raises(InvalidArgument, match="AssetOrTimeSchedule"):
        _spec_schedule([Asset("a"), "s3://b"])
    with pytest.raises(InvalidArgument, match="needs a start_date"):
        DAG("d", schedule=AssetOrTimeSchedule(timetable="@daily", assets=Asset("a")))


def test_a_condition_holds_as_airflow_evaluates_it() -> None:
    condition = asset_condition(
        {"datasets": [], "condition": {"all": [{"any": ["a", {"alias": "x"}]}, "c"]}}
    )
    assert condition_leaves(condition) == (["a", "c"], ["x"])
    assert not condition_holds(condition, {"a"}, set())
    assert condition_holds(condition, {"a", "c"}, set())
    assert condition_holds(condition, {"c"}, {"x"})
    assert asset_condition({"datasets": ["a", "b"]}) == {"all": ["a", "b"]}
    assert asset_condition("@daily") is None


def test_asset_schedules_get_their_timetables() -> None:
    from flowtui.spec import DagSpec

    plain = timetable(DagSpec("d", "d.py", schedule={"datasets": ["a", "b"]}))
    assert isinstance(plain, AssetTimetable)
    assert plain.description == "when updated: a, b"
    either = {"datasets": ["a"], "condition": {"any": ["a", {"alias": "x"}]}, "timetable": "@daily"}
    table = timetable(DagSpec("d", "d.py", schedule=either, start_date="2024-01-01T00:00:00+00:00"))
    assert isinstance(table, AssetOrTimeTimetable)
    assert table.description.endswith(", or when updated: a | alias:x")
    now = datetime.fromisoformat("2024-03-05T12:00:00+00:00")
    info = table.next_run(None, now=now, catchup=False)
    assert info is not None
    assert info.logical_date == datetime.fromisoformat("2024-03-04T00:00:00+00:00")
