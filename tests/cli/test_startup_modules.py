"""The command line's own process in `dags test` loads no `dataclasses` (nor what it drags in:
inspect, dis, ast): ~15 ms of start-up. The fork server, a process of its own, may."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Home

UNUSED = ("dataclasses", "inspect", "dis", "ast")


def test_dags_test_loads_no_dataclasses_in_the_command_line_process(home: Home) -> None:
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
        f"print('loaded:', ','.join(sorted(m for m in {UNUSED!r} if m in sys.modules)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=home.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": success" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "
