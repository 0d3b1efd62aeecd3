"""Where attempts run under `executor = "dask"`, through the real `flowtui scheduler` on a real
cluster of two worker processes (one started with the resource `gpu`, two threads each, so that
the cluster alone would run four attempts at once): `queue=` picks the workers with that
resource, `executor="local"` keeps a task in the scheduler's fork server, a queue no worker
offers is logged and waits (and can still be stopped), a pool of two slots holds the cluster to
two attempts, and every sample DAG ends as it does under the local executor."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import flowtui.sample_dags
from tests.conftest import Home, start_scheduler, stop_scheduler, wait_until

distributed = pytest.importorskip("distributed")

# One xdist process runs the whole file: its cluster (module-wide) starts once.
pytestmark = [pytest.mark.dask, pytest.mark.xdist_group("test_dask_routing")]

SAMPLES = Path(flowtui.sample_dags.__file__).parent

WHERE = """
    import json, os
    from datetime import datetime
    from pathlib import Path

    import psutil
    from flowtui import DAG, PythonOperator

    def where(ti):
        parent = psutil.Process(os.getppid())
        where = {{"parent": parent.pid, "grandparent": parent.ppid()}}
        (Path({out!r}) / f"{{ti.task_id}}.json").write_text(json.dumps(where))

    with DAG("routing", start_date=datetime(2024, 1, 1), schedule=None):
        for n in range(4):
            PythonOperator(task_id=f"gpu_{{n}}", python_callable=where, queue="gpu")
        PythonOperator(task_id="anywhere", python_callable=where)
        PythonOperator(task_id="here", python_callable=where, executor="local")
"""

NOWHERE = """
    from datetime import datetime
    from airflow.operators.bash import BashOperator
    from airflow import DAG

    with DAG("nowhere", start_date=datetime(2024, 1, 1), schedule=None):
        BashOperator(task_id="on_tpu", bash_command="echo ran", queue="tpu")
"""

SLOTS = """
    import json, time
    from datetime import datetime
    from pathlib import Path
    from flowtui import DAG, PythonOperator

    def nap(ti):
        start = time.time()
        time.sleep(0.5)
        (Path({out!r}) / f"{{ti.task_id}}.json").write_text(json.dumps([start, time.time()]))

    with DAG("slots", start_date=datetime(2024, 1, 1), schedule=None):
        for n in range(6):
            PythonOperator(task_id=f"nap_{{n}}", python_callable=nap, pool="two")
"""


class Cluster(NamedTuple):
    address: str
    worker_pids: dict[str, int]
    """Worker address -> the pid of its process (an attempt's parent)."""
    gpu_worker: str
    """The address of the worker started with the resource gpu."""
    samples_home: Path
    """The FLOWTUI_HOME the workers' processes (and so their attempts) see: the sample DAGs'
    home on the cluster, where file_drop's sensor looks for its file (`sample_dir`)."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster of two worker processes of two threads each, one with the resource gpu."""
    import dask

    samples_home = tmp_path_factory.mktemp("dask_samples") / "home"
    env = {"FLOWTUI_HOME": str(samples_home)}

    def worker(**options: Any) -> dict[str, Any]:
        return {"cls": distributed.Nanny, "options": {"nthreads": 2, "env": env, **options}}

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        spec = distributed.SpecCluster(
            scheduler={"cls": distributed.Scheduler, "options": {"dashboard_address": ":0"}},
            workers={"plain": worker(), "gpu": worker(resources={"gpu": 1})},
        )
    with distributed.Client(spec, set_as_default=False) as client:
        client.wait_for_workers(2)
        pids: dict[str, int] = client.run(os.getpid)
        workers = client.scheduler_info(n_workers=-1)["workers"]
    [gpu] = [address for address, info in workers.items() if info.get("resources")]
    yield Cluster(str(spec.scheduler_address), pids, gpu, samples_home)
    spec.close()


def _dask_home(root: Path, dags: Path, address: str) -> Home:
    home = Home(root, dags)
    root.mkdir(parents=True)
    (root / "flowtui.toml").write_text(f'executor = "dask"\n[dask]\naddress = "{address}"\n')
    return home


class Running(NamedTuple):
    home: Home
    scheduler: subprocess.Popen[str]
    out: Path
    """Where the tasks write what they saw."""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, cluster: Cluster) -> Iterator[Running]:
    """One `flowtui scheduler` with executor = "dask" on the cluster, for this file's DAGs."""
    root = tmp_path_factory.mktemp("routing")
    out, dags = root / "out", root / "dags"
    out.mkdir()
    dags.mkdir()
    home = _dask_home(root / "home", dags, cluster.address)
    home.write_dag("routing.py", WHERE.format(out=str(out)))
    home.write_dag("nowhere.py", NOWHERE)
    home.write_dag("slots.py", SLOTS.format(out=str(out)))
    home.run("pools", "set", "two", "2", check=True)
    scheduler = start_scheduler(home)
    yield Running(home, scheduler, out)
    stop_scheduler(scheduler)


