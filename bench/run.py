"""Runs the flowtui benchmark workloads, each in a fresh home, and prints their figures next
to the targets, to the figures of other orchestrators, and as multiples of the floors (what
this machine charges for a bare interpreter start, a fork and a commit), measured by the same
run before and after the workloads. See bench/README.md.

    .venv/bin/python bench/run.py [--quick] [--only W1,W2] [--repeat N] [--w4-repeat N]
                                  [--json FILE] [--update-baseline]
    .venv/bin/python bench/run.py --executor dask [--repeat N]   # local vs Dask executor

It exits 1 when a workload breaks, when the floors cannot be measured, or when a figure is more
than 25% worse than the stored baseline (`baseline.py`, ratios to the floors).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import baseline
from floors import (
    AFTER,
    BEFORE,
    FloorError,
    Floors,
    Phase,
    PhaseCounts,
    flowtui_python,
    measure_phase,
)
from measure import Measurement, run_measured
from report import (
    LUIGI_W1,
    Results,
    WorkloadResult,
    as_json,
    figures_table,
    floors_table,
    workload_floor_table,
    workload_table,
)
from store_figures import BrokenRun, checked_latencies_ms

BENCH = Path(__file__).resolve().parent
DEFAULT_REPEAT = 5
QUICK_REPEAT = 3
QUICK_WORKLOADS = "W0,W1,W2,W3,W4_1k"


@dataclass(frozen=True)
class Workload:
    """One DAG file in its own folder under bench/workloads, and how to run it."""

    name: str
    folder: str
    dag_id: str
    tasks: int
    config: str = ""
    """The home's flowtui.toml; empty for the defaults."""
    is_heavy: bool = False
    """Repeated --w4-repeat times rather than --repeat times."""
    timeout_s: float = 30.0

    @property
    def dags_folder(self) -> Path:
        return BENCH / "workloads" / self.folder


WORKLOADS = (
    Workload("W0", "w0", "w0_empty", 0),
    Workload("W1", "w1", "w1_chain", 20),
    Workload("W2", "w2", "w2_fan", 102, config="parallelism = 2\n"),
    Workload("W3", "w3", "w3_bash", 10),
    Workload("W4_1k", "w4_1k", "w4_grid_1k", 1_000, is_heavy=True, timeout_s=300.0),
    Workload("W4_10k", "w4", "w4_grid_10k", 10_000, is_heavy=True, timeout_s=300.0),
    Workload("W6_quiet", "w6", "w6_quiet", 1),
    Workload("W6_log", "w6", "w6_log", 1),
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.executor == "dask":
        return _compare_executors(args)
    default_repeat = QUICK_REPEAT if args.quick else DEFAULT_REPEAT
    repeat = args.repeat if args.repeat is not None else default_repeat
    chosen = _select(args.only or (QUICK_WORKLOADS if args.quick else None))
    floors = Floors()
    with _FloorBench(args.flowtui, args.keep) as floor_bench:
        floor_bench.measure(floors, "before", BEFORE)
        results: dict[str, WorkloadResult] = {}
        for workload in chosen:
            runs = args.w4_repeat if workload.is_heavy else repeat
            results[workload.name] = run_workload(workload, runs, args.flowtui, args.keep)
        if args.luigi_python and "W1" in results:
            results[LUIGI_W1] = run_luigi_w1(args.luigi_python, repeat)
        floor_bench.measure(floors, "after", AFTER)
    _remove_homes()
    print()
    print(floors_table(floors))
    print()
    print(workload_table(list(results.values())))
    print()
    print(workload_floor_table(list(results.values()), floors))
    print()
    print(figures_table(results, floors))
    if args.json:
        args.json.write_text(json.dumps(as_json(results, floors), indent=2) + "\n")
        print(f"\nraw figures written to {args.json}")
    broken = [r.name for r in results.values() if not r.is_ok]
    if broken:
        print(f"\nBROKEN: {', '.join(broken)}: no figures from them (see above)")
    if floors.error:
        print(f"\nBROKEN: floors: {floors.error}; no ratios")
    return 1 if broken or floors.error or _against_baseline(args, results, floors) else 0


def _compare_executors(args: argparse.Namespace) -> int:
    """`--executor dask`: W0-W2 and W6 through a real scheduler on both executors (`executors.py`),
    between the two phases of the floors; no baseline (it holds `dags test` figures)."""
    import executors  # only here: it needs the dask extra

    chosen = _select(args.only or "W0,W1,W2,W6_quiet,W6_log")
    repeat = args.repeat if args.repeat is not None else QUICK_REPEAT
    floors = Floors()
    with _FloorBench(args.flowtui, args.keep) as floor_bench:
        floor_bench.measure(floors, "before", BEFORE)
        runs = executors.compare(chosen, repeat, args.flowtui)
        floor_bench.measure(floors, "after", AFTER)
    print()
    print(floors_table(floors))
    print()
    print(executors.comparison_table(runs, floors, {w.name: w.tasks for w in chosen}))
    return 1 if floors.error or any(r.error for r in runs) else 0


def _against_baseline(args: argparse.Namespace, results: Results, floors: Floors) -> bool:
    """Compare with the stored baseline, or store this run as it; True on a regression."""
    figures = baseline.comparable(results, floors)
    if args.update_baseline:
        commit = _git("rev-parse", "--short", "HEAD")
        baseline.save(figures, commit)
        print(
            f"\nbaseline: {len(figures)} figures of this run ({commit}) added to "
            f"{baseline.BASELINE.name} (the median of its last {baseline.KEPT} runs)"
        )
        return False
    regressed = baseline.regressions(figures, baseline.load())
    if regressed:
        print("\nREGRESSED against bench/baseline.json (ratios to the floors):")
        for line in regressed:
            print(f"  {line}")
    else:
        print(f"\nno figure more than {baseline.TOLERANCE:g}x its baseline (bench/baseline.json)")
    return bool(regressed)


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=BENCH, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run the flowtui benchmark workloads.")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"the quick bench: {QUICK_WORKLOADS} with {QUICK_REPEAT} runs each, and the floors "
        "(--only and --repeat still win)",
    )
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W2 (W4: both sizes)")
    parser.add_argument(
        "--repeat",
        type=int,
        help=f"runs per workload (default {DEFAULT_REPEAT}; {QUICK_REPEAT} with --quick)",
    )
    parser.add_argument("--w4-repeat", type=int, default=1, help="runs per W4 size (default 1)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep each run's home directory")
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="store this run's figures (ratios to the floors) as bench/baseline.json",
    )
    parser.add_argument(
        "--luigi-python",
        help="an interpreter that has Luigi: with W1, also time Luigi's W1 "
        "(bench/peers/luigi_w1.py), the peer the start-up target is relative to",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="dask: W0-W2 and W6 (or --only) through a real scheduler on the local executor and "
        "on a 2-worker LocalCluster, side by side (default: local, the workloads above)",
    )
    parser.add_argument(
        "--flowtui",
        default=str(Path(sys.executable).with_name("flowtui")),
        help="the flowtui command (default: next to this Python)",
    )
    return parser


