"""`Label` (`flowtui.authoring.edge_label`): it wires the tasks on both sides, in every way
Airflow files write it, and the DAG and its spec keep the text of each edge."""

from __future__ import annotations

import pytest

from flowtui import DAG, EmptyOperator, Label, TaskGroup, chain, task
from flowtui.errors import InvalidArgument
from flowtui.loading.serialization import dag_spec


def _edges(dag: DAG) -> dict[tuple[str, str], str | None]:
    return {
        (up, t.task_id): dag.get_edge_info(up, t.task_id).get("label")
        for t in dag.tasks
        for up in sorted(t.upstream_task_ids)
    }


def test_a_label_between_tasks_and_lists_wires_and_names_each_edge() -> None:
    with DAG("labels") as dag:
        a, b, c, d, e, f = (EmptyOperator(task_id=name) for name in "abcdef")
        a >> Label("one") >> b
        [a, b] >> Label("two") >> c
        c >> Label("three") >> [d, e]
        f << Label("back") << e
        a >> d  # unlabelled
    assert _edges(dag) == {
        ("a", "b"): "one",
        ("a", "c"): "two",
        ("b", "c"): "two",
        ("c", "d"): "three",
        ("a", "d"): None,
        ("c", "e"): "three",
        ("e", "f"): "back",
    }
    assert dag_spec(dag, "labels.py").labels == {
        "a": {"b": "one", "c": "two"},
        "b": {"c": "two"},
        "c": {"d": "three", "e": "three"},
        "e": {"f": "back"},
    }


def test_labels_in_chain_with_groups_xcomargs_and_edge_modifier() -> None:
    with DAG("more_labels") as dag:
        start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
        with TaskGroup("g") as group:
            EmptyOperator(task_id="x") >> EmptyOperator(task_id="y")

        @task
        def value() -> int:
            return 1

        chain(start, Label("into group"), group, Label("out"), end)
        value() >> Label("from xcom") >> start
        end.set_downstream(EmptyOperator(task_id="last"), edge_modifier=Label("modified"))
    assert _edges(dag) == {
        ("value", "start"): "from xcom",
        ("start", "g.x"): "into group",
        ("g.x", "g.y"): None,
        ("g.y", "end"): "out",
        ("end", "last"): "modified",
    }


def test_a_label_between_tasks_of_no_dag_is_refused() -> None:
    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    with pytest.raises(InvalidArgument, match="a Label joins tasks of a DAG"):
        a >> Label("nowhere") >> b
