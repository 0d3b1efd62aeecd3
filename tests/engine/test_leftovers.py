"""What a task leaves behind: processes it started in its process group and abandoned (`&`,
`nohup`, a `subprocess.Popen` never waited for) are stopped when the attempt ends, with SIGKILL
for those that ignore SIGTERM, and the attempt's log names them; a process that started a
session of its own is named and left alone. Through the real `flowtui dags test`."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.conftest import Home, has_exited

LEAVER = """
    import subprocess
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator

    def popen():
        process = subprocess.Popen(["sleep", "300"])
        open({folder!r} + "/popen", "w").write(str(process.pid))

    with DAG("leaver", start_date=datetime(2024, 1, 1), schedule=None):
        BashOperator(
            task_id="background",
            bash_command="nohup sleep 300 >/dev/null 2>&1 & echo $! > {folder}/background",
        )
        BashOperator(
            task_id="stubborn",
            bash_command="bash -c 'trap \\"\\" TERM; echo $$ > {folder}/stubborn; sleep 300' &"
            " sleep 0.3",
        )
        BashOperator(
            task_id="daemon",
            bash_command="setsid sleep 300 >/dev/null 2>&1 & echo $! > {folder}/daemon; sleep 0.3",
        )
        PythonOperator(task_id="popen", python_callable=popen)
"""


def _pid(folder: Path, name: str) -> int:
    return int((folder / name).read_text())


def _log(home: Home, task_id: str) -> str:
    (log,) = (home.path / "logs" / "leaver").rglob(f"{task_id}/attempt=1.log")
    return log.read_text()


def test_processes_a_task_leaves_in_its_group_are_stopped_and_named(
    home: Home, tmp_path: Path
) -> None:
    home.configure(task_kill_grace_seconds=0.5)
    home.write_dag("leaver.py", LEAVER.format(folder=str(tmp_path)))
    done = home.run("dags", "test", "leaver", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr

    for task_id in ("background", "popen"):
        pid = _pid(tmp_path, task_id)
        assert has_exited(pid), task_id
        log = _log(home, task_id)
        assert f"the task left 1 process(es) running: {pid} " in log  # its name may lag exec
        assert "they have stopped" in log

    stubborn = _pid(tmp_path, "stubborn")
    assert has_exited(stubborn)
    assert "still running 0.5 s after SIGTERM, killed with SIGKILL" in _log(home, "stubborn")

    daemon = _pid(tmp_path, "daemon")
    try:
        assert not has_exited(daemon)
        left = f"left running (each started a session of its own): {daemon} "
        assert left in _log(home, "daemon")
    finally:
        os.kill(daemon, signal.SIGKILL)
