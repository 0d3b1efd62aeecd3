"""The child process that measures the fork and SQLite floors for `floors.py`. It runs with the
interpreter flowtui runs with, imports flowtui and its scheduler modules first (so that a fork
copies a process of the size the scheduler's is), and prints one JSON object (each fork's
child hands a JSON result back over a pipe, as an attempt does):

    {"fork_us": [...], "fork_cpu_us": [...], "commit_us": [...]}

Standard library only besides flowtui: it must run in any interpreter that has flowtui.

    python bench/floor_probe.py FORKS BATCH COMMITS DB_PATH
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import sys
import time
from pathlib import Path

# The floor is a fork of a process that has imported these, as the scheduler's has.
import flowtui

try:
    import flowtui.scheduling.service
except ImportError:  # a flowtui from before the packages by role, measured with --flowtui
    import flowtui.scheduler  # type: ignore[import-not-found]  # noqa: F401

WARM_UP = 10
"""Untimed forks and commits before the timed ones."""


def main(argv: list[str]) -> int:
    forks, batch, commits, db_path = int(argv[0]), int(argv[1]), int(argv[2]), Path(argv[3])
    fork_us, fork_cpu_us = fork_samples(forks, batch)
    commit_us = commit_samples(commits, db_path)
    print(json.dumps({"fork_us": fork_us, "fork_cpu_us": fork_cpu_us, "commit_us": commit_us}))
    return 0


def fork_samples(forks: int, batch: int) -> tuple[list[float], list[float]]:
    """Wall time of each fork + child exit + reap, and the CPU per fork of each batch of
    `batch` of them (this process's and its reaped children's), both in microseconds."""
    for _ in range(WARM_UP):
        _fork_once()
    wall_us: list[float] = []
    cpu_us: list[float] = []
    while len(wall_us) < forks:
        size = min(batch, forks - len(wall_us))
        cpu_before = _cpu_s()
        wall_us += [_fork_once() for _ in range(size)]
        cpu_us.append((_cpu_s() - cpu_before) / size * 1e6)
    return wall_us, cpu_us


def _fork_once() -> float:
    """One fork whose child hands back a JSON result over a pipe, as an attempt does."""
    start = time.perf_counter()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.write(write_end, json.dumps(_RESULT).encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 4096):
        data += chunk
    os.close(read_end)
    json.loads(data)
    os.waitpid(pid, 0)
    return (time.perf_counter() - start) * 1e6


_RESULT = {"state": "success", "cause": None, "xcom": {}, "exit_code": 0}
"""What a no-op attempt hands back."""


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def commit_samples(commits: int, db_path: Path) -> list[float]:
    """Wall time of each `BEGIN IMMEDIATE; INSERT; COMMIT` of one small row, in microseconds,
    on a WAL file with synchronous=NORMAL, as flowtui opens its store."""
    conn = sqlite3.connect(db_path, timeout=30.0, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, ts TEXT, kind TEXT)"
        )
        for _ in range(WARM_UP):
            _commit_once(conn)
        return [_commit_once(conn) for _ in range(commits)]
    finally:
        conn.close()


def _commit_once(conn: sqlite3.Connection) -> float:
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO events (ts, kind) VALUES (?, ?)", (f"{time.time():.6f}", "task_state")
    )
    conn.execute("COMMIT")
    return (time.perf_counter() - start) * 1e6


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
