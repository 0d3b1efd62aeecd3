"""The busy home of the dashboard benchmark: a DAG folder whose DAGs are real, a store holding
100,000 task instances of past runs (bulk-inserted with SQL in one transaction, in the rows the
engine writes: runs, task instances, attempts and state-change events), and a real
`flowtui scheduler` on it running a chain of short bash tasks, so that about two tasks finish
every second while the dashboard is measured."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard_pty import DashboardError

from flowtui.clock import to_text
from flowtui.store.schema import open_connection

FAILING_DAG = "a_failing"
"""Sorts first, so that the DAG list's cursor starts on it; its `transform` task fails."""
FAILING_TASK = "transform"
BUSY_DAG = "b_busy"
"""A chain of BUSY_TASKS `sleep 0.5` bash tasks: about two finish per second while it runs."""
BUSY_TASKS = 200
BUSY_HISTORY_RUNS = 100
HISTORY_DAGS = tuple(f"hist_etl_{n}" for n in range(1, 5))
HISTORY_TASKS = 20
HISTORY_RUNS = 1_000
HISTORY_TASK_INSTANCES = (
    len(HISTORY_DAGS) * HISTORY_RUNS * HISTORY_TASKS + BUSY_HISTORY_RUNS * BUSY_TASKS
)
"""4 x 1,000 x 20 + 100 x 200 = 100,000."""

ALL_DAGS = (FAILING_DAG, BUSY_DAG, *HISTORY_DAGS)

_HEADER = """\
from datetime import datetime

from flowtui import DAG, BashOperator, chain

"""


def write_dag_folder(folder: Path) -> None:
    """One file per DAG: the failing DAG, the busy chain and the four history DAGs."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{FAILING_DAG}.py").write_text(
        _HEADER
        + textwrap.dedent(f"""\
        with DAG(dag_id="{FAILING_DAG}", schedule=None, start_date=datetime(2024, 1, 1),
                 default_args={{"retries": 0}}, tags=["bench"]):
            chain(
                BashOperator(task_id="extract", bash_command="true"),
                BashOperator(task_id="{FAILING_TASK}", bash_command="exit 1"),
                BashOperator(task_id="load", bash_command="true"),
            )
        """)
    )
    (folder / f"{BUSY_DAG}.py").write_text(
        _HEADER
        + textwrap.dedent(f"""\
        with DAG(dag_id="{BUSY_DAG}", schedule=None, start_date=datetime(2024, 1, 1),
                 max_active_runs=1, tags=["bench"]):
            chain(*[BashOperator(task_id=f"step_{{i:03d}}", bash_command="sleep 0.5")
                    for i in range({BUSY_TASKS})])
        """)
    )
    for dag_id in HISTORY_DAGS:
        (folder / f"{dag_id}.py").write_text(
            _HEADER
            + textwrap.dedent(f"""\
            with DAG(dag_id="{dag_id}", schedule=None, start_date=datetime(2024, 1, 1),
                     tags=["bench", "history"]):
                chain(*[BashOperator(task_id=f"step_{{i:02d}}", bash_command="true")
                        for i in range({HISTORY_TASKS})])
            """)
        )


def load_folder(flowtui: str, env: dict[str, str]) -> None:
    """`flowtui dags reserialize` once: creates the store and its dags rows from the real files."""
    done = subprocess.run(
        [flowtui, "dags", "reserialize"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    missing = [d for d in ALL_DAGS if d not in done.stdout]
    if done.returncode != 0 or missing:
        raise DashboardError(
            f"`flowtui dags reserialize` exited {done.returncode} without listing {missing}: "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        )


def fill_history(db_path: Path, home: Path) -> int:
    """Insert the past runs of every DAG but the failing one, in one transaction; returns the
    number of task instances in the store afterwards."""
    conn = open_connection(db_path)
    rng = random.Random(4)
    try:
        tasks = {
            dag_id: [row[0] for row in _task_ids(conn, dag_id)]
            for dag_id in (BUSY_DAG, *HISTORY_DAGS)
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            for dag_id in HISTORY_DAGS:
                _insert_runs(conn, home, dag_id, tasks[dag_id], HISTORY_RUNS, rng)
            _insert_runs(conn, home, BUSY_DAG, tasks[BUSY_DAG], BUSY_HISTORY_RUNS, rng)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (count,) = conn.execute("SELECT COUNT(*) FROM task_instances").fetchone()
        return int(count)
    finally:
        conn.close()


def _task_ids(conn: sqlite3.Connection, dag_id: str) -> list[tuple[str]]:
    """Task ids in DAG order, from the spec the loader stored."""
    rows = conn.execute(
        "SELECT key FROM dags, json_each(dags.spec, '$.tasks') WHERE dag_id = ?", (dag_id,)
    ).fetchall()
    if not rows:
        raise DashboardError(f"{dag_id}: no tasks in its stored spec")
    return rows


def _insert_runs(
    conn: sqlite3.Connection,
    home: Path,
    dag_id: str,
    task_ids: list[str],
    runs: int,
    rng: random.Random,
) -> None:
    """`runs` daily manual runs of a chain DAG, ending yesterday; one run in 17 fails at one
    task (the tasks after it end upstream_failed), the others succeed."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    run_rows, ti_rows, attempt_rows, event_rows = [], [], [], []
    actor = "scheduler"
    for number in range(runs):
        logical = today - timedelta(days=runs - number)
        run_id = f"manual__{logical.isoformat()}"
        fails_at = number % len(task_ids) if number % 17 == 5 else None
        moment = logical + timedelta(minutes=1)
        queued_at, run_start = to_text(moment), to_text(moment + timedelta(milliseconds=1))
        event_rows += [
            (queued_at, "run_created", dag_id, run_id, None, None, None, "queued", actor),
            (run_start, "run_state", dag_id, run_id, None, None, "queued", "running", actor),
        ]
        moment += timedelta(milliseconds=2)
        for index, task_id in enumerate(task_ids):
            key = (dag_id, run_id, task_id)
            if fails_at is not None and index > fails_at:
                at = to_text(moment)
                ti_rows.append((*key, "upstream_failed", 0, None, None, None, None, None))
                event_rows.append((at, "task_state", *key, 0, "none", "upstream_failed", actor))
                continue
            state = "failed" if index == fails_at else "success"
            seconds = rng.uniform(0.2, 3.0)
            queued, start = moment, moment + timedelta(milliseconds=3)
            end = start + timedelta(seconds=seconds)
            moment = end + timedelta(milliseconds=2)
            log = f"{home}/logs/{dag_id}/{run_id}/{task_id}/attempt=1.log"
            times = (to_text(queued), to_text(start), to_text(end))
            ti_rows.append((*key, state, 1, *times, seconds, log))
            attempt_rows.append((*key, 1, state, *times, 1 if state == "failed" else 0, log))
            event_rows += [
                (times[0], "task_state", *key, 0, "none", "scheduled", actor),
                (times[0], "task_state", *key, 1, "scheduled", "queued", actor),
                (times[1], "task_state", *key, 1, "queued", "running", actor),
                (times[2], "task_state", *key, 1, "running", state, actor),
            ]
        run_state = "success" if fails_at is None else "failed"
        run_end = to_text(moment)
        run_rows.append(
            (dag_id, run_id, run_state, logical.isoformat(), queued_at, run_start, run_end)
        )
        event_rows.append(
            (run_end, "run_state", dag_id, run_id, None, None, "running", run_state, actor)
        )
    conn.executemany(
        "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
        "data_interval_start, data_interval_end, conf, queued_at, start_date, end_date) "
        "VALUES (?1, ?2, 'manual', ?3, ?4, ?4, ?4, '{}', ?5, ?6, ?7)",
        run_rows,
    )
    conn.executemany(
        "INSERT INTO task_instances (dag_id, run_id, task_id, state, try_number, max_tries, "
        "operator, priority_weight, queued_at, start_date, end_date, duration, pid, hostname, "
        "log_path) VALUES (?, ?, ?, ?, ?, 0, 'BashOperator', 1, ?, ?, ?, ?, NULL, 'bench', ?)",
        ti_rows,
    )
    conn.executemany(
        "INSERT INTO attempts (dag_id, run_id, task_id, try_number, state, queued_at, "
        "start_date, end_date, exit_code, log_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        attempt_rows,
    )
    conn.executemany(
        "INSERT INTO events (ts, kind, dag_id, run_id, task_id, try_number, old_state, "
        "new_state, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        event_rows,
    )


