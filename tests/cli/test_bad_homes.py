"""A home flowtui cannot use is one line naming the path and the fix, from every command that
opens it (`dags list`, `scheduler`, the dashboard): read-only, another user's, an unreadable,
garbage or foreign `flowtui.db`, a `flowtui.toml` that is not UTF-8 or not TOML. Unknown keys
in `flowtui.toml` are warned about. The cases that need another user run the real command as
`nobody` (setpriv), in a folder under /tmp that `nobody` can reach."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FLOWTUI

NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]

ERROR = "flowtui: error: "


@dataclass(frozen=True)
class Done:
    """What one run of the real command left: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[Path, bool], Done]
"""Runs one command on a home (the bool: as nobody) and says how it ended."""


def _env(home: Path, dags: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTUI_")}
    env.update(FLOWTUI_HOME=str(home), FLOWTUI_DAGS_FOLDER=str(dags), HOME=str(home.parent))
    return env


def _argv(args: list[str], as_nobody: bool) -> list[str]:
    return [*(SETPRIV if as_nobody else []), FLOWTUI, *args]


def _in_pipes(args: list[str]) -> Runner:
    def run(home: Path, as_nobody: bool) -> Done:
        done = subprocess.run(
            _argv(args, as_nobody),
            env=_env(home, home.parent / "dags"),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    return run


def _in_a_terminal(home: Path, as_nobody: bool) -> Done:
    """The dashboard, on a pseudo-terminal of its own: all it wrote (stdout and stderr are the
    terminal) comes back as stderr."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        _argv([], as_nobody),
        env={**_env(home, home.parent / "dags"), "TERM": "xterm-256color"},
        stdin=child,
        stdout=child,
        stderr=child,
        start_new_session=True,
    )
    os.close(child)
    written = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if select.select([main], [], [], 0.1)[0]:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # EIO: the command exited and closed the terminal
                    break
                if not chunk:
                    break
                written += chunk
            elif process.poll() is not None:
                break
    finally:
        if process.poll() is None:
            process.kill()  # the dashboard took the screen: the home was not refused
            _stop_scheduler(home)
        returncode = process.wait(timeout=20)
        os.close(main)
    return Done(returncode, "", written.decode(errors="replace").replace("\r\n", "\n"))


def _stop_scheduler(home: Path) -> None:
    """Stop the scheduler a dashboard that was not refused may have started on the home."""
    from flowtui.scheduling.lock import holder_pid

    pid = holder_pid(home / "scheduler.lock")
    if pid:  # 0: held, its PID not written yet; never os.kill(0), our own process group
        os.kill(pid, signal.SIGTERM)


COMMANDS = {
    "dags list": _in_pipes(["dags", "list"]),
    "scheduler": _in_pipes(["scheduler"]),
    "dashboard": _in_a_terminal,
}


@pytest.fixture(params=sorted(COMMANDS))
def command(request: pytest.FixtureRequest) -> Runner:
    runner: Runner = COMMANDS[request.param]
    return runner


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder that `nobody` can reach (pytest's tmp_path is private to root), with a DAG
    folder in it."""
    folder = Path(tempfile.mkdtemp(prefix="flowtui-bad-home-"))
    try:
        folder.chmod(0o755)
        (folder / "dags").mkdir(mode=0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def as_nobody(place: Path) -> bool:
    """Skip unless the real command can run as `nobody` here (root, setpriv, a venv that
    `nobody` can read and run)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run flowtui as another user")
    probe = subprocess.run(_argv(["--help"], True), capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot run {FLOWTUI}: {probe.stderr.strip()[-200:]}")
    return True


def assert_one_line(done: Done, *expected: str) -> str:
    """The command failed with one `flowtui: error:` line containing `expected`, and nothing
    else: no traceback, no escape codes of a dashboard that started anyway."""
    assert done.returncode == 1, done
    assert done.stderr.startswith(ERROR), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "\x1b" not in done.stderr, "the dashboard started instead of refusing"
    for text in expected:
        assert text in done.stderr
    return done.stderr


def _made(path: Path, mode: int, owner: int = 0, *, folder: bool = True) -> Path:
    """`path` made (a folder, or an empty file) with `mode`, owned by `owner`."""
    if folder:
        path.mkdir()
    else:
        path.touch()
    os.chown(path, owner, owner)
    path.chmod(mode)
    return path


def test_a_read_only_home_is_one_line(place: Path, as_nobody: bool, command: Runner) -> None:
    home = _made(place / "home", 0o500, NOBODY)
    assert_one_line(command(home, as_nobody), f"{home}: flowtui cannot write there", "--home")
    assert list(home.iterdir()) == []


def test_a_logs_folder_of_another_user_is_one_line(
    place: Path, as_nobody: bool, command: Runner
) -> None:
    """A logs folder that another user's flowtui (root's, by `sudo flowtui`) made in the home."""
    home = _made(place / "home", 0o700, NOBODY)
    _made(home / "logs", 0o755)
    assert_one_line(command(home, as_nobody), f"{home / 'logs'} belongs to user root", "chown")


def test_a_home_of_another_user_is_one_line(place: Path, as_nobody: bool, command: Runner) -> None:
    home = _made(place / "home", 0o777)  # writable: only its owner says it is not nobody's
    stderr = assert_one_line(command(home, as_nobody), str(home), "belongs to user root")
    assert "not to user nobody" in stderr
    assert list(home.iterdir()) == []


def test_root_is_refused_another_users_home_too(place: Path, command: Runner) -> None:
    """Permission bits do not stop root: the owner check does, so that root's flowtui never
    fills a user's home with files that user cannot write."""
    home = _made(place / "home", 0o700, NOBODY)
    stderr = assert_one_line(command(home, False), str(home), "belongs to user nobody")
    assert "not to user root" in stderr
    assert list(home.iterdir()) == []


def test_an_unreadable_store_is_one_line(place: Path, as_nobody: bool, command: Runner) -> None:
    home = _made(place / "home", 0o700, NOBODY)
    db = _made(home / "flowtui.db", 0o000, NOBODY, folder=False)
    assert_one_line(command(home, as_nobody), f"{db}: cannot open the store (permission denied)")


def test_a_store_of_another_user_is_one_line(place: Path, as_nobody: bool, command: Runner) -> None:
    """Readable but not writable: SQLite would open it read-only and fail at the first write."""
    home = _made(place / "home", 0o700, NOBODY)
    db = home / "flowtui.db"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    assert_one_line(command(home, as_nobody), f"{db}: cannot open the store")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(os.urandom(8192), id="garbage"),
        pytest.param(b"SQLite format 3\x00" + b"\xff" * 4000, id="bad header"),
    ],
)
def test_a_garbage_store_is_one_line(place: Path, command: Runner, content: bytes) -> None:
    home = _made(place / "home", 0o700)
    db = home / "flowtui.db"
    db.write_bytes(content)
    stderr = assert_one_line(command(home, False))
    assert stderr == (
        f"{ERROR}not a flowtui store, or damaged: {db}; move it away or restore a backup\n"
    )
    assert db.read_bytes() == content


