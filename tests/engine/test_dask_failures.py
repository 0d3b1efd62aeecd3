"""How the Dask executor fails, and comes back, on real clusters: a worker killed mid-attempt
fails that try once, named, and its retry runs; a cluster that is unreachable, or refused (a
Dask scheduler that retries tasks, a worker with another flowtui), keeps attempts queued until
a usable one answers; a scheduler killed while attempts run on the cluster finds them there
after its restart, each try run once."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from flowtui.commands.transport import SocketClient
from flowtui.execution.base import AttemptExited, AttemptRequest, AttemptStarted
from flowtui.store import reads
from tests.conftest import (
    Home,
    attempt_info,
    has_exited,
    start_scheduler,
    stop_scheduler,
    wait_until,
)
from tests.engine.conftest import Events, configure_dask

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from flowtui.execution.dask.executor import DaskExecutor  # noqa: E402  # needs distributed

# One xdist process runs the whole file: its cluster (module-wide) starts once.
pytestmark = [pytest.mark.dask, pytest.mark.xdist_group("test_dask_failures")]

VICTIM = """
    import os, time
    from datetime import datetime, timedelta
    from flowtui import DAG, PythonOperator

    def work(ti):
        with open({side!r}, "a") as side:
            side.write(f"try {{ti.try_number}} pid {{os.getpid()}}\\n")
        if ti.try_number == 1:
            time.sleep(60)

    with DAG("victim", start_date=datetime(2024, 1, 1), schedule=None):
        PythonOperator(
            task_id="work", python_callable=work, retries=1, retry_delay=timedelta(0)
        )
"""


@contextlib.contextmanager
def scheduler_running(home: Home) -> Iterator[subprocess.Popen[str]]:
    """A real `flowtui scheduler` on the home, stopped (if still there) at the end."""
    process = start_scheduler(home)
    try:
        yield process
    finally:
        stop_scheduler(process)


def state(home: Home, dag_id: str, task_id: str) -> str | None:
    """The task's state in the DAG's latest run, read from the store (a `runs show` process
    per poll would cost more than the rest of the test on a loaded machine)."""
    store = home.store()
    try:
        run = reads.run(store.conn, dag_id)
        row = run and reads.task_instance(store.conn, dag_id, run["run_id"], task_id)
    finally:
        store.close()
    return str(row["state"]) if row else None


def attempts(home: Home, dag_id: str, task_id: str) -> list[tuple[int, str, str | None]]:
    store = home.store()
    try:
        rows = store.conn.execute(
            "SELECT try_number, state, cause FROM attempts WHERE dag_id = ? AND task_id = ? "
            "ORDER BY try_number",
            (dag_id, task_id),
        ).fetchall()
    finally:
        store.close()
    return [tuple(row) for row in rows]


def test_a_worker_killed_mid_attempt_fails_that_try_once_named_and_the_retry_runs(
    home: Home, cluster: str, tmp_path: Path
) -> None:
    """kill -9 of the worker running try 1: Dask does not run it again (allowed-failures 0),
    flowtui fails it with the worker's address, its orphaned process is stopped, and the retry
    runs once on a worker that lives."""
    side = tmp_path / "side.txt"
    home.write_dag("victim.py", VICTIM.format(side=str(side)))
    configure_dask(home, cluster)
    with scheduler_running(home):
        home.run("dags", "trigger", "victim", check=True)
        wait_until(lambda: side.exists() and side.read_text(), what="try 1 to start")
        first = int(side.read_text().split()[3])
        worker = psutil.Process(first).parent()
        assert worker is not None
        with distributed.Client(cluster) as client:
            pids = client.run(os.getpid)
        address = next(a for a, pid in pids.items() if pid == worker.pid)
        os.kill(worker.pid, signal.SIGKILL)
        wait_until(
            lambda: state(home, "victim", "work") in {"success", "failed"},
            what="the retry to end",
        )
        wait_until(lambda: has_exited(first), timeout=10, what="try 1's orphaned process to end")
    lines = [" ".join(line.split()[:2]) for line in side.read_text().splitlines()]
    assert lines == ["try 1", "try 2"]
    assert attempts(home, "victim", "work") == [
        (1, "failed", f"worker {address} died"),
        (2, "success", None),
    ]
    shown = home.runs_show("victim")["tasks"]["work"]
    assert (shown["state"], shown["try_number"]) == ("success", 2)
    log = home.run("logs", "victim", home.latest_run_id("victim"), "work", "--try", "1").stdout
    assert f"attempt 1 ended: worker {address} died" in log


SLEEPER = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
        BashOperator(
            task_id="sleep",
            bash_command="(sleep 60) & for i in $(seq 1 3000); do echo line $i; sleep 0.02; done",
        )
"""


