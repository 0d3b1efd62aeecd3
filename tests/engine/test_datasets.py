"""Datasets across two DAGs: a producer's task with `outlets` updates a dataset when it
succeeds; a consumer scheduled on two datasets runs once both were updated since its last
run, and the run says which updates triggered it. The store migrates to the schema that
holds them."""

from __future__ import annotations

import json
import sqlite3

from flowtui.store.schema import SCHEMA_VERSION, open_connection
from tests.conftest import Home, wait_until

DAGS = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, Dataset

    orders = Dataset("file:///data/orders.csv")
    prices = Dataset("file:///data/prices.csv")

    with DAG("make_orders", start_date=datetime(2024, 1, 1)) as a:
        BashOperator(task_id="write", bash_command="true", outlets=[orders])
    with DAG("make_prices", start_date=datetime(2024, 1, 1)) as b:
        BashOperator(task_id="write", bash_command="{prices}", outlets=[prices])
    with DAG("report", schedule=[orders, prices], start_date=datetime(2024, 1, 1)) as c:
        BashOperator(task_id="build", bash_command="true")
"""


def _runs(home: Home, dag_id: str) -> list[tuple[str, str | None]]:
    store = home.store()
    try:
        rows = store.conn.execute(
            "SELECT run_type, triggered_by FROM dag_runs WHERE dag_id = ? ORDER BY id", (dag_id,)
        ).fetchall()
    finally:
        store.close()
    return [(r[0], r[1]) for r in rows]


def test_a_dag_runs_when_all_its_datasets_were_updated(home: Home) -> None:
    home.write_dag("data.py", DAGS.format(prices="true"))
    process = home.start("scheduler")
    assert process.stdout is not None
    assert process.stdout.readline().startswith("flowtui scheduler:")
    try:
        assert home.run("dags", "trigger", "make_orders").returncode == 0
        wait_until(lambda: home.runs_show("make_orders")["state"] == "success", what="orders")
        assert _runs(home, "report") == []  # prices not updated yet
        assert home.run("dags", "trigger", "make_prices").returncode == 0
        runs = wait_until(lambda: _runs(home, "report"), what="the report run")
        assert len(runs) == 1
        run_type, triggered = runs[0]
        assert run_type == "dataset_triggered"
        updates = json.loads(str(triggered))["updates"]
        assert {(u["uri"], u["dag_id"]) for u in updates} == {
            ("file:///data/orders.csv", "make_orders"),
            ("file:///data/prices.csv", "make_prices"),
        }
        wait_until(lambda: home.runs_show("report")["state"] == "success", what="the report")
        shown = home.run("runs", "show", "report").stdout
        assert "triggered by  file:///data/orders.csv by make_orders.write" in shown
        assert home.run("dags", "trigger", "make_orders").returncode == 0
        wait_until(
            lambda: (
                len(_runs(home, "make_orders")) == 2
                and home.runs_show("make_orders")["state"] == "success"
            ),
            what="orders again",
        )
        assert len(_runs(home, "report")) == 1  # prices has not been updated again
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_failed_producer_updates_nothing(home: Home) -> None:
    home.write_dag("data.py", DAGS.format(prices="exit 1"))
    assert home.run("dags", "test", "make_prices").returncode == 1
    store = home.store()
    assert store.conn.execute("SELECT COUNT(*) FROM dataset_events").fetchone() == (0,)
    store.close()


def test_a_version_1_store_migrates_forward(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE dag_runs (id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT)")
    conn.execute("INSERT INTO dag_runs (dag_id, run_id) VALUES ('kept', 'r1')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    migrated = open_connection(path)
    assert migrated.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert migrated.execute("SELECT dag_id, run_id, triggered_by FROM dag_runs").fetchall() == [
        ("kept", "r1", None)
    ]
    assert migrated.execute("SELECT COUNT(*) FROM dataset_events").fetchone() == (0,)


def test_a_store_from_a_newer_flowtui_is_refused(home: Home) -> None:
    home.path.mkdir(parents=True)
    conn = sqlite3.connect(home.path / "flowtui.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    done = home.run("runs", "list", "anything")
    assert done.returncode == 1
    assert "schema version 99 is newer than this flowtui knows" in done.stderr
