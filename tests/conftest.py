"""Shared fixtures: a fresh home with a real SQLite store, a DAG folder to write files into,
the real `flowtui` command; a store file on its own (`db`) with the attempts that run against
it (`attempt_info`); and `wait_until`, the one way tests wait for something."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from flowtui.authoring import variables as variables_module
from flowtui.config import Settings, load_settings
from flowtui.execution.base import AttemptInfo
from flowtui.store import Store, reads
from flowtui.store.schema import open_connection

FLOWTUI = shutil.which("flowtui") or str(Path(sys.executable).parent / "flowtui")


@dataclass(frozen=True)
class Home:
    """A flowtui home under tmp_path, its DAG folder, and ways to run and inspect it."""

    path: Path
    dags: Path

    @property
    def settings(self) -> Settings:
        return load_settings(self.path, self.dags)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTUI_")}
        env.update(FLOWTUI_HOME=str(self.path), FLOWTUI_DAGS_FOLDER=str(self.dags))
        return env

    def write_dag(self, name: str, source: str) -> Path:
        path = self.dags / name
        path.write_text(textwrap.dedent(source))
        return path

    def configure(self, **values: Any) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        lines = [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        (self.path / "flowtui.toml").write_text("\n".join(lines) + "\n")

    def run(
        self,
        *args: str,
        timeout: float = 60,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `flowtui` command on this home."""
        done = subprocess.run(
            [FLOWTUI, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"flowtui {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start `flowtui ARGS` in the background (e.g. the scheduler)."""
        return subprocess.Popen(
            [FLOWTUI, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def store(self) -> Store:
        return Store(self.path / "flowtui.db")

    def runs_show(self, dag_id: str, run_id: str | None = None) -> dict[str, Any]:
        done = self.run(
            "runs", "show", dag_id, *([run_id] if run_id else []), "--output", "json", check=True
        )
        shown: dict[str, Any] = json.loads(done.stdout)
        return shown

    def latest_task_state(self, dag_id: str, task_id: str) -> str | None:
        """The task's state in the DAG's latest run, None while the DAG has no run (a trigger
        sent through the command API lands a moment later)."""
        done = self.run("runs", "show", dag_id, "--output", "json")
        if done.returncode != 0:
            return None
        state: str = json.loads(done.stdout)["tasks"][task_id]["state"]
        return state

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        store = self.store()
        try:
            row = reads.task_instance(store.conn, dag_id, run_id, task_id)
        finally:
            store.close()
        return None if row is None else str(row["state"])

    def latest_run_id(self, dag_id: str) -> str:
        """The run id of the DAG's latest run (by logical date); fails if it has none."""
        store = self.store()
        try:
            run = reads.run(store.conn, dag_id)
        finally:
            store.close()
        assert run is not None, f"{dag_id} has no run"
        return str(run["run_id"])

    def events(self, **where: str) -> list[dict[str, Any]]:
        store = self.store()
        try:
            return reads.events(store.conn, **where)  # type: ignore[arg-type]
        finally:
            store.close()


@pytest.fixture
def home(tmp_path: Path) -> Home:
    dags = tmp_path / "dags"
    dags.mkdir()
    return Home(tmp_path / "home", dags)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, migrated store file that `Variable` uses; no FLOWTUI_VAR_ from outside."""
    monkeypatch.setattr(variables_module, "_db_path", None)  # restored after the test
    for name in [n for n in os.environ if n.startswith("FLOWTUI_VAR_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "flowtui.db"
    open_connection(path).close()
    variables_module.configure(path)
    return path


def attempt_info(db: Path, dag_id: str, task_id: str, **changes: Any) -> AttemptInfo:
    """The first try of a task in a manual run of 2024-03-05, against the store `db`."""
    fields: dict[str, Any] = {
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": "manual__2024-03-05",
        "try_number": 1,
        "max_tries": 0,
        "logical_date": "2024-03-05T00:00:00+00:00",
        "data_interval_start": "2024-03-04T00:00:00+00:00",
        "data_interval_end": "2024-03-05T00:00:00+00:00",
        "run_type": "manual",
        "conf": {},
        "db_path": str(db),
    }
    return AttemptInfo(**{**fields, **changes})


def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
    seen: Callable[[], str] | None = None,
) -> Any:
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds,
    saying what was awaited and, with `seen`, what there was instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    instead = f":\n{seen()}" if seen is not None else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{instead}")


@pytest.fixture
def scheduler(home: Home) -> Iterator[subprocess.Popen[str]]:
    """A real `flowtui scheduler` on the home, stopped (SIGTERM) after the test."""
    process = start_scheduler(home)
    yield process
    stop_scheduler(process)


def start_scheduler(home: Home) -> subprocess.Popen[str]:
    """Start a real `flowtui scheduler` on `home`; return once it answers commands."""
    process = home.start("scheduler")
    assert process.stdout is not None
    banner = process.stdout.readline()  # printed once the scheduler answers commands
    assert banner.startswith("flowtui scheduler:"), banner + process.stdout.read()
    return process


def stop_scheduler(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 20 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def has_exited(pid: int) -> bool:
    """Whether process `pid` has ended: gone, or a zombie nobody has reaped yet."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
