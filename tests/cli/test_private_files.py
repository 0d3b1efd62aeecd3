"""Every file flowtui makes in a home is 0600 and every folder 0700, whatever the user's umask
(the store and its -wal and -shm, the scheduler's lock and log, the fork server's logs, attempt
logs and their folders), while the files a task writes keep the user's umask. Real scheduler,
real commands, started under umask 000 and 022."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FLOWTUI, Home, wait_until

WRITERS = """
    import os
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator

    OUT = os.environ["FLOWTUI_TEST_OUT"]

    def write(name):
        with open(os.path.join(OUT, name), "w") as file:
            file.write("written by the task\\n")
        os.mkdir(os.path.join(OUT, name + ".d"))
        print("wrote", name)

    with DAG("writers", start_date=datetime(2024, 1, 1)) as dag:
        bash = BashOperator(
            task_id="bash", bash_command=f"touch {OUT}/bash.txt && mkdir {OUT}/bash.d"
        )
        python = PythonOperator(
            task_id="python", python_callable=write, op_args=["python.txt"]
        )
        bash >> python
"""


@pytest.fixture(params=[0o000, 0o022], ids=["umask 000", "umask 022"])
def umask(request: pytest.FixtureRequest) -> int:
    mask: int = request.param
    return mask


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where the tasks write their own files."""
    folder = tmp_path / "out"
    folder.mkdir()
    folder.chmod(0o777)
    return folder


def _env(home: Home, out: Path) -> dict[str, str]:
    return {**home.env, "FLOWTUI_TEST_OUT": str(out)}


def _start(home: Home, out: Path, umask: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FLOWTUI, *args],
        env=_env(home, out),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: os.umask(umask),  # only the child's umask changes
    )


def _run(home: Home, out: Path, umask: int, *args: str) -> str:
    process = _start(home, out, umask, *args)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


@pytest.fixture
def scheduler(home: Home, out: Path, umask: int) -> Iterator[subprocess.Popen[str]]:
    home.write_dag("writers.py", WRITERS)
    process = _start(home, out, umask, "scheduler")
    assert process.stdout is not None
    banner = process.stdout.readline()
    assert banner.startswith("flowtui scheduler:"), banner + process.stdout.read()
    yield process
    process.terminate()
    process.wait(timeout=30)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _not_private(home: Path) -> list[str]:
    """Every file under the home that is not 0600 and every folder that is not 0700."""
    found = [] if _mode(home) == 0o700 else [f"{oct(_mode(home))} {home}"]
    for folder, folders, files in os.walk(home):
        for name in folders:
            path = Path(folder, name)
            if _mode(path) != 0o700:
                found.append(f"{oct(_mode(path))} {path}")
        for name in files:
            path = Path(folder, name)
            if _mode(path) != 0o600:
                found.append(f"{oct(_mode(path))} {path}")
    return found


@pytest.fixture
def ran(home: Home, out: Path, umask: int, scheduler: subprocess.Popen[str]) -> Home:
    """The home once the scheduler ran `writers` to success (the scheduler still runs)."""
    _run(home, out, umask, "dags", "trigger", "writers")
    wait_until(
        lambda: (out / "python.txt").exists() and home.runs_show("writers")["state"] == "success",
        timeout=60,
        what="the run of writers to succeed",
    )
    return home


def test_every_file_and_folder_of_a_home_is_private(ran: Home) -> None:
    for name in ("flowtui.db", "flowtui.db-wal", "flowtui.db-shm", "scheduler.lock"):
        assert (ran.path / name).exists(), name  # checked below, while the scheduler runs
    logs = ran.path / "logs"
    assert (logs / "scheduler.log").exists()
    assert (logs / "executor.log").exists()
    assert list(logs.glob("writers/*/python/attempt=1.log"))
    assert _not_private(ran.path) == []


def test_a_tasks_own_files_keep_the_users_umask(ran: Home, out: Path, umask: int) -> None:
    users = 0o666 & ~umask
    assert (_mode(out / "bash.txt"), _mode(out / "python.txt")) == (users, users)
    assert (_mode(out / "bash.d"), _mode(out / "python.txt.d")) == (0o777 & ~umask,) * 2


def test_tasks_test_gives_the_task_the_users_umask(home: Home, out: Path, umask: int) -> None:
    home.write_dag("writers.py", WRITERS)
    printed = _run(home, out, umask, "tasks", "test", "writers", "python")
    assert "wrote python.txt" in printed
    assert _mode(out / "python.txt") == 0o666 & ~umask
    assert _mode(out / "python.txt.d") == 0o777 & ~umask
    assert _not_private(home.path) == []


def test_a_home_made_by_hand_becomes_private(home: Home, out: Path) -> None:
    home.path.mkdir(mode=0o755)
    home.path.chmod(0o755)
    (home.path / "logs").mkdir(mode=0o755)
    (home.path / "logs").chmod(0o755)
    _run(home, out, 0o022, "dags", "list")
    assert _not_private(home.path) == []


def test_a_flowtui_started_by_flowtui_keeps_the_users_umask_on_record(tmp_path: Path) -> None:
    """The scheduler the dashboard starts runs the command line again, under umask 077: the
    user's umask on record stays the one the first flowtui found."""
    script = (
        "import os\n"
        "from flowtui.config import keep_files_private\n"
        "os.umask(0o002)\n"
        "keep_files_private()\n"
        "first = os.environ['FLOWTUI_USER_UMASK']\n"
        "keep_files_private()\n"
        "print(first, os.environ['FLOWTUI_USER_UMASK'], oct(os.umask(0)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FLOWTUI_USER_UMASK"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["002", "002", "0o77"]
