"""The long-running scheduler: commands from another process (trigger, clear with downstream,
mark, pause) recorded in `events`; one scheduler per home; stopping it stops its attempts.
(A scheduler killed mid-run: test_durable_attempts.)"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.conftest import Home, has_exited, wait_until

SLOW_DAG = """
    from datetime import datetime, timedelta
    from flowtui import DAG, BashOperator

    with DAG("slow", start_date=datetime(2024, 1, 1)) as dag:
        work = BashOperator(task_id="work", bash_command="echo $$ > {pid_file}; sleep 60",
                            retries=1, retry_delay=timedelta(seconds=0.2))
        after = BashOperator(task_id="after", bash_command="echo after")
        work >> after
"""


def _running_pid(home: Home, pid_file: Path, previous: int | None = None) -> int:
    def read() -> int | None:
        if not pid_file.exists() or not pid_file.read_text().strip():
            return None
        pid = int(pid_file.read_text())
        return pid if pid != previous else None

    pid: int = wait_until(read, what="the task to write its pid")
    return pid


def test_commands_reach_a_running_scheduler(home: Home, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    home.write_dag("slow.py", SLOW_DAG.format(pid_file=pid_file))
    process = home.start("scheduler")
    assert process.stdout is not None
    assert process.stdout.readline().startswith("flowtui scheduler:")
    try:
        assert home.run("dags", "trigger", "slow").returncode == 0
        run_id = home.latest_run_id("slow")
        first = _running_pid(home, pid_file)

        done = home.run(
            "tasks", "clear", "slow", "--run", run_id, "--task", "^work$", "--downstream"
        )
        assert done.returncode == 0, done.stderr
        assert "work, after" in done.stdout
        second = _running_pid(home, pid_file, previous=first)
        wait_until(lambda: has_exited(first), what="the cleared attempt to die")
        assert home.runs_show("slow", run_id)["tasks"]["work"]["try_number"] == 2

        assert home.run("tasks", "mark", "slow", run_id, "work", "success").returncode == 0
        wait_until(
            lambda: home.task_state("slow", run_id, "after") == "success",
            what="downstream of the marked task to run",
        )
        wait_until(lambda: has_exited(second), what="the marked attempt to die")
        assert home.runs_show("slow", run_id)["state"] == "success"

        assert home.run("dags", "pause", "slow").returncode == 0
        commands = [e for e in home.events(dag_id="slow") if e["kind"] == "command"]
        assert [e["detail"].split('"')[3] for e in commands] == [
            "trigger",
            "clear",
            "mark",
            "set_paused",
        ]
        assert all(e["actor"].startswith("cli:") for e in commands)
        marked = [
            e for e in home.events(dag_id="slow", task_id="work") if e["new_state"] == "success"
        ]
        assert marked
        assert marked[0]["actor"].startswith("cli:")
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_second_scheduler_refuses_and_names_the_first(
    home: Home, scheduler: subprocess.Popen[str]
) -> None:
    done = home.run("scheduler", timeout=20)
    assert done.returncode == 1
    assert done.stderr.startswith("flowtui: error: a scheduler already runs on")
    assert f"pid {scheduler.pid}" in done.stderr
    assert done.stderr.count("\n") == 1


def test_stopping_the_scheduler_stops_its_attempts(home: Home, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    home.write_dag("slow.py", SLOW_DAG.format(pid_file=pid_file))
    process = home.start("scheduler")
    assert process.stdout is not None
    assert process.stdout.readline().startswith("flowtui scheduler:")
    assert home.run("dags", "trigger", "slow").returncode == 0
    run_id = home.latest_run_id("slow")
    task_pid = _running_pid(home, pid_file)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert has_exited(task_pid)
    assert home.task_state("slow", run_id, "work") == "up_for_retry"
    causes = [e["detail"] for e in home.events(dag_id="slow", task_id="work") if e["detail"]]
    assert any("the scheduler stopped" in str(c) for c in causes)
