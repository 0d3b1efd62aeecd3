"""`TriggerDagRunOperator` for real, from tests/airflow_dags/airflow_trigger.py: with a
scheduler on the home, `dags test` of the parent triggers the child through the scheduler's
socket and waits for it (success, and a failed child failing its task); with none, the trigger
is applied to the store and the child's run waits, queued. An unsupported argument is refused
at load with one line."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import Home

FILE = Path(__file__).parent.parent / "airflow_dags" / "airflow_trigger.py"
DAY = "2024-01-15"
RUN_ID = f"test__{DAY}T00:00:00+00:00"


def _xcoms(home: Home, dag_id: str, run_id: str) -> dict[tuple[str, str], Any]:
    conn = sqlite3.connect(home.path / "flowtui.db")
    try:
        rows = conn.execute(
            "SELECT task_id, key, value FROM xcom WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        ).fetchall()
    finally:
        conn.close()
    return {(task_id, key): json.loads(value) for task_id, key, value in rows}


def test_a_parent_triggers_its_child_through_the_scheduler_and_waits(
    home: Home, scheduler: subprocess.Popen[str]
) -> None:
    shutil.copy(FILE, home.dags / FILE.name)
    done = home.run("dags", "test", "airflow_trigger_parent", "--logical-date", DAY, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = home.runs_show("airflow_trigger_parent", RUN_ID)
    assert shown["state"] == "success"
    assert {t: ti["state"] for t, ti in shown["tasks"].items()} == {
        "trigger_ok": "success",
        "trigger_bad": "failed",
        "handled": "success",
        "again": "skipped",
        "report": "success",
    }
    xcoms = _xcoms(home, "airflow_trigger_parent", RUN_ID)
    assert xcoms[("trigger_ok", "trigger_run_id")] == "from_parent_20240115"
    assert xcoms[("trigger_ok", "trigger_logical_date_iso")] == "2024-01-15T00:00:00+00:00"
    assert xcoms[("report", "return_value")] == "from_parent_20240115"
    assert xcoms[("handled", "return_value")] == "child failed"
    child = home.runs_show("airflow_trigger_child", "from_parent_20240115")
    assert (child["state"], child["logical_date"][:10]) == ("success", DAY)
    assert _xcoms(home, "airflow_trigger_child", "from_parent_20240115") == {
        ("child", "return_value"): DAY
    }
    assert home.runs_show("airflow_trigger_child", "bad_20240115")["state"] == "failed"
    events = home.events(dag_id="airflow_trigger_child")
    commands = [e for e in events if e["kind"] == "command"]
    assert {e["actor"] for e in commands} == {
        "task:airflow_trigger_parent.trigger_ok",
        "task:airflow_trigger_parent.trigger_bad",
    }


def test_with_no_scheduler_the_trigger_is_stored_and_waits_queued(home: Home) -> None:
    shutil.copy(FILE, home.dags / FILE.name)
    home.run("dags", "reserialize", check=True)  # the child must be known to the store
    done = home.run("dags", "test", "airflow_trigger_forget", "--logical-date", DAY, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    child = home.runs_show("airflow_trigger_child", "forgotten")
    assert child["state"] == "queued"
    store = home.store()
    try:
        conf = store.conn.execute(
            "SELECT conf FROM dag_runs WHERE dag_id = 'airflow_trigger_child'"
        ).fetchone()[0]
    finally:
        store.close()
    assert json.loads(conf) == {"ds": DAY}
    again = home.run("dags", "test", "airflow_trigger_forget", "--logical-date", DAY, timeout=120)
    assert again.returncode == 1  # the run exists and nothing says to reset or skip it
    assert "already has a run 'forgotten'" in again.stdout + again.stderr


def test_deferrable_is_refused_at_load_with_one_line(home: Home) -> None:
    home.write_dag(
        "deferred.py",
        """
        from airflow import DAG
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

        with DAG("deferred", schedule=None):
            TriggerDagRunOperator(task_id="t", trigger_dag_id="x", deferrable=True)
        """,
    )
    done = home.run("dags", "errors", "--output", "json", check=True)
    [error] = json.loads(done.stdout)
    assert "deferrable=True is not supported" in error["message"]
    assert "\n" not in error["message"]
