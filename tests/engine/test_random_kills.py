"""Dozens of random SIGKILLs (the scheduler, the scheduler with its process group, the fork
server alone) while a 142-task DAG with a fan-out and retries runs. Afterwards: every task
instance is finished and succeeded, no two attempts of one instance overlapped (each attempt
holds an flock while it runs), no try ran twice, every success the tasks saw is the one the
store records and no other, the store passes `PRAGMA integrity_check`, and no process is
left. A scheduler whose fork server is killed six times within a minute gives up (exit 1) and
is started again: its attempts are adopted by the next one.

The tasks keep a journal (one line per start and end, appended) outside the home; the seed of
the random kills is printed, so that a failure can be replayed (FLOWTUI_CHAOS_SEED)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import psutil

from tests.conftest import FLOWTUI, Home

CHAOS = """
    import fcntl
    import os
    import time
    from datetime import datetime, timedelta
    from flowtui import DAG, PythonOperator

    FOLDER = {folder!r}

    def work(ti, task):
        me = f"{{task.task_id}} {{ti.try_number}}"
        fd = os.open(f"{{FOLDER}}/locks/{{task.task_id}}", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with open(f"{{FOLDER}}/overlaps", "a") as out:
                out.write(me + "\\n")
        with open(f"{{FOLDER}}/journal", "a") as out:
            out.write(f"start {{me}} {{os.getpid()}}\\n")
        time.sleep(0.2 + (hash(me) % 40) / 100)
        failing = sum(map(ord, task.task_id)) % 5 == 0 and ti.try_number == 1
        with open(f"{{FOLDER}}/journal", "a") as out:
            out.write(f"end {{me}} {{'failed' if failing else 'success'}}\\n")
        if failing:
            raise RuntimeError("the first try of this task fails")
        return me

    with DAG("chaos", start_date=datetime(2024, 1, 1), schedule=None,
             default_args={{"retries": 2, "retry_delay": timedelta(seconds=0.1)}}):
        start = PythonOperator(task_id="start", python_callable=work)
        end = PythonOperator(task_id="end", python_callable=work)
        for branch in range(10):
            previous = start
            for step in range(14):
                task = PythonOperator(task_id=f"b{{branch}}_{{step}}", python_callable=work)
                previous >> task
                previous = task
            previous >> end
"""

KILLS = 30


class Scheduler:
    def __init__(self, home: Home) -> None:
        self.process = subprocess.Popen(
            [FLOWTUI, "scheduler"],
            env=home.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None


def _run_state(home: Home) -> str | None:
    store = home.store()
    try:
        row = store.conn.execute("SELECT state FROM dag_runs WHERE dag_id = 'chaos'").fetchone()
    finally:
        store.close()
    return None if row is None else str(row[0])


def _kill(scheduler: Scheduler, how: str) -> bool:
    """Kill as `how` says; True when the scheduler itself died (it must be restarted)."""
    pid = scheduler.process.pid
    if how == "fork-server":
        try:
            servers = psutil.Process(pid).children()
        except psutil.NoSuchProcess:
            return True
        for server in servers:
            server.kill()
        return False
    if how == "group":
        os.killpg(pid, signal.SIGKILL)
    else:
        os.kill(pid, signal.SIGKILL)
    scheduler.process.wait()
    return True


def test_random_kills_lose_nothing_and_run_nothing_twice(home: Home, tmp_path: Path) -> None:
    seed = int(os.environ.get("FLOWTUI_CHAOS_SEED", random.randrange(1 << 30)))
    print(f"FLOWTUI_CHAOS_SEED={seed}")
    chance = random.Random(seed)
    (tmp_path / "locks").mkdir()
    home.write_dag("chaos.py", CHAOS.format(folder=str(tmp_path)))
    home.configure(parallelism=8)
    scheduler = Scheduler(home)
    while home.run("dags", "trigger", "chaos").returncode != 0:  # until it answers
        time.sleep(0.1)
    kills = 0
    while kills < KILLS and _run_state(home) != "success":
        time.sleep(chance.uniform(0.1, 0.5))
        how = chance.choice(["scheduler", "group", "fork-server"])
        kills += 1
        if scheduler.process.poll() is not None:  # it gave up: its fork server kept dying
            assert scheduler.process.returncode == 1
            scheduler = Scheduler(home)
        elif _kill(scheduler, how):
            scheduler = Scheduler(home)
    assert kills >= 20, f"only {kills} kills before the run ended: make the tasks longer"
    deadline = time.monotonic() + 120
    while _run_state(home) != "success" and time.monotonic() < deadline:
        if not scheduler.alive():  # only by giving up, with exit 1 and the reason
            assert scheduler.process.returncode == 1, "the scheduler exited by itself"
            scheduler = Scheduler(home)
        time.sleep(0.2)
    while home.run("scheduler", "status").returncode != 0:  # up, its signals handled
        assert scheduler.alive(), "the scheduler exited by itself"
        time.sleep(0.1)
    scheduler.process.terminate()
    assert scheduler.process.wait(timeout=60) == 0

    store = home.store()
    try:
        states = dict(
            store.conn.execute("SELECT task_id, state FROM task_instances WHERE dag_id = 'chaos'")
        )
        attempts = store.conn.execute(
            "SELECT task_id, try_number, state FROM attempts WHERE dag_id = 'chaos'"
        ).fetchall()
        (integrity,) = store.conn.execute("PRAGMA integrity_check").fetchone()
    finally:
        store.close()
    assert integrity == "ok"
    assert len(states) == 142
    assert set(states.values()) == {"success"}, f"seed {seed}: {states}"
    assert _run_state(home) == "success"

    overlaps = tmp_path / "overlaps"
    assert not overlaps.exists(), f"seed {seed}: overlapping attempts {overlaps.read_text()}"
    journal = (tmp_path / "journal").read_text().splitlines()
    starts = [tuple(line.split()[1:3]) for line in journal if line.startswith("start ")]
    assert len(starts) == len(set(starts)), f"seed {seed}: a try ran twice"
    ends = [line.split() for line in journal if line.startswith("end ")]
    ended = {(fields[1], fields[2]): fields[3] for fields in ends}
    recorded = {(task, str(try_number)): state for task, try_number, state in attempts}
    successes = {key for key, state in ended.items() if state == "success"}
    assert {key for key, state in recorded.items() if state == "success"} == successes, seed
    for key, state in recorded.items():  # a try that was cut short is failed, never success
        assert state == ended.get(key, "failed"), (seed, key, state)

    pids = [int(line.split()[3]) for line in journal if line.startswith("start ")]
    assert [p for p in pids if psutil.pid_exists(p) and _ours(p, home)] == []
    assert [p.pid for p in psutil.process_iter() if _ours(p.pid, home)] == []


def _ours(pid: int, home: Home) -> bool:
    """Whether a live process belongs to this test's home (its environment names it)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return process.environ().get("FLOWTUI_HOME") == str(home.path)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
