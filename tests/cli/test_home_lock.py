"""The scheduler lock means one thing (issue 9, point 6): commands applied with no scheduler
take turns instead of failing, never pass for a scheduler, and never make a starting scheduler
refuse; two schedulers on one home still cannot both run."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from flowtui.scheduling.lock import holder_pid, turn_path
from tests.conftest import FLOWTUI, Home, wait_until

PIPELINE = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("pipeline", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        BashOperator(task_id="a", bash_command="true") >> BashOperator(
            task_id="b", bash_command="true"
        )
"""


@pytest.fixture
def pipeline(home: Home) -> Home:
    """A home whose store holds one manual run of `pipeline`, and no scheduler."""
    home.write_dag("pipeline.py", PIPELINE)
    home.run("dags", "trigger", "pipeline", "--logical-date", "2024-03-01", check=True)
    return home


def _clears(home: Home) -> list[dict[str, object]]:
    return [
        e
        for e in home.events(dag_id="pipeline")
        if e["kind"] == "command" and json.loads(str(e["detail"]))["command"] == "clear"
    ]


def test_ten_concurrent_clears_with_no_scheduler_all_apply(pipeline: Home) -> None:
    processes = [
        subprocess.Popen(
            [FLOWTUI, "tasks", "clear", "pipeline", "--yes"],
            env=pipeline.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(10)
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    assert [code for code, _out, _err in outcomes] == [0] * 10, outcomes
    assert all(out.startswith("cleared 2 task instance(s) in 1 run(s)") for _c, out, _e in outcomes)
    assert len(_clears(pipeline)) == 10


@contextmanager
def _store_write_locked(home: Home) -> Iterator[None]:
    """Hold the store's write lock, so that a command applied offline waits inside its turn."""
    conn = sqlite3.connect(home.path / "flowtui.db", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _is_held(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_scheduler_started_while_a_command_applies_offline_waits_and_starts(
    pipeline: Home,
) -> None:
    lock_path = pipeline.settings.lock_path
    with _store_write_locked(pipeline):
        clear = subprocess.Popen(
            [FLOWTUI, "tasks", "clear", "pipeline", "--yes"],
            env=pipeline.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        wait_until(lambda: _is_held(turn_path(lock_path)), what="the clear to take its turn")
        assert holder_pid(lock_path) is None  # a command is never taken for a scheduler
        scheduler = pipeline.start("scheduler")
        time.sleep(1.0)  # let the scheduler reach the lock while the clear still holds its turn
        assert scheduler.poll() is None, scheduler.communicate()[0]
    try:
        assert clear.wait(timeout=60) == 0, clear.communicate()
        assert scheduler.stdout is not None
        banner = scheduler.stdout.readline()
        assert banner.startswith("flowtui scheduler:"), banner + scheduler.stdout.read()
        assert holder_pid(lock_path) == scheduler.pid
        assert len(_clears(pipeline)) == 1
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)


def test_two_schedulers_racing_for_a_home_one_refuses_naming_the_other(home: Home) -> None:
    home.write_dag("pipeline.py", PIPELINE)
    first, second = home.start("scheduler"), home.start("scheduler")
    try:
        loser = wait_until(
            lambda: next((p for p in (first, second) if p.poll() is not None), None),
            timeout=60,
            what="one of the two schedulers to give up",
        )
        winner = second if loser is first else first
        output = loser.communicate()[0]
        assert loser.returncode == 1, output
        assert output == (
            f"flowtui: error: a scheduler already runs on {home.path} (pid {winner.pid}); "
            f"stop it first, or run `flowtui` to attach a dashboard to it\n"
        )
        assert winner.stdout is not None
        assert winner.stdout.readline().startswith("flowtui scheduler:")
        assert holder_pid(home.settings.lock_path) == winner.pid
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
