"""Task groups (`flowtui.authoring.task_group`): ids with their groups' prefixes, default_args
merged, roots and leaves in `>>`, `@task_group` numbering, children, and the one-line refusals."""

from __future__ import annotations

import pytest

from flowtui import DAG, EmptyOperator, TaskGroup, task, task_group
from flowtui.authoring.xcom_arg import XComArg
from flowtui.errors import DuplicateGroupId, DuplicateTaskId, InvalidArgument, InvalidId
from flowtui.loading.serialization import dag_spec


def _upstream(dag: DAG) -> dict[str, list[str]]:
    return {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}


def test_task_ids_carry_the_prefixes_of_their_groups() -> None:
    with DAG("ids") as dag:
        EmptyOperator(task_id="top")
        with TaskGroup("outer") as outer:
            EmptyOperator(task_id="a")
            with TaskGroup("inner") as inner:
                EmptyOperator(task_id="b")
            with TaskGroup("flat", prefix_group_id=False) as flat:
                EmptyOperator(task_id="c")
                with TaskGroup("deeper"):
                    EmptyOperator(task_id="d")
        EmptyOperator(task_id="e", task_group=inner)
    assert dag.task_ids == ["top", "outer.a", "outer.inner.b", "c", "deeper.d", "outer.inner.e"]
    assert (outer.group_id, inner.group_id, flat.group_id) == ("outer", "outer.inner", "outer.flat")
    assert inner.label == "inner"
    assert inner.parent_group is outer
    assert list(outer.children) == ["outer.a", "outer.inner", "outer.flat"]
    assert outer.get_child_by_label("a") is dag.get_task("outer.a")
    assert [t.task_id for t in outer] == [
        "outer.a",
        "outer.inner.b",
        "outer.inner.e",
        "c",
        "deeper.d",
    ]
    assert dag.get_task("outer.inner.b").task_group is inner  # type: ignore[attr-defined]
    assert list(dag.task_group.children) == ["top", "outer"]
    assert set(dag.task_group_dict) == {"outer", "outer.inner", "outer.flat", "deeper"}
    groups = {t: spec.task_groups for t, spec in dag_spec(dag, "ids.py").tasks.items()}
    assert groups == {  # what the dashboard groups by: no dotted id says "c" is in outer.flat
        "top": (),
        "outer.a": ("outer",),
        "outer.inner.b": ("outer", "outer.inner"),
        "c": ("outer", "outer.flat"),
        "deeper.d": ("outer", "outer.flat", "deeper"),
        "outer.inner.e": ("outer", "outer.inner"),
    }


def test_default_args_of_a_group_come_over_the_dags_and_under_the_task() -> None:
    with DAG("defaults", default_args={"retries": 1, "pool": "dag_pool"}) as dag:
        with TaskGroup("g", default_args={"retries": 2, "priority_weight": 5}):
            EmptyOperator(task_id="a")
            EmptyOperator(task_id="own", retries=0)
            with TaskGroup("h", default_args={"priority_weight": 9}):
                EmptyOperator(task_id="b")
        EmptyOperator(task_id="outside")
    seen = {t.task_id: (t.retries, t.pool, t.priority_weight) for t in dag.tasks}  # type: ignore[attr-defined]
    assert seen == {
        "g.a": (2, "dag_pool", 5),
        "g.own": (0, "dag_pool", 5),
        "g.h.b": (2, "dag_pool", 9),
        "outside": (1, "dag_pool", 1),
    }