def test_another_programs_database_is_not_taken_over(place: Path, command: Runner) -> None:
    home = _made(place / "home", 0o700)
    db = home / "flowtui.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    assert_one_line(command(home, False), f"not a flowtui store, or damaged: {db}")
    with sqlite3.connect(db) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert tables == ["notes"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b'dags_folder = "caf\xe9"\n', "not UTF-8 text (byte 0xe9", id="latin-1"),
        pytest.param(b"parallelism = \n", "not valid TOML", id="not TOML"),
        pytest.param(b"parallelism = -3\n", "parallelism must be a positive number", id="value"),
        pytest.param(
            b"[dashboard]\nnotify = 'yes'\n",
            "dashboard.notify must be true or false, not 'yes'",
            id="dashboard-notify",
        ),
    ],
)
def test_a_bad_config_file_is_one_line(
    place: Path, command: Runner, content: bytes, expected: str
) -> None:
    home = _made(place / "home", 0o700)
    (home / "flowtui.toml").write_bytes(content)
    assert_one_line(command(home, False), f"{home / 'flowtui.toml'}: {expected}")


def test_an_unreadable_config_file_is_one_line(place: Path, as_nobody: bool) -> None:
    home = _made(place / "home", 0o700, NOBODY)
    config = home / "flowtui.toml"
    config.write_text("parallelism = 4\n")
    config.chmod(0o600)  # root's
    done = _in_pipes(["dags", "list"])(home, as_nobody)
    assert_one_line(done, f"{config}: cannot be read (permission denied)")


def test_unknown_config_keys_are_warned_about_one_line_each(place: Path) -> None:
    home = _made(place / "home", 0o700)
    config = home / "flowtui.toml"
    config.write_text("paralelism = 4\nparallelism = 2\n[wholly_unrelated]\nx = 1\n")
    done = _in_pipes(["dags", "list"])(home, False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"flowtui: warning: {config}: unknown key 'paralelism' is ignored; did you mean "
        f"'parallelism'? known keys: dag_file_import_timeout, dags_folder, dashboard, dask, "
        f"executor, log_retention_days, notify, parallelism, smtp, task_kill_grace_seconds",
        f"flowtui: warning: {config}: unknown key 'wholly_unrelated' is ignored; known keys: "
        f"dag_file_import_timeout, dags_folder, dashboard, dask, executor, log_retention_days, "
        f"notify, parallelism, smtp, task_kill_grace_seconds",
        f"flowtui: warning: DAG folder {place / 'dags'} holds no .py file; add DAG files, or "
        f"point --dags-folder, FLOWTUI_DAGS_FOLDER or dags_folder in flowtui.toml elsewhere",
    ]


@pytest.mark.parametrize("args", [["dags", "list"], ["runs", "list", "x"], ["scheduler"]])
def test_a_store_damaged_past_its_first_page_is_one_line(place: Path, args: list[str]) -> None:
    """The file opens (its header and schema are whole) and fails at the first query. (The
    dashboard does not read the whole store before it starts: it reports this in the notice
    that its scheduler could not start.)"""
    home = place / "home"
    made = _in_pipes(["dags", "list"])(home, False)
    assert made.returncode == 0, made.stderr
    db = home / "flowtui.db"
    with db.open("r+b") as file:
        file.seek(4096)  # page 1 holds the header and the schema; every table is after it
        file.write(b"\xa5" * (db.stat().st_size - 4096))
    stderr = assert_one_line(_in_pipes(args)(home, False))
    assert stderr == (
        f"{ERROR}not a flowtui store, or damaged: {db}; move it away or restore a backup\n"
    )
