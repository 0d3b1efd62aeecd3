"""Terminal output of the real `flowtui` dashboard (issue 13, point 3): bytes per second while
it is idle, and while its log pane follows a task that prints one line a second, at 80x24 and
100x30, read from the master side of a pseudo-terminal (`dashboard_pty.PtyDashboard`). The floor
is what the log itself grows by per second: the least any terminal view of it must receive.
See bench/README.md, "Terminal bytes".

    .venv/bin/python bench/terminal_bytes.py [--seconds S] [--sizes 80x24,100x30] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from dashboard_pty import DashboardError, PtyDashboard, dashboard_env

DAG_ID = "ticker"
TASK_ID = "tick"
TARGET_FOLLOW = 2048.0
"""Bytes per second while following at 100x30 (issue 13)."""
SETTLE_S = 2.0
"""Seconds between a screen's first frame and the start of a count."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="flowtui-bytes-"))
    results: dict[str, Any] = {"seconds": args.seconds, "sizes": {}}
    try:
        for size in args.sizes.split(","):
            columns, rows = (int(n) for n in size.split("x"))
            results["sizes"][size] = _measure(args, root / size, columns, rows)
    except DashboardError as exc:
        print(f"terminal_bytes: {exc} (files kept in {root})", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    _print(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="each count's window (20)")
    parser.add_argument("--sizes", default="80x24,100x30", help="terminal sizes (80x24,100x30)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--flowtui",
        default=str(Path(sys.executable).with_name("flowtui")),
        help="the flowtui command (default: next to this Python)",
    )
    return parser


def _write_dag(folder: Path, lines: int) -> None:
    """A DAG run once at start-up whose one task prints a numbered line a second."""
    folder.mkdir(parents=True)
    (folder / f"{DAG_ID}.py").write_text(
        textwrap.dedent(f"""\
        from datetime import datetime

        from flowtui import DAG, BashOperator

        with DAG(dag_id="{DAG_ID}", schedule="@once", start_date=datetime(2024, 1, 1)):
            BashOperator(
                task_id="{TASK_ID}",
                bash_command='for i in $(seq 1 {lines}); do echo "tick $i of {lines}: all is '
                'well with the world"; sleep 1; done',
            )
        """)
    )


def _measure(args: argparse.Namespace, folder: Path, columns: int, rows: int) -> dict[str, Any]:
    lines = int(args.seconds + 3 * SETTLE_S + 20)
    home, dags = folder / "home", folder / "dags"
    _write_dag(dags, lines)
    (folder / "cwd").mkdir()
    env = dashboard_env(home, dags)
    dashboard = PtyDashboard([args.flowtui], env, folder / "cwd", columns, rows)
    dashboard.start()
    try:
        dashboard.wait_for(lambda t: f" {DAG_ID} " in t, 60, "the DAG list")
        dashboard.press(b"\r")
        dashboard.wait_for(lambda t: "durations" in t and " try 1/" in t, 30, "the DAG screen")
        dashboard.press(b"l")
        dashboard.wait_for(lambda t: "tick 2 of" in t, 30, "the log following")
        log = _log_file(home)
        following, floor = _count(dashboard, args.seconds, log)
        # The status line says "following" while the attempt runs ("success" alone is in the
        # header's counts from the start).
        dashboard.wait_for(
            lambda t: f"tick {lines} of {lines}" in t and "following" not in t,
            lines + 30,
            "the task to end",
        )
        idle_log, _ = _count(dashboard, args.seconds, None)
        dashboard.press(b"\x1b")
        dashboard.press(b"\x1b")
        dashboard.wait_for(
            lambda t: f" {DAG_ID} " in t and "durations" not in t, 30, "the DAG list"
        )
        idle_list, _ = _count(dashboard, args.seconds, None)
    finally:
        dashboard.close()
        # Its scheduler goes on headless once the terminal is gone, as designed: stop it.
        subprocess.run([args.flowtui, "scheduler", "stop"], env=env, capture_output=True)
    return {
        "following_bytes_per_s": following,
        "floor_log_bytes_per_s": floor,
        "idle_task_screen_bytes_per_s": idle_log,
        "idle_dag_list_bytes_per_s": idle_list,
    }


def _log_file(home: Path) -> Path:
    found = sorted((home / "logs" / DAG_ID).glob(f"*/{TASK_ID}/attempt=1.log"))
    if not found:
        raise DashboardError(f"no log of {DAG_ID}.{TASK_ID} under {home / 'logs'}")
    return found[-1]


def _count(dashboard: PtyDashboard, seconds: float, log: Path | None) -> tuple[float, float]:
    """Bytes per second read from the terminal over `seconds` (after `SETTLE_S`), and what
    `log` grew by per second meanwhile (0 without one)."""
    time.sleep(SETTLE_S)
    dashboard.drain()
    before, grown = dashboard.received, log.stat().st_size if log else 0
    start = time.perf_counter()
    time.sleep(seconds)
    took = time.perf_counter() - start
    dashboard.drain()
    grown = (log.stat().st_size - grown) if log else 0
    return (dashboard.received - before) / took, grown / took


def _print(results: dict[str, Any]) -> None:
    print(f"terminal output, bytes/s over {results['seconds']:g} s windows:")
    print(f"  {'size':<8}{'following':>11}{'floor':>9}{'idle (log)':>12}{'idle (list)':>13}")
    for size, r in results["sizes"].items():
        print(
            f"  {size:<8}{r['following_bytes_per_s']:>11.0f}{r['floor_log_bytes_per_s']:>9.0f}"
            f"{r['idle_task_screen_bytes_per_s']:>12.0f}{r['idle_dag_list_bytes_per_s']:>13.0f}"
        )
    big = results["sizes"].get("100x30")
    if big is not None:
        rate = big["following_bytes_per_s"]
        verdict = "ok" if rate <= TARGET_FOLLOW else f"MISSED by {rate / TARGET_FOLLOW:.1f}x"
        print(f"  target: following at 100x30 <= {TARGET_FOLLOW:g} B/s: {verdict}")


if __name__ == "__main__":
    sys.exit(main())