def _select(only: str | None) -> list[Workload]:
    if not only:
        return list(WORKLOADS)
    wanted = {name.strip().upper() for name in only.split(",") if name.strip()}
    chosen = [w for w in WORKLOADS if w.name.upper() in wanted or w.name.split("_")[0] in wanted]
    known = {w.name.upper() for w in WORKLOADS} | {w.name.split("_")[0] for w in WORKLOADS}
    if unknown := wanted - known:
        sys.exit(f"run.py: unknown workload(s) {sorted(unknown)}; choose from {sorted(known)}")
    return chosen


class _FloorBench:
    """Where the floors are measured: a temporary directory with an empty home, the
    interpreter of the `flowtui` command, and the environment the workloads get."""

    def __init__(self, flowtui: str, keep: bool) -> None:
        self.python = flowtui_python(flowtui)
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix="flowtui-bench-floors-"))
        home = self.root / "home"
        home.mkdir(mode=0o700)
        self.env = _environment(home, BENCH / "workloads" / "w0")

    def __enter__(self) -> _FloorBench:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def measure(self, floors: Floors, phase: Phase, counts: PhaseCounts) -> None:
        """Add one phase of samples to `floors` and print their medians; a failure is recorded
        in `floors.error` (and stops later phases) rather than raised."""
        if floors.error:
            return
        try:
            measure_phase(floors, phase, counts, self.python, self.env, self.root)
        except FloorError as exc:
            floors.error = str(exc)
            self.keep = True
            print(f"floors {phase}: BROKEN: {exc} (files kept in {self.root})", flush=True)
            return
        print(f"floors {phase} ({self.python}): {floors.phase_summary(phase)}", flush=True)


def run_workload(workload: Workload, repeat: int, flowtui: str, keep: bool) -> WorkloadResult:
    """Run `workload` `repeat` times, each in a fresh home; stop at the first broken run."""
    result = WorkloadResult(workload.name, workload.dag_id, workload.tasks)
    for number in range(1, repeat + 1):
        try:
            measurement, latencies = run_once(workload, flowtui, keep)
        except BrokenRun as exc:
            result.error = str(exc)
            print(f"{workload.name} run {number}/{repeat}: BROKEN: {exc}", flush=True)
            break
        result.measurements.append(measurement)
        result.latencies_ms.extend(latencies)
        _print_run(workload.name, number, repeat, measurement)
    return result


