"""Assets under a real `flowtui scheduler`, from DAG files that import from `airflow.sdk`: a
DAG scheduled on `a | b` runs on either update, one on `a & b` only once both were updated;
`AssetOrTimeSchedule` runs on its time schedule and on its assets; a DAG scheduled on an alias
runs when a task attaches an event to it; `outlet_events[asset].extra` reaches the consumer's
`inlet_events`; and a store written before assets (schema 3) keeps triggering on its datasets
events."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlite_utils import Database

from flowtui.spec import DagSpec, TaskSpec
from flowtui.store import writes
from flowtui.store.schema import _MIGRATIONS, SCHEMA_VERSION, open_connection
from tests.conftest import Home, wait_until
from tests.engine.conftest import store_at_version

HEADER = """
    from datetime import datetime
    from airflow.sdk import DAG, Asset, AssetAlias, task
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.timetables.assets import AssetOrTimeSchedule

    START = datetime(2024, 1, 1)
    a = Asset("s3://bucket/a")
    b = Asset(name="b", uri="s3://bucket/b")
    for name, asset in {"make_a": a, "make_b": b}.items():
        with DAG(name, schedule=None, start_date=START):
            BashOperator(task_id="write", bash_command="true", outlets=[asset])
"""


def _runs(home: Home, dag_id: str) -> list[tuple[str, str, str | None]]:
    store = home.store()
    try:
        rows = store.conn.execute(
            "SELECT run_type, state, triggered_by FROM dag_runs WHERE dag_id = ? ORDER BY id",
            (dag_id,),
        ).fetchall()
    finally:
        store.close()
    return [(r[0], r[1], r[2]) for r in rows]


def _produce(home: Home, dag_id: str, times: int) -> None:
    """Trigger `dag_id` and wait until its `times`-th run succeeded."""
    assert home.run("dags", "trigger", dag_id).returncode == 0
    wait_until(
        lambda: [s for _, s, _ in _runs(home, dag_id)] == ["success"] * times,
        what=f"run {times} of {dag_id}",
    )


def _settled(home: Home, dag_id: str, count: int) -> list[tuple[str, str, str | None]]:
    """Wait until `dag_id` has `count` runs, all finished."""
    return wait_until(  # type: ignore[no-any-return]
        lambda: (
            (runs := _runs(home, dag_id))
            and len(runs) == count
            and all(s in ("success", "failed") for _, s, _ in runs)
            and runs
        ),
        what=f"{count} finished runs of {dag_id}",
        seen=lambda: str(_runs(home, dag_id)),
    )


def _return_value(home: Home, dag_id: str) -> Any:
    conn = sqlite3.connect(home.path / "flowtui.db")
    try:
        (value,) = conn.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND key = 'return_value' ORDER BY rowid DESC",
            (dag_id,),
        ).fetchone()
    finally:
        conn.close()
    return json.loads(value)


def test_or_runs_on_either_update_and_and_waits_for_both(home: Home) -> None:
    home.write_dag(
        "assets.py",
        HEADER
        + """
    for name, condition in {"either": a | b, "both": a & b}.items():
        with DAG(name, schedule=condition, start_date=START):
            BashOperator(task_id="use", bash_command="true")
    """,
    )
    with _scheduler(home):
        _produce(home, "make_a", 1)
        _settled(home, "either", 1)
        assert _runs(home, "both") == []  # b not updated yet
        _produce(home, "make_b", 1)
        _settled(home, "either", 2)
        [(run_type, _, triggered)] = _settled(home, "both", 1)
        assert run_type == "dataset_triggered"
        updates = json.loads(str(triggered))["updates"]
        assert [(u["uri"], u["dag_id"]) for u in updates] == [
            ("s3://bucket/a", "make_a"),
            ("s3://bucket/b", "make_b"),
        ]
        shown = home.run("runs", "show", "both").stdout
        assert "triggered by  s3://bucket/a by make_a.write" in shown
        _produce(home, "make_b", 2)
        _settled(home, "either", 3)
        assert len(_runs(home, "both")) == 1  # a has not been updated again


def test_asset_or_time_schedule_runs_on_time_and_on_its_assets(home: Home) -> None:
    home.write_dag(
        "assets.py",
        HEADER
        + """
    schedule = AssetOrTimeSchedule(timetable="@daily", assets=[a])
    with DAG("daily_or_a", schedule=schedule, start_date=START, catchup=False):
        BashOperator(task_id="use", bash_command="true")
    """,
    )
    with _scheduler(home):
        assert [t for t, _, _ in _settled(home, "daily_or_a", 1)] == ["scheduled"]
        _produce(home, "make_a", 1)
        runs = _settled(home, "daily_or_a", 2)
        assert [t for t, _, _ in runs] == ["scheduled", "dataset_triggered"]


EXTRAS = """
    from airflow.sdk import DAG, Asset, AssetAlias, task

    orders = Asset("s3://shop/orders.csv")
    exports = AssetAlias("exports")

    with DAG("produce", schedule=None):
        @task(outlets=[orders])
        def write(*, outlet_events):
            outlet_events[orders].extra = {"rows": 42}

        @task(outlets=[exports])
        def export(*, outlet_events):
            outlet_events[exports].add(Asset("s3://shop/part-1.csv"), extra={"part": 1})

        write() >> export()

    with DAG("consume", schedule=[orders]):
        @task(inlets=[orders])
        def read(*, inlet_events):
            event = inlet_events[orders][-1]
            return [event.extra, event.source_dag_id, event.source_task_id, len(inlet_events[0])]

        read()

    with DAG("on_alias", schedule=exports):
        @task(inlets=[exports])
        def parts(*, inlet_events):
            return [[e.asset.uri, e.extra, e.source_aliases[0].name] for e in inlet_events[exports]]

        parts()
