"""Rendered templated fields: each attempt keeps its task's fields as rendered (Airflow's
Rendered Template view), masked and cut; a failed attempt keeps them too; older stores migrate
to a schema that holds them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowtui import DAG, BashOperator
from flowtui.execution.mask_filter import Masker
from flowtui.execution.rendered_fields import MAX_LENGTH, rendered_fields
from flowtui.store.schema import SCHEMA_VERSION, open_connection
from tests.conftest import Home
from tests.engine.conftest import store_at_version

DAG_FILE = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator

    def shout(word, when):
        print(word.upper(), when)

    def broken(**context):
        raise ValueError("no rows")

    with DAG("tpl", start_date=datetime(2024, 1, 1), params={"table": "sales"}):
        load = BashOperator(
            task_id="load",
            bash_command="echo {{ ds }} {{ params.table }} {{ var.value.db_password }}",
            env={"DAY": "{{ ds_nodash }}"},
        )
        say = PythonOperator(
            task_id="say", python_callable=shout, op_kwargs={"word": "{{ params.table }}",
            "when": "{{ ds }}"},
        )
        fail = PythonOperator(
            task_id="fail", python_callable=broken, op_kwargs={"table": "{{ params.table }}"},
        )
        load >> say >> fail
"""


def _rendered(home: Home, task_id: str) -> dict[str, Any]:
    store = home.store()
    try:
        (text,) = store.conn.execute(
            "SELECT rendered FROM attempts WHERE dag_id = 'tpl' AND task_id = ?", (task_id,)
        ).fetchone()
    finally:
        store.close()
    found: dict[str, Any] = json.loads(text)
    return found


def test_each_attempt_keeps_its_rendered_fields_masked(home: Home) -> None:
    """A bash task, a Python task, and a Python task that fails after rendering: each attempt
    stores its fields as rendered, the secret variable masked in the stored text."""
    home.write_dag("tpl.py", DAG_FILE)
    home.run("variables", "set", "db_password", "hunter2", check=True)
    done = home.run("dags", "test", "tpl", "--logical-date", "2024-03-05")
    assert done.returncode == 1, done.stdout + done.stderr
    assert _rendered(home, "load") == {
        "bash_command": "echo 2024-03-05 sales ***",
        "env": {"DAY": "20240305"},
        "cwd": None,
    }
    assert _rendered(home, "say")["op_kwargs"] == {"word": "sales", "when": "2024-03-05"}
    assert _rendered(home, "fail")["op_kwargs"] == {"table": "sales"}


def test_values_are_masked_cut_and_shown_as_repr_when_not_json() -> None:
    with DAG("d"):
        task = BashOperator(task_id="t", bash_command="x" * (MAX_LENGTH + 10))
    task.env = {"TOKEN": 'pa"ss', ("a", "b"): 1}  # type: ignore[dict-item]  # not JSON
    task.cwd = {"k": ['pa"ss', "ok"]}  # type: ignore[assignment]  # a structure with a secret
    found = rendered_fields(task, Masker(['pa"ss']))
    assert found["bash_command"].startswith("x" * MAX_LENGTH + "…")
    assert f"{MAX_LENGTH + 10} characters" in found["bash_command"]
    assert found["env"] == "{'TOKEN': '***', ('a', 'b'): 1}"
    assert found["cwd"] == {"k": ["***", "ok"]}


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_older_store_migrates_to_one_with_rendered_fields(tmp_path: Path, version: int) -> None:
    migrated = open_connection(store_at_version(tmp_path / "old.db", version))
    try:
        migrated.execute(
            "INSERT INTO attempts (dag_id, run_id, task_id, try_number, rendered) "
            "VALUES ('d', 'r', 't', 1, '{}')"
        )
        assert migrated.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        migrated.close()
