"""What starting the command line costs: importing `flowtui.cli.main` (every command group's
parser) loads no store, no SQLite and no command types; each handler imports what it uses."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Home

DEFERRED = ("sqlite3", "flowtui.store", "flowtui.commands", "flowtui.execution")


def test_the_parser_loads_no_store_sqlite_or_commands() -> None:
    assert _loaded_by_importing("flowtui.cli.main", DEFERRED) == ""


def _loaded_by_importing(modules: str, prefixes: tuple[str, ...]) -> str:
    """The modules starting with one of `prefixes` that a fresh Python holds after importing
    `modules` (comma-separated), comma-separated."""
    script = (
        f"import sys, {modules}\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


LAZY = ("ctypes", "zoneinfo", "flowtui.cron", "flowtui.scheduling.timetables")
"""Not needed for a manual run of a DAG without a schedule: no timetable, time zone or cron
table. ctypes is for the fork server, which loads it itself."""

UNUSED = ("dataclasses", "inspect", "dis", "ast")
"""~15 ms of start-up that the command line's own process does without (the fork server, a
process of its own, may load them)."""


def test_dags_test_of_an_unscheduled_dag_loads_no_timetable_or_ctypes(home: Home) -> None:
    loaded = _loaded_by_dags_test(home)
    assert [m for m in loaded if m.startswith(LAZY)] == []


def test_dags_test_loads_no_dataclasses_in_the_command_line_process(home: Home) -> None:
    loaded = _loaded_by_dags_test(home)
    assert [m for m in UNUSED if m in loaded] == []


SENDING = ("smtplib", "email", "ssl", "http", "urllib.request", "shlex")
"""What alerts send with, imported only when an alert is sent."""


def test_dags_test_of_a_dag_without_alerts_loads_nothing_that_sends(home: Home) -> None:
    loaded = _loaded_by_dags_test(home)
    assert [m for m in loaded if m.startswith(SENDING)] == []


def _loaded_by_dags_test(home: Home) -> list[str]:
    """The modules the command line's process holds after `dags test` of a one-task DAG
    without a schedule. (The home is made first: making one imports sqlite_utils, which
    imports much of the above.)"""
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
        "print('loaded:', ','.join(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=home.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run test__" in done.stdout
    assert ": success" in done.stdout
    last = done.stdout.splitlines()[-1]
    assert last.startswith("loaded: ")
    return last.removeprefix("loaded: ").split(",")


FIRST_FRAME_LAZY = (
    "flowtui.tui.screens.dag_runs",
    "flowtui.tui.widgets.run_grid",
    "flowtui.tui.screens.source",
    "flowtui.tui.screens.confirm",
    "pygments",
    "markdown_it",
)
"""What the dashboard's first frame (the DAG list) does without: the screens it opens and
their grid, Pygments (the source view), markdown-it (the details views); about 250 ms."""


def test_the_dashboard_imports_the_dag_list_alone_for_its_first_frame() -> None:
    imported = "flowtui.cli.dashboard, flowtui.tui.app"
    assert _loaded_by_importing(imported, FIRST_FRAME_LAZY) == ""
