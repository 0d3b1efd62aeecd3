"""What importing a part of flowtui loads, at run time (STYLE.md §1): the engine never loads
Textual; the command types and the dashboard load no scheduler, executor, loader or store
writes. `lint-imports` checks the same statically; deferred imports are only seen here."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

ENGINE_ONLY = ("flowtui.scheduling", "flowtui.execution", "flowtui.loading", "flowtui.store.writes")


def _loaded_after(imports: str, prefixes: tuple[str, ...]) -> list[str]:
    """Modules starting with one of `prefixes` that are loaded after running `imports` in a
    fresh interpreter."""
    script = textwrap.dedent(f"""
        import sys
        {imports}
        print(",".join(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [m for m in done.stdout.strip().split(",") if m]


def test_engine_modules_do_not_load_textual() -> None:
    skip = ("flowtui.tui", "flowtui.__main__", "flowtui.sample_dags")
    imports = textwrap.dedent(f"""
        import importlib, pkgutil, flowtui
        for info in pkgutil.walk_packages(flowtui.__path__, "flowtui."):
            if not info.name.startswith({skip!r}):
                importlib.import_module(info.name)
    """).replace("\n", "\n        ")
    assert _loaded_after(imports, ("textual", "flowtui.tui")) == []


@pytest.mark.parametrize(
    "module", ["flowtui.commands.model", "flowtui.tui.app", "flowtui.tui.screens.dag_runs"]
)
def test_command_types_and_the_dashboard_load_no_engine(module: str) -> None:
    assert _loaded_after(f"import {module}", ENGINE_ONLY) == []