@dataclass
class SchedulerProcess:
    """A real `flowtui scheduler` on the busy home, its output in a file."""

    process: subprocess.Popen[bytes]
    output: Path


@contextlib.contextmanager
def running_scheduler(
    flowtui: str, env: dict[str, str], output: Path, timeout: float = 60.0
) -> Iterator[SchedulerProcess]:
    """Start `flowtui scheduler`, wait for its banner (it answers commands from then on);
    stop it with SIGTERM when done, and kill its process group if it outstays 20 s."""
    with output.open("wb") as log:
        process = subprocess.Popen(
            [flowtui, "scheduler"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while "flowtui scheduler:" not in output.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise DashboardError(
                    f"`flowtui scheduler` did not start (exit {process.poll()}): "
                    f"{output.read_text(errors='replace')[-500:]}"
                )
            time.sleep(0.05)
        yield SchedulerProcess(process, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                print("warning: `flowtui scheduler` ignored SIGTERM for 20 s; killed", flush=True)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # it, if still there, and task leftovers
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def trigger(flowtui: str, env: dict[str, str], dag_id: str) -> None:
    done = subprocess.run(
        [flowtui, "dags", "trigger", dag_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise DashboardError(
            f"`flowtui dags trigger {dag_id}` exited {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        )


def read_only(db_path: Path) -> sqlite3.Connection:
    conn = open_connection(db_path, readonly=True)
    conn.row_factory = sqlite3.Row
    return conn


def wait_for_run_state(
    db_path: Path, dag_id: str, states: tuple[str, ...], timeout: float
) -> sqlite3.Row:
    """The newest run of `dag_id` once it is in one of `states`."""
    conn = read_only(db_path)
    try:
        deadline = time.monotonic() + timeout
        row = None
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT run_id, state FROM dag_runs WHERE dag_id = ? "
                "ORDER BY logical_date DESC, id DESC LIMIT 1",
                (dag_id,),
            ).fetchone()
            if row is not None and row["state"] in states:
                return row
            time.sleep(0.1)
        found = "no run" if row is None else f"run {row['run_id']} is {row['state']}"
        raise DashboardError(f"{dag_id}: waited {timeout:g} s for a run in {states}; {found}")
    finally:
        conn.close()


def completions(db_path: Path, dag_id: str, since: str, until: str) -> int:
    """Task instances of `dag_id` that finished (success or failed) between two timestamps."""
    conn = read_only(db_path)
    try:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM events WHERE kind = 'task_state' AND dag_id = ? "
            "AND new_state IN ('success', 'failed') AND ts >= ? AND ts <= ?",
            (dag_id, since, until),
        ).fetchone()
        return int(count)
    finally:
        conn.close()