def _run_to_the_end(home: Home, dag_id: str) -> dict[str, Any]:
    home.run("dags", "trigger", dag_id, check=True)
    wait_until(
        lambda: _run_state(home, dag_id) in {"success", "failed"},
        timeout=30,
        what=f"the run of {dag_id} to end",
    )
    return home.runs_show(dag_id)


def _run_state(home: Home, dag_id: str) -> str | None:
    done = home.run("runs", "show", dag_id, "--output", "json")
    return str(json.loads(done.stdout)["state"]) if done.returncode == 0 else None


def test_queue_runs_on_the_worker_with_that_resource_and_executor_local_in_the_fork_server(
    running: Running, cluster: Cluster
) -> None:
    """queue="gpu" -> the worker started with resources={"gpu": 1}, every time; no queue ->
    any worker; executor="local" -> a child of the scheduler's fork server (whose parent is
    the scheduler), never a worker."""
    shown = _run_to_the_end(running.home, "routing")
    assert shown["state"] == "success", shown
    seen = {p.stem: json.loads(p.read_text()) for p in running.out.glob("*.json")}
    gpu_pid = cluster.worker_pids[cluster.gpu_worker]
    assert [seen[f"gpu_{n}"]["parent"] for n in range(4)] == [gpu_pid] * 4
    assert seen["anywhere"]["parent"] in cluster.worker_pids.values()
    assert seen["here"]["parent"] not in cluster.worker_pids.values()
    assert seen["here"]["grandparent"] == running.scheduler.pid


def test_a_queue_no_worker_offers_is_logged_and_waits_until_stopped(running: Running) -> None:
    """The attempt stays queued (Dask holds it until such a worker connects), the scheduler's
    log says why, and marking the task failed ends the attempt too: its future is cancelled,
    so the scheduler hears of its exit and frees its slot."""
    home = running.home
    home.run("dags", "trigger", "nowhere", check=True)
    log = home.path / "logs" / "scheduler.log"
    wait_until(
        lambda: "waits for a worker with queue 'tpu'" in log.read_text(),
        what="the scheduler to log the queue nobody offers",
    )
    assert "no connected Dask worker offers it" in log.read_text()
    assert home.latest_task_state("nowhere", "on_tpu") == "queued"
    run_id = home.latest_run_id("nowhere")
    home.run("tasks", "mark", "nowhere", run_id, "on_tpu", "failed", check=True)
    assert _run_state(home, "nowhere") == "failed"
    wait_until(
        lambda: _status(home)["running_attempts"] == 0,
        timeout=10,
        what="the attempt's exit",
        seen=lambda: str(_status(home)),
    )


def _status(home: Home) -> dict[str, Any]:
    status: dict[str, Any] = json.loads(home.run("scheduler", "status", "--output", "json").stdout)
    return status


