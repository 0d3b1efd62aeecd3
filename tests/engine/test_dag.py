"""DAG authoring: dependencies, chain, default_args, validation errors and @dag."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flowtui import DAG, BashOperator, Dataset, EmptyOperator, chain, dag, task
from flowtui.authoring.dag import capture_dags
from flowtui.errors import (
    CrossDagDependency,
    DagCycle,
    DuplicateTaskId,
    InvalidArgument,
    InvalidId,
    TaskNotFound,
    TaskOutsideDag,
    UnknownTriggerRule,
)

START = datetime(2024, 1, 1)


def _noop() -> None:
    return None


def test_shift_operators_accept_lists_on_either_side() -> None:
    with DAG("deps") as d:
        a, b, c, e, f = (EmptyOperator(task_id=t) for t in "abcef")
        result = a >> [b, c]
        [b, c] >> e
        f << e
    assert result == [b, c]
    assert a.downstream_task_ids == {"b", "c"}
    assert e.upstream_task_ids == {"b", "c"}
    assert f.upstream_task_ids == {"e"}
    assert [t.task_id for t in d.roots] == ["a"]
    assert [t.task_id for t in d.leaves] == ["f"]


def test_shift_chains_return_the_right_operand() -> None:
    with DAG("line"):
        a, b, c, z = (EmptyOperator(task_id=t) for t in "abcz")
        assert (a >> b >> c) is c
        assert ([z] << a) is a  # list << task: the task runs first
    assert b.upstream_task_ids == {"a"}
    assert c.upstream_task_ids == {"b"}
    assert z.upstream_task_ids == {"a"}


def test_set_upstream_and_set_downstream() -> None:
    with DAG("sets"):
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        b.set_upstream(a)
        b.set_downstream([c])
    assert a.downstream_task_ids == {"b"}
    assert c.upstream_task_ids == {"b"}


def test_chain_with_lists_joins_pairwise_and_fans_out() -> None:
    with DAG("chained"):
        a, b1, b2, c1, c2, e = (
            EmptyOperator(task_id=t) for t in ("a", "b1", "b2", "c1", "c2", "e")
        )
        chain(a, [b1, b2], [c1, c2], e)
    assert a.downstream_task_ids == {"b1", "b2"}
    assert c1.upstream_task_ids == {"b1"}
    assert c2.upstream_task_ids == {"b2"}
    assert e.upstream_task_ids == {"c1", "c2"}


def test_chain_refuses_adjacent_lists_of_different_length() -> None:
    with DAG("bad_chain"):
        a, b, c = (EmptyOperator(task_id=t) for t in "abc")
        with pytest.raises(InvalidArgument, match="same length, got 2 and 1"):
            chain([a, b], [c])


def test_default_args_fill_only_what_the_task_did_not_say() -> None:
    defaults = {"retries": 3, "pool": "etl", "retry_delay": 10, "owner": "data", "unknown": 1}
    with DAG("defaults", default_args=defaults):
        implicit = EmptyOperator(task_id="implicit")
        explicit = EmptyOperator(task_id="explicit", retries=0, pool="other")
    assert (implicit.retries, implicit.pool, implicit.owner) == (3, "etl", "data")
    assert implicit.retry_delay == timedelta(seconds=10)
    assert (explicit.retries, explicit.pool) == (0, "other")
    with DAG("plain"):
        builtin = EmptyOperator(task_id="builtin")
    assert (builtin.retries, builtin.retry_delay) == (0, timedelta(minutes=5))


def test_default_args_reach_taskflow_tasks_and_subclass_arguments() -> None:
    with DAG("tf_defaults", default_args={"retries": 2, "env": {"A": "1"}}) as d:

        @task
        def t() -> None:
            return None

        t()
        BashOperator(task_id="b", bash_command="true")
    assert d.get_task("t").retries == 2
    assert d.get_task("b").env == {"A": "1"}  # type: ignore[attr-defined]


def test_duplicate_task_id_is_refused_when_added() -> None:
    with DAG("dup"):
        EmptyOperator(task_id="a")
        with pytest.raises(DuplicateTaskId) as info:
            EmptyOperator(task_id="a")
    assert str(info.value) == (
        "DAG 'dup': task id 'a' is used twice; give each task its own task_id"
    )


@pytest.mark.parametrize("bad", ["has space", "", "x" * 251, "ünï", ".", ".."])
def test_bad_ids_are_refused(bad: str) -> None:
    with pytest.raises(InvalidId, match="use only letters, digits"):
        DAG(bad)
    with DAG("ok"), pytest.raises(InvalidId, match=r"DAG 'ok': task_id"):
        EmptyOperator(task_id=bad)


def test_unknown_trigger_rule_names_dag_task_rule_and_choices() -> None:
    with DAG("rules"), pytest.raises(UnknownTriggerRule) as info:
        EmptyOperator(task_id="t", trigger_rule="all_sucess")
    message = str(info.value)
    assert message.startswith("DAG 'rules', task 't': unknown trigger_rule 'all_sucess'")
    assert "all_success" in message
    assert "none_failed_min_one_success" in message


def test_trigger_rule_changed_after_creation_is_checked_at_block_exit() -> None:
    late = DAG("late")
    with late:
        t = EmptyOperator(task_id="t")
    t.trigger_rule = "nope"
    with pytest.raises(UnknownTriggerRule, match="'nope'"):
        late.validate()


def test_cycle_message_names_the_cycle_in_order() -> None:
    loop = DAG("loop")
    with loop:
        a, b, c, e = (EmptyOperator(task_id=t) for t in "abce")
    e >> a >> b >> c >> a
    with pytest.raises(DagCycle) as info:
        loop.validate()
    assert str(info.value) == (
        "DAG 'loop' has a cycle: a >> b >> c >> a; remove one of these dependencies"
    )


def test_self_dependency_is_a_cycle() -> None:
    d = DAG("self_loop")
    with d:
        a = EmptyOperator(task_id="a")
    a >> a
    with pytest.raises(DagCycle, match="a >> a"):
        d.validate()


def test_long_chain_validates_without_recursion() -> None:
    with DAG("long"):
        chain(*(EmptyOperator(task_id=f"t{i}") for i in range(3000)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retries": -1}, "retries must be a whole number >= 0, got -1"),
        ({"retry_delay": "5m"}, "retry_delay must be a timedelta or a number of seconds"),
        ({"pool": ""}, "pool must be a non-empty string"),
        ({"pool_slots": 0}, "pool_slots must be a whole number >= 1, got 0"),
        ({"pool_slots": 1.5}, "pool_slots must be a whole number >= 1, got 1.5"),
        ({"on_failure_callback": 3}, "on_failure_callback must be a callable"),
        ({"colour": "red"}, "EmptyOperator takes no argument 'colour'"),
        ({"queue": ""}, "queue must be a non-empty string"),
        (
            {"executor": "CeleryExecutor"},
            "unknown executor 'CeleryExecutor'; use one of: 'local', 'dask', 'LocalExecutor', "
            "'DaskExecutor'$",
        ),
    ],
)
def test_bad_task_arguments(kwargs: dict[str, object], match: str) -> None:
    with DAG("args"), pytest.raises(InvalidArgument, match=match) as info:
        EmptyOperator(task_id="t", **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith("DAG 'args', task 't': ")


def test_bad_dag_arguments() -> None:
    with pytest.raises(InvalidArgument, match="needs a start_date"):
        DAG("no_start", schedule="@daily")
    with pytest.raises(InvalidArgument, match="max_active_runs must be a whole number >= 1"):
        DAG("runs", max_active_runs=0)
    with pytest.raises(InvalidArgument, match="schedule 42 is not valid"):
        DAG("sched", schedule=42)


def test_get_task_and_missing_task() -> None:
    with DAG("lookup") as d:
        a = EmptyOperator(task_id="a")
    assert d.get_task("a") is a
    with pytest.raises(TaskNotFound, match="DAG 'lookup' has no task 'zz'"):
        d.get_task("zz")


def test_dependencies_across_dags_are_refused() -> None:
    with DAG("one"):
        a = EmptyOperator(task_id="a")
    with DAG("two"):
        b = EmptyOperator(task_id="b")
    with pytest.raises(CrossDagDependency):
        a >> b


def test_task_without_dag_joins_the_dag_of_its_relative() -> None:
    loose = EmptyOperator(task_id="loose")
    with DAG("adopt") as d:
        a = EmptyOperator(task_id="a")
    a >> loose
    assert loose.dag is d
    assert d.has_task("loose")


def test_capture_dags_sees_with_blocks_and_called_dag_functions() -> None:
    @dag(schedule=None)
    def decorated() -> None:
        EmptyOperator(task_id="x")

    with capture_dags() as found, capture_dags() as inner:
        with DAG("plain_one"):
            EmptyOperator(task_id="y")
        decorated()
    assert [d.dag_id for d in found] == ["plain_one", "decorated"]
    assert [d.dag_id for d in inner] == ["plain_one", "decorated"]
    with DAG("after"):
        pass
    assert len(found) == 2


def test_dag_decorator_makes_params_from_defaults() -> None:
    @dag(schedule="@daily", start_date=START, params={"extra": 1})
    def pipeline(n: int = 3, name: str = "x") -> None:
        """Loads things."""
        EmptyOperator(task_id="a")

    built = pipeline(name="y")
    assert built.dag_id == "pipeline"
    assert built.params == {"extra": 1, "n": 3, "name": "y"}
    assert built.doc_md == "Loads things."
    assert built.task_ids == ["a"]


def test_dag_decorator_with_explicit_id_and_bare_form() -> None:
    @dag
    def bare() -> None:
        EmptyOperator(task_id="a")

    @dag(dag_id="renamed")
    def other() -> None:
        EmptyOperator(task_id="a")

    assert bare().dag_id == "bare"
    assert other().dag_id == "renamed"


def test_dag_decorator_validates_when_called() -> None:
    @dag
    def cyclic() -> None:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        a >> b >> a

    with pytest.raises(DagCycle):
        cyclic()


def test_taskflow_call_outside_a_dag_is_refused() -> None:
    @task
    def lonely() -> None:
        return None

    with pytest.raises(TaskOutsideDag, match="'lonely' belongs to no DAG"):
        lonely()


def test_schedule_interval_is_an_alias_and_start_date_may_come_from_default_args() -> None:
    d = DAG("old_style", schedule_interval="@hourly", default_args={"start_date": START})
    assert d.schedule == "@hourly"
    assert d.start_date == datetime(2024, 1, 1, tzinfo=ZoneInfo("UTC"))


def test_dataset_is_immutable_and_compares_by_uri() -> None:
    ds = Dataset("s3://bucket/x")
    assert ds == Dataset("s3://bucket/x")
    assert len({ds, Dataset("s3://bucket/x")}) == 1
    with pytest.raises(AttributeError):
        ds.uri = "other"
