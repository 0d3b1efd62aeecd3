"""What starting the command line costs: importing `flowtui.cli.main` (every command group's
parser) loads no store, no SQLite and no command types; each handler imports what it uses."""

from __future__ import annotations

import subprocess
import sys

DEFERRED = ("sqlite3", "flowtui.store", "flowtui.commands", "flowtui.execution")


def test_the_parser_loads_no_store_sqlite_or_commands() -> None:
    script = (
        "import sys, flowtui.cli.main\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({DEFERRED!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