def test_a_pool_of_two_slots_runs_at_most_two_attempts_at_once_on_the_cluster(
    running: Running,
) -> None:
    """Six 0.5 s tasks in a pool of two, on a cluster with four threads: their bodies overlap
    two at a time, never three."""
    shown = _run_to_the_end(running.home, "slots")
    assert shown["state"] == "success", shown
    spans = [json.loads((running.out / f"nap_{n}.json").read_text()) for n in range(6)]
    edges = sorted([(end, -1) for _, end in spans] + [(start, 1) for start, _ in spans])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    assert most == 2, spans


def _final_states(db: Path) -> dict[str, tuple[str, dict[str, tuple[str, int]]]]:
    """dag_id -> (run state, task_id -> (state, try_number)) of each DAG's only run."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        runs = conn.execute("SELECT dag_id, run_id, state FROM dag_runs").fetchall()
        tis = conn.execute(
            "SELECT dag_id, run_id, task_id, state, try_number FROM task_instances"
        ).fetchall()
    finally:
        conn.close()
    assert len({dag_id for dag_id, _, _ in runs}) == len(runs), runs  # one run per DAG
    return {
        dag_id: (state, {t: (s, n) for d, r, t, s, n in tis if (d, r) == (dag_id, run_id)})
        for dag_id, run_id, state in runs
    }


def _final_states_text(home: Home) -> str:
    return str(_final_states(home.path / "flowtui.db"))


def _is_done(home: Home, dag_ids: set[str]) -> bool:
    db = home.path / "flowtui.db"
    if not db.exists():
        return False
    states = _final_states(db)
    if set(states) != dag_ids:
        return False
    return all(state in {"success", "failed"} for state, _ in states.values())


def _drop_orders_file(home: Home) -> bool:
    """Once file_drop's scheduled run exists, drop the orders file its sensor waits for."""
    done = home.run("runs", "show", "file_drop", "--output", "json")
    if done.returncode != 0:
        return False
    day = json.loads(done.stdout)["logical_date"][:10]
    inbox = home.path / "sample_data" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / f"orders_{day}.csv").write_text("order_id,amount\n1,19.99\n2,5.01\n")
    return True


def test_every_sample_dag_ends_on_the_cluster_as_it_does_locally(
    tmp_path: Path, cluster: Cluster
) -> None:
    """Two real schedulers on the sample DAGs at once, one local, one on the cluster: the
    @daily DAGs' scheduled runs (file_drop's file dropped for it) and a triggered run of each
    other DAG end in the same run and task states, with the same tries (some fail on purpose)."""
    local = Home(tmp_path / "local", SAMPLES)
    local.path.mkdir()
    # A remote attempt sees its worker's environment: file_drop's sensor looks for its file
    # under the worker's FLOWTUI_HOME, which this cluster's workers share with this home.
    dask = _dask_home(cluster.samples_home, SAMPLES, cluster.address)
    schedulers = [start_scheduler(home) for home in (local, dask)]
    try:
        # The client learns of the workers shortly after it connects: 0 until then.
        status = wait_until(
            lambda: (seen := _status(dask)).get("dask_workers") == 2 and seen,
            30,
            what="the scheduler to see the cluster's two workers",
            seen=lambda: json.dumps(_status(dask)),
        )
        assert status["executor"] == "dask"
        listed = json.loads(local.run("dags", "list", "--output", "json", check=True).stdout)
        dag_ids = {row["dag_id"] for row in listed}
        scheduled = {row["dag_id"] for row in listed if row.get("schedule")}
        for home in (local, dask):
            for dag_id in sorted(dag_ids - scheduled):
                home.run("dags", "trigger", dag_id, check=True)
        for home in (local, dask):
            wait_until(partial(_drop_orders_file, home), what="file_drop's run")
        for home in (local, dask):
            wait_until(
                partial(_is_done, home, dag_ids),
                timeout=90,
                what=f"every sample DAG's run to end in {home.path.name}",
                seen=partial(_final_states_text, home),
            )
    finally:
        for process in schedulers:
            stop_scheduler(process)
    expected = _final_states(local.path / "flowtui.db")
    assert {state for state, _ in expected.values()} == {"success", "failed"}
    assert _final_states(dask.path / "flowtui.db") == expected
