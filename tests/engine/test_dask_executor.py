"""The Dask executor on a real LocalCluster (two worker processes, one thread each), started
once for the module: an attempt runs on a worker as a process of its own, its outcome (state,
exit code, XComs) comes back as data, its output reaches its log file, and a stop reaches its
whole process group through the attempt's stop events."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from flowtui.execution.base import AttemptExited, AttemptRequest, AttemptStarted
from flowtui.states import TaskState
from tests.conftest import Home, attempt_info, wait_until
from tests.engine.conftest import Events, configure_dask

distributed = pytest.importorskip("distributed")

from flowtui.execution.dask.executor import DaskExecutor  # noqa: E402  # needs distributed

# One xdist process runs the whole file: its cluster (module-wide) starts once.
pytestmark = [pytest.mark.dask, pytest.mark.xdist_group("test_dask_executor")]

DAG_FILE = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator

    def talk(ti):
        print("hello from", ti.task_id)
        ti.xcom_push(key="numbers", value=[1, 2, {"three": 3.0}])
        return {"greeting": "hi"}

    with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
        PythonOperator(task_id="talk", python_callable=talk)
        BashOperator(task_id="fail", bash_command="echo about to fail; exit 3")
        BashOperator(task_id="sleep", bash_command="(sleep 60; echo late) & sleep 60")
"""


@pytest.fixture
def running(home: Home, cluster: str) -> Iterator[tuple[DaskExecutor, Events]]:
    home.write_dag("d.py", DAG_FILE)
    configure_dask(home, cluster)
    home.settings.ensure_home()
    events = Events()
    executor = DaskExecutor(home.settings)
    executor.listen(events.queue.put)
    executor.start()
    yield executor, events
    executor.stop()


def _request(home: Home, task_id: str) -> AttemptRequest:
    info = attempt_info(home.settings.db_path, "d", task_id)
    log = home.settings.attempt_log_path("d", info.run_id, task_id, info.try_number)
    bash = task_id != "talk"
    return AttemptRequest(info, str(home.dags / "d.py"), str(log), runs_bash=bash, queued_at="q1")


def test_an_attempt_runs_on_a_worker_and_its_outcome_and_xcoms_come_back(
    home: Home, running: tuple[DaskExecutor, Events]
) -> None:
    executor, events = running
    request = _request(home, "talk")
    executor.submit(request)
    started = events.next(AttemptStarted)
    exited = events.next(AttemptExited)
    assert (started.key, exited.key) == (request.key, request.key)
    assert exited.exit_code == 0
    assert exited.outcome is not None
    assert exited.outcome.state is TaskState.SUCCESS
    assert dict(exited.outcome.xcom) == {
        "numbers": [1, 2, {"three": 3.0}],
        "return_value": {"greeting": "hi"},
    }
    log = Path(request.log_path).read_text()
    assert f"pid {started.pid}" in log  # the attempt's own process, not the worker
    assert "hello from talk" in log


def test_a_failing_attempt_reports_its_exit_code_and_its_output_is_in_its_log(
    home: Home, running: tuple[DaskExecutor, Events]
) -> None:
    executor, events = running
    request = _request(home, "fail")
    executor.submit(request)
    events.next(AttemptStarted)
    exited = events.next(AttemptExited)
    assert exited.exit_code == 3
    assert exited.outcome is not None
    assert (exited.outcome.state, exited.outcome.cause) == (
        TaskState.FAILED,
        "bash exited with code 3",
    )
    assert "about to fail" in Path(request.log_path).read_text()


def test_a_stop_ends_the_attempts_whole_process_group_within_two_seconds(
    home: Home, running: tuple[DaskExecutor, Events]
) -> None:
    """Dask's cancel does not stop a running task: the stop event does, SIGTERM to the group
    of the attempt's process, its bash and the sleeps bash started."""
    executor, events = running
    request = _request(home, "sleep")
    executor.submit(request)
    started = events.next(AttemptStarted)

    def group() -> list[int]:
        """The live processes of the attempt's group (zombies are gone: nobody waits)."""
        found = []
        for process in psutil.process_iter(["status"]):
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(process.pid) == started.pid and process.info["status"] != "zombie":
                    found.append(process.pid)
        return found

    # the attempt's process, bash, the subshell and its sleep (a grandchild), bash's sleep
    wait_until(lambda: len(group()) >= 5, what="the attempt, bash and its sleeps")
    stopped_at = time.monotonic()
    assert executor.stop_attempt(request.key, force=False)
    exited = events.next(AttemptExited)
    assert time.monotonic() - stopped_at < 2.0
    assert group() == []
    assert exited.exit_code != 0
    assert "late" not in Path(request.log_path).read_text()
    assert not executor.stop_attempt(request.key, force=True)  # it is no longer the executor's


PIPELINE = """
    from datetime import datetime
    from flowtui import dag, task

    @dag(start_date=datetime(2024, 1, 1), schedule=None)
    def pipeline():
        @task
        def produce():
            return {"rows": [1, 2, 3]}

        @task
        def consume(data):
            print("got", sum(data["rows"]), "rows summed")
            return len(data["rows"])

        consume(produce())

    pipeline()
"""


@pytest.fixture
def dask_home(home: Home, cluster: str) -> Home:
    home.write_dag("pipeline.py", PIPELINE)
    configure_dask(home, cluster)
    return home


def test_the_scheduler_runs_a_dag_on_the_cluster_and_says_so_in_its_status(
    dask_home: Home, cluster: str, scheduler: Any
) -> None:
    """`flowtui scheduler` with executor = "dask": XComs pass from one remote attempt to the
    next, the outcome lands in the store, the log file holds the output."""
    home = dask_home
    status = json.loads(home.run("scheduler", "status", "--output", "json", check=True).stdout)
    assert (status["executor"], status["dask_address"], status["dask_workers"]) == (
        "dask",
        cluster,
        2,
    )
    assert f"executor dask at {cluster}, 2 worker(s)\n" in home.run("scheduler", "status").stdout
    home.run("dags", "trigger", "pipeline", check=True)
    wait_until(
        lambda: home.latest_task_state("pipeline", "consume") in {"success", "failed"},
        what="the run to end",
    )
    run_id = home.latest_run_id("pipeline")
    shown = home.runs_show("pipeline", run_id)
    assert shown["state"] == "success", shown
    log = home.run("logs", "pipeline", run_id, "consume", check=True).stdout
    assert "got 6 rows summed" in log
    store = home.store()
    try:
        value = store.conn.execute(
            "SELECT value FROM xcom WHERE dag_id = 'pipeline' AND task_id = 'consume'"
        ).fetchone()[0]
    finally:
        store.close()
    assert json.loads(value) == 3


def test_local_cluster_starts_a_cluster_of_processes_and_closes_it(home: Home) -> None:
    """`local_cluster = { workers = 1 }`: the executor starts its own cluster, runs on it, and
    closes it when it stops."""
    home.write_dag("d.py", DAG_FILE)
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "flowtui.toml").write_text(
        'executor = "dask"\n[dask]\nlocal_cluster = { workers = 1 }\n'
    )
    events = Events()
    executor = DaskExecutor(home.settings)
    executor.listen(events.queue.put)
    executor.start()
    try:
        info = executor.cluster_info()
        assert info is not None
        assert info.workers == 1
        executor.submit(_request(home, "talk"))
        events.next(AttemptStarted)
        assert events.next(AttemptExited).outcome.state is TaskState.SUCCESS
    finally:
        executor.stop()
    with pytest.raises(OSError, match="Timed out trying to connect"):  # gone with the executor
        distributed.Client(info.address, timeout=1)
