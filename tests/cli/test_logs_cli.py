"""`flowtui logs` streams a log of any size in bounded memory: a real 200 MB attempt log is
printed byte for byte, with and without --follow, by a real `flowtui logs` whose peak RSS
(its rusage, read by the process that waited for it) stays under 50 MB."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FLOWTUI, Home

SIZE = 200 * 1024 * 1024
RSS_LIMIT_KB = 50 * 1024

MEASURE = """
import hashlib, json, resource, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
digest, size = hashlib.sha256(), 0
for chunk in iter(lambda: process.stdout.read(1 << 16), b""):
    digest.update(chunk)
    size += len(chunk)
code = process.wait()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux; only child: logs
print(json.dumps({"code": code, "size": size, "sha256": digest.hexdigest(), "peak_kb": peak}))
"""
"""Runs the command given as its arguments, hashes what it prints, and reports the command's
peak RSS: run in a process of its own, so that no other child of the tests counts."""


@pytest.fixture
def big_log(home: Home) -> tuple[str, Path]:
    """A finished attempt of `talk.talk` whose log is 200 MB; its run id and log path."""
    home.write_dag(
        "talk.py",
        """
        from datetime import datetime
        from flowtui import DAG, BashOperator
        with DAG("talk", start_date=datetime(2024, 1, 1)) as dag:
            BashOperator(task_id="talk", bash_command="echo first line")
        """,
    )
    home.run("dags", "test", "talk", "--logical-date", "2024-05-06", check=True)
    store = home.store()
    (run_id,) = store.conn.execute("SELECT run_id FROM dag_runs WHERE dag_id = 'talk'").fetchone()
    store.close()
    log = home.settings.attempt_log_path("talk", run_id, "talk", 1)
    line = b"".join(b"%04d a line of the log, long as lines go " % i for i in range(10)) + b"\n"
    block = line * (1024 * 1024 // len(line))
    with log.open("ab") as file:
        while file.tell() < SIZE:
            file.write(block)
        file.write(b"no newline at the end, and not UTF-8: \xff\xfe")
    return run_id, log


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.parametrize("follow", [[], ["--follow"]], ids=["print", "follow"])
def test_a_200_mb_log_streams_in_bounded_memory(
    home: Home, big_log: tuple[str, Path], follow: list[str]
) -> None:
    run_id, log = big_log
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, FLOWTUI, "logs", "talk", run_id, "talk", *follow],
        env=home.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["code"] == 0, done.stderr
    assert measured["size"] == log.stat().st_size > SIZE
    assert measured["sha256"] == _sha256(log)
    assert measured["peak_kb"] < RSS_LIMIT_KB, f"peak RSS {measured['peak_kb']} KB"