def _print_run(name: str, number: int, repeat: int, measurement: Measurement) -> None:
    print(
        f"{name} run {number}/{repeat}: {measurement.wall_s:.3f} s wall, "
        f"{measurement.cpu_s:.3f} s CPU",
        flush=True,
    )


def run_once(workload: Workload, flowtui: str, keep: bool) -> tuple[Measurement, list[float]]:
    """Prepare a fresh home, load the DAG folder (untimed), then time `dags test`.

    Raises:
        BrokenRun: a command failed or timed out, or the store shows a run that did not succeed;
            the home is then kept for inspection.
    """
    root = Path(tempfile.mkdtemp(prefix=f"flowtui-bench-{workload.name}-"))
    home = root / "home"
    home.mkdir(mode=0o700)
    if workload.config:
        (home / "flowtui.toml").write_text(workload.config)
    common = [flowtui, "--home", str(home), "--dags-folder", str(workload.dags_folder)]
    env = _environment(home, workload.dags_folder)
    try:
        _load_folder(common, env, workload)
        output = root / "dags-test.out"
        measurement = run_measured(
            [*common, "dags", "test", workload.dag_id], env, output, workload.timeout_s
        )
        _check_exit(measurement, output, workload)
        latencies = checked_latencies_ms(home / "flowtui.db", workload.dag_id, workload.tasks)
    except BrokenRun as exc:
        raise BrokenRun(f"{exc} (home kept in {root})") from None
    if not keep:
        _finished_homes.append(root)
    return measurement, latencies


_finished_homes: list[Path] = []
"""Homes of finished runs, removed only after the last workload: thousands of files deleted
between two runs slow the next run's file creation on some file systems (ext4 without a
journal skips recently deleted inodes one by one), which a server that keeps its logs never
sees."""


def _remove_homes() -> None:
    for root in _finished_homes:
        shutil.rmtree(root, ignore_errors=True)
    _finished_homes.clear()


def run_luigi_w1(python: str, repeat: int) -> WorkloadResult:
    """Time Luigi's W1 (a chain of 20 no-op tasks, whole process) `repeat` times."""
    result = WorkloadResult(LUIGI_W1, "luigi_w1", 20)
    script = BENCH / "peers" / "luigi_w1.py"
    with tempfile.TemporaryDirectory(prefix="flowtui-bench-luigi-") as folder:
        output = Path(folder) / "luigi.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LUIGI")}
        for number in range(1, repeat + 1):
            measurement = run_measured([python, str(script)], env, output, 60.0)
            if measurement.exit_code != 0 or measurement.timed_out:
                tail = output.read_text(errors="replace").strip()[-300:]
                result.error = f"`{python} {script.name}` exited {measurement.exit_code}: {tail}"
                print(f"{LUIGI_W1} run {number}/{repeat}: BROKEN: {result.error}", flush=True)
                break
            result.measurements.append(measurement)
            _print_run(LUIGI_W1, number, repeat, measurement)
    return result


def _environment(home: Path, dags_folder: Path) -> dict[str, str]:
    # The environment names the same home and folder as the flags, so that a run can never
    # touch ~/.flowtui even if a flowtui build ignores global flags placed before the command.
    # PYTHONDONTWRITEBYTECODE is dropped too: with it, a module changed since its last .pyc
    # is compiled again at every start (40 ms of W0 once seen), which no installed copy pays.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLOWTUI_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    return env | {"FLOWTUI_HOME": str(home), "FLOWTUI_DAGS_FOLDER": str(dags_folder)}


def _load_folder(common: list[str], env: dict[str, str], workload: Workload) -> None:
    try:
        done = subprocess.run(
            [*common, "dags", "reserialize"],
            env=env,
            capture_output=True,
            text=True,
            timeout=workload.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BrokenRun(
            f"`dags reserialize` still running after {workload.timeout_s:g} s"
        ) from None
    if done.returncode != 0 or workload.dag_id not in done.stdout:
        raise BrokenRun(
            f"`dags reserialize` exited {done.returncode} without listing {workload.dag_id}: "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        )


def _check_exit(measurement: Measurement, output: Path, workload: Workload) -> None:
    if measurement.timed_out:
        raise BrokenRun(
            f"`dags test {workload.dag_id}` still running after {workload.timeout_s:g} s; "
            f"killed. Output: {output}"
        )
    if measurement.exit_code != 0:
        tail = output.read_text(errors="replace").strip().splitlines()[-5:]
        raise BrokenRun(
            f"`dags test {workload.dag_id}` exited {measurement.exit_code}: " + " | ".join(tail)
        )


if __name__ == "__main__":
    sys.exit(main())
