"""The engine never loads Textual: only `flowtui.tui` may import it (STYLE.md §1)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_engine_modules_do_not_load_textual() -> None:
    skip = ("flowtui.tui", "flowtui.__main__", "flowtui.sample_dags")
    script = textwrap.dedent(f"""
        import importlib, pkgutil, sys, flowtui
        for info in pkgutil.walk_packages(flowtui.__path__, "flowtui."):
            if not info.name.startswith({skip!r}):
                importlib.import_module(info.name)
        print(",".join(m for m in sys.modules if m.split(".")[0] == "textual"))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
