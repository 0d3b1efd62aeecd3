"""Marking a whole run (Airflow's "mark run as"): success marks every task instance that is
not success or skipped success; failed marks the running ones failed and those not started
skipped; the run ends in the state asked for, whatever its leaves say; each change is an event
by the user. Applied as the dashboard sends it, with no scheduler running (the offline turn)."""

from __future__ import annotations

import json

import pytest

from flowtui.commands.model import MarkRun, from_wire, to_wire
from flowtui.errors import FlowtuiError
from flowtui.scheduling.clients import Offline
from flowtui.spec import DagSpec, TaskSpec
from flowtui.store import reads
from flowtui.store.schema import open_connection
from tests.conftest import Home

STATES = {
    "done": "success",
    "branch_off": "skipped",
    "broken": "failed",
    "busy": "running",
    "waiting": "scheduled",
    "later": "none",
    "retrying": "up_for_retry",
}


def _write_run(home: Home) -> None:
    home.path.mkdir(parents=True, exist_ok=True)
    tasks = {t: TaskSpec(t, "BashOperator") for t in STATES}
    spec = DagSpec("d", "/dags/d.py", tasks)
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "INSERT INTO dags (dag_id, fileloc, spec) VALUES ('d', '/dags/d.py', ?)",
        (json.dumps(spec.to_dict()),),
    )
    conn.execute(
        "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date) "
        "VALUES ('d', 'r1', 'manual', 'running', '2024-03-01T00:00:00+00:00')"
    )
    for task_id, state in STATES.items():
        conn.execute(
            "INSERT INTO task_instances (dag_id, run_id, task_id, state, try_number) "
            "VALUES ('d', 'r1', ?, ?, 1)",
            (task_id, state),
        )
    conn.close()


def _states(home: Home) -> tuple[str, dict[str, str]]:
    store = home.store()
    try:
        run = reads.run(store.conn, "d", "r1")
        tis = reads.task_instances(store.conn, "d", "r1")
    finally:
        store.close()
    assert run is not None
    return run["state"], {ti["task_id"]: ti["state"] for ti in tis}


def test_mark_a_running_run_failed_then_success(home: Home) -> None:
    _write_run(home)
    client = Offline(home.settings, "dashboard:test")
    client.send(MarkRun("d", "r1", "failed"))
    state, tis = _states(home)
    assert state == "failed"
    assert tis == {
        "done": "success",
        "branch_off": "skipped",
        "broken": "failed",
        "busy": "failed",
        "waiting": "skipped",
        "later": "skipped",
        "retrying": "skipped",
    }
    client.send(MarkRun("d", "r1", "success"))
    state, tis = _states(home)
    assert state == "success"
    skipped = {"branch_off", "waiting", "later", "retrying"}  # skipped stays skipped
    assert tis == {t: "skipped" if t in skipped else "success" for t in STATES}
    marks = home.events(dag_id="d", task_id="busy")
    assert [(e["kind"], e["new_state"], e["actor"]) for e in marks] == [
        ("kill", None, "dashboard:test"),
        ("task_state", "failed", "dashboard:test (marked)"),
        ("task_state", "success", "dashboard:test (marked)"),
    ]


def test_mark_run_refuses_a_state_and_a_run_it_does_not_know(home: Home) -> None:
    _write_run(home)
    client = Offline(home.settings, "dashboard:test")
    with pytest.raises(FlowtuiError, match="mark a run success or failed"):
        client.send(MarkRun("d", "r1", "skipped"))
    with pytest.raises(FlowtuiError, match="r2"):
        client.send(MarkRun("d", "r2", "success"))
    assert _states(home)[0] == "running"


def test_mark_run_travels_on_the_wire() -> None:
    command = MarkRun("d", "r1", "failed")
    assert from_wire(json.loads(json.dumps(to_wire(command)))) == command
