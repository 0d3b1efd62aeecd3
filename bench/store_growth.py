"""W5: how cost grows with the store's size. The W4_1k DAG (1,000 tasks) is run with `flowtui
dags test` again and again in one home, 100 times by default, so that the last run finds
99,000 task instances (and their attempts and events) in the store before it. The figure: the
median wall time of the last five runs over that of the first five (target: at most 1.2).

    .venv/bin/python bench/store_growth.py [--runs N] [--flowtui PATH] [--keep]

Exit code 1 when a run fails or the figure misses its target."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import Measurement, run_measured

BENCH = Path(__file__).resolve().parent
FOLDER = BENCH / "workloads" / "w4_1k"
DAG_ID = "w4_grid_1k"
TARGET = 1.2
WINDOW = 5
"""Runs at each end whose median is compared (one slow run must not decide)."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="flowtui-bench-W5-"))
    home = root / "home"
    home.mkdir(mode=0o700)
    common = [args.flowtui, "--home", str(home), "--dags-folder", str(FOLDER)]
    env = {"PATH": "/usr/bin:/bin", "FLOWTUI_HOME": str(home), "FLOWTUI_DAGS_FOLDER": str(FOLDER)}
    # Untimed: create the store and record the DAG, so that the first run is not charged for it.
    subprocess.run([*common, "dags", "reserialize"], env=env, capture_output=True, check=True)
    runs: list[Measurement] = []
    for number in range(1, args.runs + 1):
        measured = run_measured([*common, "dags", "test", DAG_ID], env, root / "out", 300.0)
        if measured.exit_code != 0 or measured.timed_out:
            tail = (root / "out").read_text(errors="replace")[-2000:]
            print(f"W5 run {number}: BROKEN (exit {measured.exit_code}); home kept in {root}")
            print(tail)
            return 1
        runs.append(measured)
        size = (home / "flowtui.db").stat().st_size / 2**20
        print(
            f"W5 run {number}/{args.runs}: {measured.wall_s:.2f} s wall, "
            f"{measured.cpu_s:.2f} s CPU, store {size:.0f} MiB",
            flush=True,
        )
    window = min(WINDOW, len(runs) // 2) or 1
    first = statistics.median(m.wall_s for m in runs[:window])
    last = statistics.median(m.wall_s for m in runs[-window:])
    ratio = last / first
    status = "ok" if ratio <= TARGET else "MISSED"
    print(
        f"\nW5: {len(runs)} runs of {DAG_ID} ({len(runs) * 1000:,} task instances): "
        f"first {window} median {first:.2f} s, last {window} median {last:.2f} s, "
        f"last / first = {ratio:.2f} (target <= {TARGET}) {status}"
    )
    if not args.keep:
        shutil.rmtree(root)
    return 0 if status == "ok" else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="W5: cost against the store's size.")
    parser.add_argument("--runs", type=int, default=100, help="runs of the W4_1k DAG (100)")
    parser.add_argument(
        "--flowtui",
        default=str(Path(sys.executable).with_name("flowtui")),
        help="the flowtui command (default: next to this Python)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the home")
    return parser


if __name__ == "__main__":
    sys.exit(main())