def numbered_lines(log: Path) -> list[int]:
    return [int(line.split()[1]) for line in log.read_text().splitlines() if line[:5] == "line "]


def test_an_attempt_left_running_is_adopted_by_the_next_executor_and_stops(
    home: Home, cluster: str
) -> None:
    """One executor submits and leaves (a scheduler that failed); the next, handed the same try
    as recovery hands it, finds the attempt's future on the Dask scheduler instead of running it
    again: its start (same pid) is reported, a stop still reaches its process group, and its log
    is whole: what it printed while no executor listened comes home too, each line once."""
    home.write_dag("d.py", SLEEPER)
    configure_dask(home, cluster)
    home.settings.ensure_home()
    info = attempt_info(home.settings.db_path, "d", "sleep")
    log = home.settings.attempt_log_path("d", info.run_id, "sleep", 1)
    request = AttemptRequest(info, str(home.dags / "d.py"), str(log), runs_bash=True, queued_at="q")
    first, first_events = DaskExecutor(home.settings), Events()
    first.listen(first_events.queue.put)
    first.start()
    first.submit(request)
    started = first_events.next(AttemptStarted)
    wait_until(lambda: log.exists() and "line 5\n" in log.read_text(), what="the attempt's log")
    first.stop(leave_attempts=True)
    left_at = len(numbered_lines(log))
    time.sleep(0.5)  # it prints on while no executor listens
    second, events = DaskExecutor(home.settings), Events()
    second.listen(events.queue.put)
    second.start()
    try:
        second.submit(request)
        assert events.next(AttemptStarted).pid == started.pid
        stopped_at = time.monotonic()
        assert second.stop_attempt(request.key, force=False)
        exited = events.next(AttemptExited)
        assert time.monotonic() - stopped_at < 2.0
        assert exited.exit_code == -signal.SIGTERM
        assert not psutil.pid_exists(started.pid) or has_exited(started.pid)
    finally:
        second.stop()
    assert log.read_text().count("pid ") == 1  # one process ever ran this try
    printed = numbered_lines(log)
    assert printed == list(range(1, len(printed) + 1))
    assert len(printed) > left_at  # and those it printed while no executor listened


RESTARTED = """
    import os, time
    from datetime import datetime
    from flowtui import DAG, PythonOperator

    def work(ti):
        with open({side!r}, "a") as side:
            side.write(f"{{ti.task_id}} waits\\n")
        while not os.path.exists(os.path.join({go!r}, ti.task_id)):  # the test says when
            time.sleep(0.05)
        with open({side!r}, "a") as side:
            side.write(f"{{ti.task_id}} try {{ti.try_number}}\\n")

    with DAG("restarted", start_date=datetime(2024, 1, 1), schedule=None):
        for task_id in ("short", "long"):
            PythonOperator(task_id=task_id, python_callable=work, retries=2)
"""


def test_a_scheduler_killed_while_attempts_run_on_the_cluster_finds_them_after_its_restart(
    home: Home, cluster: str, tmp_path: Path
) -> None:
    """kill -9 of `flowtui scheduler` while two attempts run remotely: the one that ends while
    no scheduler runs keeps its outcome, the one still running is adopted and awaited; each
    try runs once."""
    side, go = tmp_path / "side.txt", tmp_path / "go"
    go.mkdir()
    home.write_dag("restarted.py", RESTARTED.format(side=str(side), go=str(go)))
    configure_dask(home, cluster)
    with scheduler_running(home) as first:
        home.run("dags", "trigger", "restarted", check=True)
        wait_until(  # in their callables: past what they ask of the store at their start
            lambda: side.exists() and side.read_text().count("waits") == 2,
            timeout=60,
            what="both attempts to run",
        )
        first.kill()
        first.wait()
    (go / "short").touch()
    wait_until(lambda: "short try 1" in side.read_text(), what="short to end")
    with scheduler_running(home):
        wait_until(
            lambda: state(home, "restarted", "short") == "success",
            what="short's outcome to be recorded",
        )
        assert state(home, "restarted", "long") == "running"
        (go / "long").touch()
        wait_until(
            lambda: state(home, "restarted", "long") in {"success", "failed"},
            what="long to end",
        )
    assert sorted(side.read_text().splitlines()) == [
        "long try 1",
        "long waits",
        "short try 1",
        "short waits",
    ]
    for task_id in ("short", "long"):
        assert attempts(home, "restarted", task_id) == [(1, "success", None)]


HELLO = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("hello", start_date=datetime(2024, 1, 1), schedule=None):
        BashOperator(task_id="hi", bash_command="echo hi")

    with DAG("old", start_date=datetime(2024, 1, 1), schedule=None):
        BashOperator(task_id="hi", bash_command="echo hi", queue="old")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dask_cluster(port: int) -> Any:
    """A Dask scheduler on `port` with one worker, in this process (quick to start and stop;
    the attempts still run as processes of their own). Dask's default allowed-failures: 3."""
    return distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        scheduler_port=port,
        dashboard_address=None,
    )


def fake_worker(address: str, site: Path, *options: str) -> subprocess.Popen[str]:
    """`dask worker` as a process of its own whose installed flowtui says it is 0.0.1."""
    fake = site / "flowtui-0.0.1.dist-info"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: flowtui\nVersion: 0.0.1\n")
    args = ["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny", *options]
    return subprocess.Popen(
        [sys.executable, "-m", *args, "--no-dashboard"],
        env={**os.environ, "PYTHONPATH": str(site)},
        cwd="/",  # not the checkout: `-m` puts the cwd first on sys.path, with its egg-info
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_attempts_wait_queued_while_the_cluster_is_unreachable_or_refused_then_run(
    home: Home, tmp_path: Path
) -> None:
    """The Dask scheduler is not there yet, then retries tasks itself, then has a worker with
    another flowtui, then is usable; later it goes away and comes back. Each problem is one
    line in the log and in `scheduler status`, naming the address (and both versions); the
    attempt stays queued through them and runs once the cluster is usable. A worker with
    another flowtui that joins later fails the attempts it is given, both versions named."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    home.write_dag("hello.py", HELLO)
    configure_dask(home, address)

    def problem() -> str:
        return SocketClient(home.settings, "test").status().dask_problem or ""

    def waits_for(text: str) -> str:
        seen = wait_until(
            lambda: text in (p := problem()) and p, timeout=60, what=text, seen=problem
        )
        assert state(home, "hello", "hi") == "queued"
        return str(seen)

    with scheduler_running(home), contextlib.ExitStack() as stack:
        home.run("dags", "trigger", "hello", check=True)
        assert waits_for("unreachable").startswith(f"the Dask scheduler at {address} is")
        cluster = stack.enter_context(dask_cluster(port))
        waits_for(f"the Dask scheduler at {address} runs a task again when its worker dies")
        other = fake_worker(address, tmp_path / "site")
        stack.callback(other.kill)
        with distributed.Client(address) as client:
            client.wait_for_workers(2)
        cluster.scheduler.allowed_failures = 0
        seen = waits_for("has flowtui 0.0.1")
        done = home.run("scheduler", "status", "--output", "json", check=True)
        assert json.loads(done.stdout)["dask_problem"] == seen
        assert f"executor dask, not connected: {seen}\n" in home.run("scheduler", "status").stdout
        assert seen.startswith("the Dask worker tcp://127.0.0.1:")
        assert seen.endswith(
            "has flowtui 0.0.1, this scheduler flowtui 0.1.0: install the same flowtui "
            "version on every worker"
        )
        other.kill()
        wait_until(lambda: state(home, "hello", "hi") == "success", 60, what="hi")
        assert problem() == ""
        cluster.close()
        home.run("dags", "trigger", "hello", check=True)
        waits_for(f"the Dask scheduler at {address} is unreachable")
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            stack.enter_context(dask_cluster(port))
        wait_until(lambda: state(home, "hello", "hi") == "success", 60, what="hi")
        # a worker with another flowtui that joins once connected refuses what it is given
        late = fake_worker(address, tmp_path / "site", "--resources", "old=1")
        stack.callback(late.kill)
        home.run("dags", "trigger", "old", check=True)
        wait_until(lambda: state(home, "old", "hi") == "failed", 60, what="old's hi to fail")
        ((_try, _state, cause),) = attempts(home, "old", "hi")
        assert re.fullmatch(
            "the Dask worker tcp://127.0.0.1:[0-9]+ has flowtui 0.0.1, this scheduler flowtui "
            "0.1.0: install the same flowtui version on every worker",
            str(cause),
        )
    log = (home.path / "logs" / "scheduler.log").read_text()
    assert log.count(f"the Dask scheduler at {address} is unreachable") == 2  # once an outage
    assert log.count(f"lost the connection to the Dask scheduler at {address}") == 1
