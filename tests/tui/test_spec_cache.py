"""The screens' cache of a DAG's parsed spec: parsed again only when its stored text changed."""

from __future__ import annotations

import json

from flowtui.spec import DagSpec, TaskSpec
from flowtui.tui.screens.base import SpecCache


def _text(*task_ids: str) -> str:
    tasks = {task_id: TaskSpec(task_id, "BashOperator") for task_id in task_ids}
    return json.dumps(DagSpec("etl", "/dags/etl.py", tasks).to_dict())


def test_the_same_text_gives_the_same_spec_and_new_text_a_new_one() -> None:
    cache = SpecCache()
    first = cache.parse(_text("extract"))
    assert list(first.tasks) == ["extract"]
    assert cache.parse(_text("extract")) is first  # not parsed again
    second = cache.parse(_text("extract", "load"))
    assert list(second.tasks) == ["extract", "load"]
    assert cache.parse(_text("extract", "load")) is second
