"""What starting the command line costs: importing `flowtui.cli.main` (every command group's
parser) loads no store, no SQLite and no command types; each handler imports what it uses."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Home

DEFERRED = ("sqlite3", "flowtui.store", "flowtui.commands", "flowtui.execution")


def test_the_parser_loads_no_store_sqlite_or_commands() -> None:
    script = (
        "import sys, flowtui.cli.main\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({DEFERRED!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


LAZY = ("ctypes", "zoneinfo", "flowtui.cron", "flowtui.scheduling.timetables")


def test_dags_test_of_an_unscheduled_dag_loads_no_timetable_or_ctypes(home: Home) -> None:
    """A manual run without a schedule covers its logical date alone: no timetable, time zone
    or cron table is needed. ctypes is for the fork server, which loads it itself. (The home
    is made first: making one imports sqlite_utils, which imports both.)"""
    home.write_dag(
        "one.py",
        """
        from flowtui import DAG, EmptyOperator
        with DAG("one", schedule=None):
            EmptyOperator(task_id="t")
        """,
    )
    home.run("dags", "list", check=True)
    script = (
        "import sys\n"
        "from flowtui.cli.main import main\n"
        "sys.argv = ['flowtui', 'dags', 'test', 'one']\n"
        "code = main()\n"
        f"print('loaded:', ','.join(sorted(m for m in sys.modules if m.startswith({LAZY!r}))))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=home.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run test__" in done.stdout
    assert ": success" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "
