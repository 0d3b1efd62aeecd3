"""Helpers of the scheduling benchmark (bench/schedule.py): the DAG files it writes, a real
`flowtui scheduler` process on a fresh home, read-only polling of that home's store, and the
check that nothing the scheduler started outlives it."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

BANNER = "flowtui scheduler:"
"""The line `flowtui scheduler` prints once it has loaded the folder and answers commands."""
STOP_GRACE_S = 20.0
"""How long a SIGTERM'd scheduler may take to exit before its process group is killed."""


class BenchError(Exception):
    """A measurement could not be taken: a command failed, or the store is not as expected."""


# --- DAG files ---


def lateness_dag(dag_id: str, interval_s: float, start: datetime) -> str:
    """One no-op task every `interval_s` seconds from `start` (aware UTC), catchup=False."""
    return f'''"""Scheduling benchmark: a no-op task every {interval_s:g} s; measures lateness."""

from datetime import UTC, datetime, timedelta

from flowtui import DAG, PythonOperator


def noop() -> None:
    """Do nothing, so that only the orchestrator's own cost is measured."""


with DAG(
    "{dag_id}",
    schedule=timedelta(seconds={interval_s!r}),
    start_date=datetime({_datetime_args(start)}, tzinfo=UTC),
    catchup=False,
) as dag:
    PythonOperator(task_id="noop", python_callable=noop)
'''


def load_dag(index: int, extra_task: str | None = None) -> str:
    """DAG `load_NNN`: a chain of 10 no-op Python tasks (plus `extra_task` at its end), no
    schedule, so that loading it creates no run."""
    extra = ""
    if extra_task:
        extra = f'    tasks[-1] >> PythonOperator(task_id="{extra_task}", python_callable=noop)\n'
    return f'''"""Scheduling benchmark: generated DAG {index} of a large folder."""

from flowtui import DAG, PythonOperator, chain


def noop() -> None:
    """Do nothing."""


with DAG("{load_dag_id(index)}", schedule=None, tags=["bench"]) as dag:
    tasks = [PythonOperator(task_id=f"t{{n}}", python_callable=noop) for n in range(10)]
    chain(*tasks)
{extra}'''


def load_dag_id(index: int) -> str:
    return f"load_{index:03d}"


def catchup_dag(dag_id: str, start: datetime, max_active_runs: int) -> str:
    """@daily from `start` (UTC midnight) with catchup, 3 no-op Python tasks in a chain."""
    return f'''"""Scheduling benchmark: catch up daily runs since {start:%Y-%m-%d}."""

from datetime import UTC, datetime

from flowtui import DAG, PythonOperator, chain


def noop() -> None:
    """Do nothing."""


with DAG(
    "{dag_id}",
    schedule="@daily",
    start_date=datetime({_datetime_args(start)}, tzinfo=UTC),
    catchup=True,
    max_active_runs={max_active_runs},
) as dag:
    chain(*(PythonOperator(task_id=f"t{{n}}", python_callable=noop) for n in range(3)))
'''


def _datetime_args(at: datetime) -> str:
    parts = [at.year, at.month, at.day, at.hour, at.minute, at.second]
    return ", ".join(str(p) for p in parts)


def utc_midnight_days_ago(days: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


# --- the environment and the store ---


def environment(home: Path, dags_folder: Path) -> dict[str, str]:
    """The environment names the same home and folder as the flags (as in run.py), so that a
    run can never touch ~/.flowtui."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTUI_")}
    return env | {"FLOWTUI_HOME": str(home), "FLOWTUI_DAGS_FOLDER": str(dags_folder)}


def fresh_home(root: Path, name: str) -> Path:
    home = root / name
    home.mkdir(mode=0o700)
    return home


def epoch(text: Any, what: str = "a timestamp") -> float:
    """A store timestamp (ISO-8601 UTC) as seconds since the epoch.

    Raises:
        BenchError: the store holds no timestamp (NULL) where one is expected.
    """
    if not text:
        raise BenchError(f"the store holds no {what}")
    return datetime.fromisoformat(str(text)).timestamp()


class StoreReader:
    """Read-only queries on a home's store, which may not exist yet: until it does (and has
    its tables), every query returns None."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._conn: sqlite3.Connection | None = None

    def one(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        conn = self._connect()
        if conn is None:
            return None
        try:
            return conn.execute(sql, params).fetchone()
        except sqlite3.OperationalError:
            return None  # no such table yet: the schema is being created

    def all(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        conn = self._connect()
        if conn is None:
            raise BenchError(f"no store at {self.db_path}")
        return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None:
            if not self.db_path.exists():
                return None
            try:
                conn = sqlite3.connect(
                    f"file:{self.db_path}?mode=ro", uri=True, timeout=30.0, isolation_level=None
                )
                conn.execute("PRAGMA busy_timeout = 30000")
            except sqlite3.Error:
                return None
            conn.row_factory = sqlite3.Row
            self._conn = conn
        return self._conn


# --- the scheduler process ---


@dataclass
class SchedulerProcess:
    """A real `flowtui scheduler`; `spawned_at` is the wall clock (time.time()) just before
    the spawn and `spawned_perf` the perf_counter() at the same moment."""

    process: subprocess.Popen[bytes]
    output: Path
    home: Path
    spawned_at: float
    spawned_perf: float
    banner_s: float | None = None
    """Seconds from the spawn to the banner, once `wait_for_banner` saw it."""
    leftovers: list[str] = field(default_factory=list)
    """Processes of this home still alive after the scheduler exited (then killed)."""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(
                f"`flowtui scheduler` exited with {self.process.returncode}: {self.tail()}"
            )

    def tail(self, lines: int = 8) -> str:
        text = self.output.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def wait_for_banner(self, timeout_s: float) -> float:
        deadline = time.perf_counter() + timeout_s
        while BANNER not in self.output.read_text(errors="replace"):
            self.check_alive()
            if time.perf_counter() > deadline:
                raise BenchError(f"`flowtui scheduler` printed no banner in {timeout_s:g} s")
            time.sleep(0.005)
        self.banner_s = time.perf_counter() - self.spawned_perf
        return self.banner_s


@contextlib.contextmanager
def running_scheduler(flowtui: str, home: Path, dags_folder: Path) -> Iterator[SchedulerProcess]:
    """Start `flowtui scheduler` on `home` in its own session; stop it with SIGTERM on the way
    out, kill its process group if it outstays STOP_GRACE_S, then look for (and kill) any
    process of this home that is still alive."""
    output = home.parent / f"{home.name}-scheduler.out"
    argv = [flowtui, "--home", str(home), "--dags-folder", str(dags_folder), "scheduler"]
    with output.open("wb") as log:
        spawned_at, spawned_perf = time.time(), time.perf_counter()
        process = subprocess.Popen(
            argv,
            env=environment(home, dags_folder),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    scheduler = SchedulerProcess(process, output, home, spawned_at, spawned_perf)
    try:
        yield scheduler
    finally:
        stop_scheduler(scheduler)


def stop_scheduler(scheduler: SchedulerProcess) -> None:
    process = scheduler.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            scheduler.leftovers.append(
                f"`flowtui scheduler` (pid {process.pid}) ignored SIGTERM for "
                f"{STOP_GRACE_S:g} s; killed"
            )
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # it, if still there, and its group
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    scheduler.leftovers += kill_leftovers(scheduler.home)


def kill_leftovers(home: Path) -> list[str]:
    """Kill (by pid) every process whose FLOWTUI_HOME is `home`: only this bench's commands
    and their children carry it. Returns a description of each."""
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("FLOWTUI_HOME") != str(home):
                continue
            found.append(f"pid {proc.pid} ({' '.join(proc.info['cmdline'] or [])[:80]})")
            proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found
