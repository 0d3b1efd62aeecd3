"""The scheduler's in-memory records (`TI`, `ActiveRun`) behave as the dataclasses they were:
keyword or positional construction, defaults, field-wise equality, the same repr; no other
attribute can be set (slots)."""

from __future__ import annotations

from collections import Counter

import pytest

from flowtui.scheduling.active_run import TI, ActiveRun, RunKey
from flowtui.spec import DagSpec, TaskSpec
from flowtui.states import RunState, TaskState


def _run(**changes: object) -> ActiveRun:
    spec = DagSpec("d", "/dags/d.py", {"a": TaskSpec("a", "EmptyOperator")})
    tis = {"a": TI("a", TaskState.NONE, 0, 1)}
    run = ActiveRun("d", "r", "manual", RunState.QUEUED, "2024-01-01", None, None, {}, spec, tis)
    for name, value in changes.items():
        setattr(run, name, value)
    return run


def test_a_ti_has_the_defaults_equality_and_repr_of_the_dataclass() -> None:
    ti = TI("a", TaskState.QUEUED, 1, 2, log_path="/l")
    assert (ti.pid, ti.start_date, ti.log_path, ti.queued_at, ti.kill_cause) == (
        None,
        None,
        "/l",
        None,
        None,
    )
    assert ti == TI(task_id="a", state=TaskState.QUEUED, try_number=1, max_tries=2, log_path="/l")
    assert ti != TI("a", TaskState.QUEUED, 1, 2)
    assert ti != ("a", TaskState.QUEUED, 1, 2, None, None, "/l", None, None)
    assert repr(ti) == (
        "TI(task_id='a', state=<TaskState.QUEUED: 'queued'>, try_number=1, max_tries=2, "
        "pid=None, start_date=None, log_path='/l', queued_at=None, kill_cause=None, "
        "sensing_since=None, map_index=-1)"
    )
    with pytest.raises(TypeError):
        hash(ti)
    with pytest.raises(AttributeError):
        ti.note = "x"  # type: ignore[attr-defined]


def test_an_active_run_has_fresh_defaults_and_compares_by_value() -> None:
    one, two = _run(), _run()
    assert one == two
    assert one.counts == Counter()
    assert one.waiting_on_past == set()
    one.counts[TaskState.NONE] += 1
    one.waiting_on_past.add("a")
    assert two.counts == Counter()
    assert two.waiting_on_past == set()
    assert one != two
    assert one.key == RunKey("d", "r")
    assert one.attempt_key(one.tis["a"]) == ("d", "r", "a", 0, -1)
    assert repr(two).startswith("ActiveRun(dag_id='d', run_id='r', run_type='manual', ")
    assert _run(runner_pid=4) != _run()
