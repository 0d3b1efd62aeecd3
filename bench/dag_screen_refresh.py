"""Refresh time of the DAG screen of a 200-task DAG on a store of 100,000 task instances (issue
13, point 9): the busy home of `dashboard.py` (built once, or reused with `--home`), its real
`flowtui scheduler` running the 200-task chain, and the in-process dashboard (Pilot) on that
DAG's screen. Prints refresh p50/p99 (the live thread's read plus `show`), its parts, and the
floor: one trivial query on the same store. See bench/README.md, "DAG screen refresh".

    .venv/bin/python bench/dag_screen_refresh.py [--seconds S] [--home DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dashboard_pilot import SIZE, RefreshRecorder, _dashboard, wait_for
from dashboard_pty import DashboardError, dashboard_env
from dashboard_store import (
    BUSY_DAG,
    BUSY_TASKS,
    HISTORY_TASK_INSTANCES,
    fill_history,
    load_folder,
    read_only,
    running_scheduler,
    trigger,
    write_dag_folder,
)
from report import percentile

from flowtui.config import Settings, load_settings
from flowtui.store.schema import open_connection
from flowtui.tui.screens.dag_runs import DagScreen

TARGET_P99_MS = 50.0
FLOOR_QUERIES = 2_000


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="flowtui-refresh-"))
    home, dags = root / "home", root / "dags"
    env = dashboard_env(home, dags)
    try:
        if not (home / "flowtui.db").exists():
            _build(args.flowtui, root, env)
        settings = load_settings(home, dags)
        with running_scheduler(args.flowtui, env, root / "scheduler.out"):
            trigger(args.flowtui, env, BUSY_DAG)
            _wait_for_a_running_run(settings.db_path, 60)
            trigger(args.flowtui, env, BUSY_DAG)  # queued behind the first: tasks keep finishing
            recorder = asyncio.run(_record(settings, args.seconds))
        floor = _floor_ms(settings.db_path)
    except DashboardError as exc:
        print(f"dag_screen_refresh: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.home and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    figures = _figures(recorder, floor)
    _print(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="recording time (20)")
    parser.add_argument(
        "--home", help="a folder to build the store in once and reuse (default: a fresh temp one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", help="also write the figures and samples to this file")
    parser.add_argument(
        "--flowtui",
        default=str(Path(sys.executable).with_name("flowtui")),
        help="the flowtui command (default: next to this Python)",
    )
    return parser


def _build(flowtui: str, root: Path, env: dict[str, str]) -> None:
    write_dag_folder(root / "dags")
    load_folder(flowtui, env)
    start = time.perf_counter()
    count = fill_history(root / "home" / "flowtui.db", root / "home")
    print(f"store: {count:,} task instances inserted in {time.perf_counter() - start:.1f} s")
    if count != HISTORY_TASK_INSTANCES:
        raise DashboardError(f"expected {HISTORY_TASK_INSTANCES:,} task instances, got {count:,}")


def _wait_for_a_running_run(db_path: Path, timeout: float) -> None:
    """A reused home may hold older queued runs: wait for any run of the busy DAG to run."""
    conn = read_only(db_path)
    try:
        deadline = time.monotonic() + timeout
        while not conn.execute(
            "SELECT 1 FROM dag_runs WHERE dag_id = ? AND state = 'running'", (BUSY_DAG,)
        ).fetchone():
            if time.monotonic() > deadline:
                raise DashboardError(f"{BUSY_DAG}: no run running after {timeout:g} s")
            time.sleep(0.1)
    finally:
        conn.close()


async def _record(settings: Settings, seconds: float) -> RefreshRecorder:
    app = _dashboard(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = DagScreen(BUSY_DAG)
        recorder = RefreshRecorder(app, screen)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.data is not None, 30, f"the {BUSY_DAG} screen")
        await pilot.pause(1)
        # The screen's first frame builds the whole grid: that is opening it, not a refresh.
        for samples in (recorder.load_ms, recorder.read_ms, recorder.queue_ms, recorder.show_ms):
            samples.clear()
        print(f"recording the {BUSY_DAG} screen ({BUSY_TASKS} tasks) for {seconds:g} s")
        await pilot.pause(seconds)
        recorder.recording = False
    if len(recorder.show_ms) < 5:
        raise DashboardError(f"only {len(recorder.show_ms)} refreshes in {seconds:g} s")
    return recorder


def _floor_ms(db_path: Path) -> list[float]:
    """One trivial query (`SELECT 1`) on a read-only connection to the same store, as the live
    thread opens it: what any refresh costs at least."""
    conn = open_connection(db_path, readonly=True)
    try:
        samples = []
        for _ in range(FLOOR_QUERIES):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            samples.append((time.perf_counter() - start) * 1000)
        return samples
    finally:
        conn.close()


def _pair(values: list[float]) -> dict[str, Any]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "samples": values}


def _figures(recorder: RefreshRecorder, floor: list[float]) -> dict[str, Any]:
    return {
        "refresh_ms": _pair(recorder.refresh_ms),
        "read_ms": _pair(recorder.read_ms),
        "load_ms": _pair(recorder.load_ms),
        "show_ms": _pair(recorder.show_ms),
        "floor_select_1_ms": _pair(floor),
        "target_p99_ms": TARGET_P99_MS,
    }


def _print(figures: dict[str, Any]) -> None:
    refreshes = len(figures["refresh_ms"]["samples"])
    print(f"{refreshes} refreshes of the DAG screen:")
    for name, label in (
        ("refresh_ms", "refresh (read + show)"),
        ("read_ms", "  read (live thread)"),
        ("load_ms", "    the screen's load"),
        ("show_ms", "  show (UI thread)"),
        ("floor_select_1_ms", "floor: SELECT 1"),
    ):
        pair = figures[name]
        print(f"  {label:<24} p50 {pair['p50']:8.3f} ms  p99 {pair['p99']:8.3f} ms")
    p99 = figures["refresh_ms"]["p99"]
    verdict = "ok" if p99 <= TARGET_P99_MS else f"MISSED by {p99 / TARGET_P99_MS:.1f}x"
    print(f"  target: refresh p99 <= {TARGET_P99_MS:g} ms: {verdict}")


if __name__ == "__main__":
    sys.exit(main())
