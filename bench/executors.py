"""`run.py --executor dask`: W0, W1 and W2 through a real `flowtui scheduler` (not `dags test`,
which runs every task locally whatever the home's executor), once on the local executor and once
with `executor = "dask"` on a LocalCluster of two worker processes (one thread each) started
once for all runs, so that its start-up is not counted. Both are measured the same way, from the
store: a run's time is its end_date minus its start_date, and task-to-task latency is as in
store_figures. See bench/README.md, "The Dask executor"."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from floors import Floors, format_number
from report import percentile
from schedule_process import BenchError, StoreReader, environment, epoch, running_scheduler
from store_figures import BrokenRun, checked_latencies_ms

EXECUTORS = ("local", "dask")
WORKERS = 2
STARTUP_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 600.0
"""Generous: a Dask attempt starts a fresh interpreter, seconds each on a loaded machine."""
POLL_S = 0.01


class Workload(Protocol):
    """What run.py's Workload gives (run.py imports this module, not the other way)."""

    name: str
    dag_id: str
    tasks: int
    config: str

    @property
    def dags_folder(self) -> Path: ...


@dataclass
class ExecutorRuns:
    """The runs of each workload on one executor."""

    executor: str
    run_s: dict[str, list[float]] = field(default_factory=dict)
    """Workload name -> each run's time (end_date - start_date), seconds."""
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    """Workload name -> the task-to-task latencies of all its runs."""
    error: str | None = None

    def median_s(self, name: str) -> float | None:
        runs = self.run_s.get(name)
        return float(statistics.median(runs)) if runs else None


def compare(workloads: Sequence[Workload], repeat: int, flowtui: str) -> list[ExecutorRuns]:
    """Run each workload `repeat` times on each executor; a broken run stops that executor."""
    with _local_cluster() as address:
        return [_runs(executor, workloads, repeat, flowtui, address) for executor in EXECUTORS]


@contextmanager
def _local_cluster() -> Iterator[str]:
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    try:
        yield str(cluster.scheduler_address)
    finally:
        cluster.close()


def _runs(
    executor: str, workloads: Sequence[Workload], repeat: int, flowtui: str, address: str
) -> ExecutorRuns:
    result = ExecutorRuns(executor)
    for workload in workloads:
        for number in range(1, repeat + 1):
            try:
                run_s, latencies = _run_once(workload, executor, flowtui, address)
            except (BenchError, BrokenRun) as exc:
                result.error = f"{workload.name} on {executor}: {exc}"
                print(f"{workload.name} {executor} run {number}/{repeat}: BROKEN: {exc}")
                return result
            result.run_s.setdefault(workload.name, []).append(run_s)
            result.latencies_ms.setdefault(workload.name, []).extend(latencies)
            print(f"{workload.name} {executor} run {number}/{repeat}: {run_s:.3f} s", flush=True)
    return result


def _run_once(
    workload: Workload, executor: str, flowtui: str, address: str
) -> tuple[float, list[float]]:
    """A fresh home, its DAG stored (untimed), a scheduler started, the DAG triggered; the run's
    time and latencies come from the store once it ended. The home is deleted after a good run,
    kept after a broken one."""
    root = Path(tempfile.mkdtemp(prefix=f"flowtui-bench-{workload.name}-{executor}-"))
    home = root / "home"
    home.mkdir(mode=0o700)
    config = workload.config
    if executor == "dask":
        config += f'executor = "dask"\n[dask]\naddress = "{address}"\n'
    (home / "flowtui.toml").write_text(config)
    common = [flowtui, "--home", str(home), "--dags-folder", str(workload.dags_folder)]
    env = environment(home, workload.dags_folder)
    try:
        _command([*common, "dags", "reserialize"], env)
        with running_scheduler(flowtui, home, workload.dags_folder) as scheduler:
            scheduler.wait_for_banner(STARTUP_TIMEOUT_S)
            _command([*common, "dags", "trigger", workload.dag_id], env)
            run_s = _wait_for_run(StoreReader(home / "flowtui.db"), workload.dag_id)
        latencies = checked_latencies_ms(home / "flowtui.db", workload.dag_id, workload.tasks)
    except (BenchError, BrokenRun) as exc:
        raise BenchError(f"{exc} (home kept in {root})") from None
    shutil.rmtree(root, ignore_errors=True)
    return run_s, latencies


def _command(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(argv[-2:])}` exited {done.returncode}: {done.stderr[-300:]}")


def _wait_for_run(reader: StoreReader, dag_id: str) -> float:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    sql = "SELECT state, start_date, end_date FROM dag_runs WHERE dag_id = ?"
    try:
        while time.monotonic() < deadline:
            row = reader.one(sql, (dag_id,))
            if row is not None and row["state"] in {"success", "failed"}:
                return epoch(row["end_date"], "run end") - epoch(row["start_date"], "run start")
            time.sleep(POLL_S)
    finally:
        reader.close()
    raise BenchError(f"the run of {dag_id} did not end within {RUN_TIMEOUT_S:g} s")


def comparison_table(runs: list[ExecutorRuns], floors: Floors, tasks: dict[str, int]) -> str:
    """One row per figure, a column per executor: the value and its multiple of `fork` and of
    `python_start` (a Dask attempt starts a fresh interpreter on its worker)."""
    figures: list[tuple[str, Callable[[ExecutorRuns], float | None]]] = [
        ("per-task overhead (W2-W0)/102", lambda r: _overhead_ms(r, tasks)),
        ("task-to-task p50 (W1)", lambda r: percentile(r.latencies_ms.get("W1", []), 50)),
        ("task-to-task p99 (W1)", lambda r: percentile(r.latencies_ms.get("W1", []), 99)),
        ("W1 run time", lambda r: _ms(r.median_s("W1"))),
        ("W2 run time", lambda r: _ms(r.median_s("W2"))),
        ("log of 10,000 lines (W6)", _log_cost_ms),
    ]
    rows = [(label, [_cell(value_of(r), floors) for r in runs]) for label, value_of in figures]
    width = max(len(cell) for _, cells in rows for cell in cells) + 3
    header = f"{'figure (median, ms)':<31}" + "".join(f"{r.executor:>{width}}" for r in runs)
    lines = [header, "-" * len(header)]
    for label, cells in rows:
        lines.append(f"{label:<31}" + "".join(f"{cell:>{width}}" for cell in cells))
    lines.append(
        f"floors: fork {format_number(floors.by_name['fork'].median)} us, "
        f"python_start {format_number(floors.by_name['python_start'].median)} ms"
    )
    lines += [f"BROKEN: {r.error}" for r in runs if r.error]
    return "\n".join(lines)


def _overhead_ms(runs: ExecutorRuns, tasks: dict[str, int]) -> float | None:
    w2, w0 = runs.median_s("W2"), runs.median_s("W0")
    if w2 is None or w0 is None:
        return None
    return (w2 - w0) / tasks["W2"] * 1000


def _log_cost_ms(runs: ExecutorRuns) -> float | None:
    """What a task's 10,000 log lines add to its run (`--only ...,W6_quiet,W6_log`)."""
    chatty, quiet = runs.median_s("W6_log"), runs.median_s("W6_quiet")
    return None if chatty is None or quiet is None else (chatty - quiet) * 1000


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _cell(value_ms: float | None, floors: Floors) -> str:
    if value_ms is None:
        return "n/a"
    fork = floors.ratio(value_ms, "ms", "fork")
    start = floors.ratio(value_ms, "ms", "python_start")
    ratios = f" ({format_number(fork)}x fork, {format_number(start)}x start)" if fork else ""
    return f"{format_number(value_ms)}{ratios}"