"""


def test_outlet_extra_reaches_the_consumer_and_an_alias_triggers_its_dag(home: Home) -> None:
    home.write_dag("extras.py", EXTRAS)
    with _scheduler(home):
        _produce(home, "produce", 1)
        _settled(home, "consume", 1)
        assert _return_value(home, "consume") == [{"rows": 42}, "produce", "write", 1]
        [(run_type, state, _)] = _settled(home, "on_alias", 1)
        assert (run_type, state) == ("dataset_triggered", "success")
        assert _return_value(home, "on_alias") == [["s3://shop/part-1.csv", {"part": 1}, "exports"]]
        store = home.store()
        try:
            rows = store.conn.execute(
                "SELECT e.uri, e.extra, a.alias FROM dataset_events e "
                "LEFT JOIN dataset_alias_events a ON a.event_id = e.id ORDER BY e.id"
            ).fetchall()
        finally:
            store.close()
        assert rows == [
            ("s3://shop/orders.csv", '{"rows": 42}', None),
            ("s3://shop/part-1.csv", '{"part": 1}', "exports"),
        ]


OLD_DAGS = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, Dataset

    with DAG("report", schedule=[Dataset("file:///data/orders.csv")]):
        BashOperator(task_id="build", bash_command="true")
"""


def test_a_store_from_before_assets_keeps_triggering_on_its_dataset_events(home: Home) -> None:
    """A schema-3 store holding a DAG's spec in the old form ({"datasets": [uri]}) and a dataset
    event written before assets: a starting scheduler migrates it and runs the DAG."""
    home.path.mkdir(parents=True)
    conn = sqlite3.connect(home.path / "flowtui.db", isolation_level=None)
    for step in _MIGRATIONS[:3]:
        step(Database(conn))
    conn.execute("PRAGMA user_version = 3")
    spec = DagSpec(
        "report",
        str(home.dags / "old.py"),
        {"build": TaskSpec("build", "BashOperator", runs_bash=True)},
        schedule={"datasets": ["file:///data/orders.csv"]},
    )
    writes.upsert_dag(conn, spec, "2024-01-01T00:00:00+00:00")
    conn.execute(
        "INSERT INTO dataset_events (uri, dag_id, run_id, task_id, ts) VALUES (?, ?, ?, ?, ?)",
        ("file:///data/orders.csv", "make_orders", "r1", "write", "2024-01-01T00:00:00+00:00"),
    )
    conn.close()
    home.write_dag("old.py", OLD_DAGS)
    with _scheduler(home):
        [(run_type, state, triggered)] = _settled(home, "report", 1)
        assert (run_type, state) == ("dataset_triggered", "success")
        assert (
            "file:///data/orders.csv by make_orders.write"
            in home.run("runs", "show", "report").stdout
        )
        assert json.loads(str(triggered))["updates"][0]["task_id"] == "write"


@contextmanager
def _scheduler(home: Home) -> Iterator[None]:
    """A real `flowtui scheduler` on the home's DAG folder (as it is now), stopped after."""
    process = home.start("scheduler")
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("flowtui scheduler:")
        yield
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_older_store_migrates_to_one_with_asset_events(tmp_path: Any, version: int) -> None:
    migrated = open_connection(store_at_version(tmp_path / "old.db", version))
    try:
        assert migrated.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        writes.record_asset_events(
            migrated, ("d", "r", "t", -1), [("s3://x", {"n": 1}, ("al",))], "ts"
        )
        assert migrated.execute(
            "SELECT e.uri, e.extra, a.alias FROM dataset_events e "
            "JOIN dataset_alias_events a ON a.event_id = e.id"
        ).fetchall() == [("s3://x", '{"n": 1}', "al")]
    finally:
        migrated.close()