def test_a_group_stands_for_its_roots_and_leaves_in_dependencies() -> None:
    with DAG("edges") as dag:
        start, other = EmptyOperator(task_id="start"), EmptyOperator(task_id="other")
        with TaskGroup("one") as one:
            a, b, c = (EmptyOperator(task_id=name) for name in "abc")
            a >> [b, c]
        with TaskGroup("two") as two:
            d, e = EmptyOperator(task_id="d"), EmptyOperator(task_id="e")
            d >> e
        end = EmptyOperator(task_id="end")
        [start, other] >> one >> two
        end << two
    assert [t.task_id for t in one.roots] == ["one.a"]
    assert [t.task_id for t in one.leaves] == ["one.b", "one.c"]
    assert _upstream(dag) == {
        "start": [],
        "other": [],
        "one.a": ["other", "start"],
        "one.b": ["one.a"],
        "one.c": ["one.a"],
        "two.d": ["one.b", "one.c"],
        "two.e": ["two.d"],
        "end": ["two.e"],
    }


def test_task_group_numbers_a_second_call_and_forwards_what_it_returns() -> None:
    with DAG("decorated") as dag:

        @task
        def source() -> int:
            return 1

        @task_group
        def work(value: XComArg) -> XComArg:
            @task
            def step(n: int) -> int:
                return n

            return step(step(value))

        @task_group(group_id="side", default_args={"retries": 4})
        def side() -> None:
            @task
            def lone() -> None:
                pass

            lone()

        first = work(source())
        second = work(first)
        group = side()
        third = work.override(group_id="renamed")(second)
    assert isinstance(first, XComArg)
    assert first.operator.task_id == "work.step__1"
    assert isinstance(group, TaskGroup)
    assert group.group_id == "side"
    assert dag.get_task("side.lone").retries == 4
    assert dag.task_ids == [
        "source",
        "work.step",
        "work.step__1",
        "work__1.step",
        "work__1.step__1",
        "side.lone",
        "renamed.step",
        "renamed.step__1",
    ]
    assert sorted(dag.get_task("work__1.step").upstream_task_ids) == ["work.step__1"]
    assert third.operator.task_id == "renamed.step__1"


def test_a_task_group_with_add_suffix_on_collision_numbers_its_id() -> None:
    with DAG("suffix") as dag:
        for _ in range(3):
            with TaskGroup("g", add_suffix_on_collision=True):
                EmptyOperator(task_id="t")
    assert dag.task_ids == ["g.t", "g__1.t", "g__2.t"]


@pytest.mark.parametrize("bad", ["a.b", "has space", ""])
def test_a_group_id_with_a_dot_or_other_characters_is_refused(bad: str) -> None:
    with DAG("bad_group"), pytest.raises(InvalidId) as info:
        TaskGroup(bad)
    assert str(info.value).startswith(f"DAG 'bad_group': group_id {bad!r} is not valid")
    assert "\n" not in str(info.value)


def test_a_task_id_may_hold_a_dot_outside_a_group_as_in_airflow() -> None:
    with DAG("dots") as dag:
        EmptyOperator(task_id="load.orders")
        with TaskGroup("g"):
            EmptyOperator(task_id="x.y")
    assert dag.task_ids == ["load.orders", "g.x.y"]
    with DAG("dots"), pytest.raises(InvalidId) as info:
        EmptyOperator(task_id="bad id")
    assert str(info.value) == (
        "DAG 'dots': task_id 'bad id' is not valid; use only letters, digits, '_', '.' and '-' "
        "(at most 250 characters, not '.' or '..')"
    )


def test_a_duplicate_group_id_is_refused_in_one_line() -> None:
    with DAG("dup"):
        TaskGroup("g")
        with pytest.raises(DuplicateGroupId) as info:
            TaskGroup("g")
        EmptyOperator(task_id="t")
        with pytest.raises(DuplicateGroupId):
            TaskGroup("t")
    assert str(info.value) == (
        "DAG 'dup': group_id 'g' is used twice (by a task group or a task); give each its own "
        "id, or pass add_suffix_on_collision=True"
    )
    with DAG("dup_task"):
        with TaskGroup("g", prefix_group_id=False):
            pass
        with pytest.raises(DuplicateTaskId):
            EmptyOperator(task_id="g")


def test_a_task_group_outside_a_dag_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="a TaskGroup belongs to a DAG"):
        TaskGroup("alone")
