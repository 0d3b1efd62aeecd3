"""A bug's traceback goes to a private file under the home, else under the user's own state
folder, never to a file in a folder every user shares (/tmp); the user gets one line saying
where it went. The bug is simulated in a real process: the command line's `main` with its
settings loader replaced by one that raises."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CRASH = """
import sys
import flowtui.cli.main as cli

def boom(*args, **kwargs):
    raise RuntimeError("boom")

cli.load_settings = boom
sys.exit(cli.main(["dags", "list"]))
"""

SHARED = Path(tempfile.gettempdir()) / "flowtui-crash.log"


def _crash(home: Path, state: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTUI_")}
    env.update(FLOWTUI_HOME=str(home), XDG_STATE_HOME=str(state))
    return subprocess.run(
        [sys.executable, "-c", CRASH], env=env, capture_output=True, text=True, timeout=60
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def shared_file_untouched() -> Iterator[None]:
    """No test here writes the crash log of old, in /tmp."""
    before = SHARED.stat() if SHARED.exists() else None
    yield
    after = SHARED.stat() if SHARED.exists() else None
    assert (before and (before.st_mtime_ns, before.st_size)) == (
        after and (after.st_mtime_ns, after.st_size)
    )


def test_the_traceback_goes_under_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = _crash(home, tmp_path / "state")
    log = home / "logs" / "flowtui-crash.log"
    assert done.returncode == 1
    assert done.stderr == f"flowtui: error: unexpected RuntimeError: boom (traceback in {log})\n"
    assert "Traceback (most recent call last)" in log.read_text()
    assert "RuntimeError: boom" in log.read_text()
    assert (_mode(log), _mode(log.parent)) == (0o600, 0o700)
    assert not (tmp_path / "state").exists()


def test_without_a_usable_home_it_goes_to_the_users_state_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)  # another user's: nothing of ours is written there
    state = tmp_path / "state"
    done = _crash(home, state)
    log = state / "flowtui" / "flowtui-crash.log"
    assert done.stderr == f"flowtui: error: unexpected RuntimeError: boom (traceback in {log})\n"
    assert "RuntimeError: boom" in log.read_text()
    assert (_mode(log), _mode(log.parent), _mode(state)) == (0o600, 0o700, 0o700)
    assert list(home.iterdir()) == []


def test_a_crash_makes_no_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _crash(home, tmp_path / "state")
    assert "traceback in " + str(tmp_path / "state" / "flowtui") in done.stderr
    assert not home.exists()


def test_with_nowhere_to_write_it_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    state = tmp_path / "state"
    state.write_text("a file where a folder should be\n")
    done = _crash(home, state)
    assert done.returncode == 1
    assert done.stderr == (
        "flowtui: error: unexpected RuntimeError: boom (no traceback saved: cannot write to "
        f"{home / 'logs'} or {state / 'flowtui'})\n"
    )
