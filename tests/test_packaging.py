"""`pip install .` must ship what `pip install -e .` finds: every module of core/ and tui/,
the dashboard's stylesheet and the sample DAGs' data, and nothing named core or tui. Built
with the test venv's setuptools (the `test` extra pins it), not an isolated build env that pip
would fill from the index each time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a clean copy: setuptools' build/ folder keeps stale files
    for name in ("core", "tui", "sample_dags"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("-w", str(tmp_path), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("flowtui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for folder, package in (
        ("core", "flowtui"),
        ("tui", "flowtui/tui"),
        ("sample_dags", "flowtui/sample_dags"),
    ):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".tcss", ".json", ".sql"):
                expected.add(f"{package}/{path.relative_to(ROOT / folder).as_posix()}")
    assert expected - names == set()
    assert not any(n.startswith(("core/", "tui/")) for n in names)
