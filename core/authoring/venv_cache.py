"""The virtualenvs of `PythonVirtualenvOperator` and `@task.virtualenv`: one per requirements
set (interpreter, requirements, system site packages, pip options), made once under
`$FLOWTUI_HOME/venvs` and reused by every later attempt. Attempts that race for the same one
take turns on a lock file; a venv is used only once its last step wrote its ready mark, so a
half-made one (an attempt killed while it built) is removed and built again."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

READY = "flowtui-ready"
"""The file a venv's last build step writes; a venv without it is half-made."""


class VenvSpec(NamedTuple):
    """What makes two venvs the same."""

    python: str
    """The interpreter the venv is made from."""
    requirements: tuple[str, ...]
    system_site_packages: bool
    pip_install_options: tuple[str, ...]
    index_urls: tuple[str, ...]

    def key(self) -> str:
        """A short stable name for the set: the venv's folder."""
        text = json.dumps(self._asdict(), sort_keys=True)
        return "venv-" + hashlib.sha256(text.encode()).hexdigest()[:16]


class VenvFailed(Exception):
    """Making the venv or installing its requirements failed; the message says which step."""


def venv_python(cache: Path, spec: VenvSpec) -> Path:
    """The interpreter of the venv for `spec` under `cache`, made first if needed.

    Raises:
        VenvFailed: venv or pip failed (their output was printed to the task log).
    """
    folder = cache / spec.key()
    python = folder / "bin" / "python"
    if (folder / READY).exists():
        return python
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{spec.key()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another attempt may be building it: wait for it
        if (folder / READY).exists():
            return python
        if folder.exists():
            print(f"[flowtui] removing the half-made virtualenv {folder}", flush=True)
            shutil.rmtree(folder)
        _build(folder, spec)
    return python


def _build(folder: Path, spec: VenvSpec) -> None:
    print(f"[flowtui] creating the virtualenv {folder}", flush=True)
    # Without pip where flowtui's own pip can install into it (`pip --python`): that is offline
    # and seconds faster than ensurepip.
    has_pip = importlib.util.find_spec("pip") is not None
    command = [spec.python, "-m", "venv"]
    if has_pip or not spec.requirements:
        command.append("--without-pip")
    if spec.system_site_packages:
        command.append("--system-site-packages")
    _run([*command, str(folder)], "creating the virtualenv")
    if spec.requirements:
        requirements = folder / "requirements.txt"
        requirements.write_text("\n".join(spec.requirements) + "\n")
        index = _index_options(spec.index_urls)
        python = str(folder / "bin" / "python")
        pip = (
            [sys.executable, "-m", "pip", "--python", python] if has_pip else [python, "-m", "pip"]
        )
        install = [*pip, "install", *index, *spec.pip_install_options, "-r", str(requirements)]
        _run(install, "pip install")
    (folder / READY).write_text(json.dumps(spec._asdict()) + "\n")


def _index_options(index_urls: Sequence[str]) -> list[str]:
    if not index_urls:
        return []
    first, *rest = index_urls
    return ["--index-url", first, *(o for url in rest for o in ("--extra-index-url", url))]


def _run(command: list[str], step: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise VenvFailed(f"{step} failed (exit code {done.returncode}); see the log above")
