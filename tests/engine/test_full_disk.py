"""A full disk, for real: the home on a small tmpfs (in a mount namespace of the test's own),
filled while a task runs. The scheduler keeps running, refuses commands with the reason, holds
the task's outcome in memory, and records it (and runs the downstream task) once space is
freed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Home, wait_until
from tests.namespaces import in_namespace, rerun_in_namespace

WAITER = """
    import time
    from datetime import datetime
    from pathlib import Path
    from flowtui import DAG, BashOperator, PythonOperator

    def wait_for_flag():
        Path({started!r}).touch()
        while not Path({flag!r}).exists():
            time.sleep(0.05)
        return "done"

    with DAG("full", start_date=datetime(2024, 1, 1), schedule=None):
        waiter = PythonOperator(task_id="waiter", python_callable=wait_for_flag)
        waiter >> BashOperator(task_id="after", bash_command="echo after")
"""


def _fill(folder: Path) -> Path:
    """Write a file until the disk under `folder` is full; return it."""
    filler = folder / "filler"
    with filler.open("wb") as file:
        try:
            while True:
                file.write(b"\0" * (1 << 16))
                file.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_waited_out_and_nothing_is_lost(
    home: Home, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not in_namespace():
        rerun_in_namespace(request.node.nodeid, "--mount", "--propagation", "private")
        return
    home.path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(home.path)], check=True)
    started, flag = tmp_path / "started", tmp_path / "flag"
    home.write_dag("full.py", WAITER.format(started=str(started), flag=str(flag)))
    scheduler = home.start("scheduler")
    try:
        assert scheduler.stdout is not None
        assert scheduler.stdout.readline().startswith("flowtui scheduler:")
        assert home.run("dags", "trigger", "full").returncode == 0
        wait_until(started.exists, what="the task to start")
        run_id = str(home.runs_show("full")["run_id"])

        filler = _fill(home.path)
        flag.touch()  # the task ends now; its outcome cannot be written
        refused = home.run("tasks", "clear", "full", "--run", run_id, "--task", "^after$")
        assert refused.returncode == 1
        assert "database or disk is full" in refused.stderr
        assert "free some space" in refused.stderr
        assert refused.stderr.count("\n") == 1
        assert scheduler.poll() is None
        assert home.task_state("full", run_id, "waiter") == "running"

        os.unlink(filler)
        wait_until(
            lambda: home.runs_show("full", run_id)["state"] == "success",
            timeout=30,
            what="the run to succeed once space is freed",
        )
        log = (home.path / "logs" / "scheduler.log").read_text()
        assert "the store takes writes again" in log
        assert scheduler.poll() is None
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
        subprocess.run(["umount", "-l", str(home.path)], check=False)
