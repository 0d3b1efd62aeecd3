"""`remove_old_logs` over a real logs folder and store: old files under `logs/<dag_id>/` go
(attempt logs, tickets, a DAG's callback log) with the folders they leave empty; fresh files,
the files of a task instance that has not finished, and the scheduler's own logs stay. The
thread makes a pass when it starts and stops when asked."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from flowtui.config import ConfigError, load_settings
from flowtui.scheduling.log_retention import LogRetention, remove_old_logs
from flowtui.store.schema import open_connection
from tests.conftest import wait_until

DAY = 86400.0


def _file(path: Path, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a line\n")
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


def _running(conn: sqlite3.Connection, dag_id: str, run_id: str, task_id: str) -> None:
    conn.execute(
        "INSERT INTO task_instances (dag_id, run_id, task_id, state, try_number) "
        "VALUES (?, ?, ?, 'running', 1)",
        (dag_id, run_id, task_id),
    )


def test_old_files_go_with_their_empty_folders_and_the_rest_stays(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    conn = open_connection(tmp_path / "flowtui.db")
    _running(conn, "etl", "run_b", "load")
    old_run = logs / "etl" / "run_a"
    gone = [
        _file(old_run / "load" / "attempt=1.log", 10),
        _file(old_run / "load" / "attempt=1.ticket", 10),
        _file(old_run / "dag_callbacks.log", 10),
        _file(logs / "report" / "run_a" / "mail" / "attempt=2.log", 8),
    ]
    kept = [
        _file(logs / "scheduler.log", 30),
        _file(logs / "etl" / "run_b" / "load" / "attempt=1.log", 30),  # still running
        _file(logs / "etl" / "run_b" / "extract" / "attempt=1.log", 1),  # fresh
    ]
    assert remove_old_logs(logs, conn, time.time() - 7 * DAY) == len(gone)
    assert [p for p in gone if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
    assert sorted(p.name for p in logs.iterdir()) == ["etl", "scheduler.log"]
    assert sorted(p.name for p in (logs / "etl").iterdir()) == ["run_b"]
    conn.close()


def test_the_thread_makes_a_pass_at_start_and_stops(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "home", tmp_path)
    settings.ensure_home()
    open_connection(settings.db_path).close()
    old = _file(settings.logs_dir / "etl" / "run" / "t" / "attempt=1.log", 3)
    retention = LogRetention(settings, days=2, interval=0.05)
    retention.start()
    try:
        wait_until(lambda: not old.exists(), timeout=5, what="the first pass")
        again = _file(settings.logs_dir / "etl" / "run" / "t" / "attempt=2.log", 3)
        wait_until(lambda: not again.exists(), timeout=5, what="the next pass")
    finally:
        retention.stop()
    assert not retention._thread.is_alive()


@pytest.mark.parametrize("value", ["0", "-1", "true", '"7"'])
def test_log_retention_days_must_be_a_positive_number(tmp_path: Path, value: str) -> None:
    (tmp_path / "flowtui.toml").write_text(f"log_retention_days = {value}\n")
    with pytest.raises(ConfigError, match="log_retention_days must be a number of days > 0"):
        load_settings(tmp_path, tmp_path)
    (tmp_path / "flowtui.toml").write_text("log_retention_days = 7.5\n")
    assert load_settings(tmp_path, tmp_path).log_retention_days == 7.5
    assert load_settings(tmp_path / "none", tmp_path).log_retention_days is None
