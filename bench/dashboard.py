"""Measures the dashboard's figures (issue 4) and prints each next to its target: time to the
first full frame, idle output, peak RSS, refresh time and key-press latency with 100,000 task
instances in the store, state change to screen, and the key presses to rerun a failed task.
See bench/README.md, section "The dashboard".

    .venv/bin/python bench/dashboard.py [--skip-idle] [--idle-seconds S] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dashboard_pilot import (
    RefreshRecorder,
    end_to_end_ms,
    measure_refresh_and_keys,
    verify_retry_presses,
)
from dashboard_pty import (
    FOOTER_WORDS,
    DashboardError,
    PtyDashboard,
    QuitOutcome,
    dashboard_env,
    shows_dag_list,
)
from dashboard_store import (
    ALL_DAGS,
    BUSY_DAG,
    BUSY_TASKS,
    FAILING_DAG,
    HISTORY_TASK_INSTANCES,
    completions,
    fill_history,
    load_folder,
    read_only,
    running_scheduler,
    trigger,
    wait_for_run_state,
    write_dag_folder,
)
from figure_table import Row, figures_table
from measure import RssSampler
from report import percentile
from textual_floor_app import ROW as FLOOR_ROW

from flowtui.config import load_settings

SAMPLE_DAGS = ("etl_pipeline", "flaky_task", "taskflow_pipeline", "trigger_rules_demo")
SETTLE_S = 1.0
"""Seconds between the first frame and the start of the idle count."""
FLOOR_APP = Path(__file__).with_name("textual_floor_app.py")
REAL_KEY_PRESSES = 30
"""j/k presses timed on the real dashboard's DAG screen (busy home)."""
BUSY_HOLD_S = 5.0
"""Seconds the real dashboard stays on the busy DAG's screen (RSS sampling)."""


@dataclass
class Results:
    """Everything measured; None or empty means not measured."""

    first_frame_fresh_s: list[float] = field(default_factory=list)
    first_frame_warm_s: list[float] = field(default_factory=list)
    first_paint_fresh_s: list[float] = field(default_factory=list)
    """When the footer first showed (the DAG list may still be empty then)."""
    first_paint_warm_s: list[float] = field(default_factory=list)
    floor_first_frame_s: list[float] = field(default_factory=list)
    """The floor: a minimal Textual app's first frame (textual_floor_app.py), same terminal."""
    idle_bytes_per_s: float | None = None
    idle_window_s: float | None = None
    rss_samples_mb: float | None = None
    """Peak RSS of the flowtui process over the sample-DAG runs."""
    rss_busy_mb: float | None = None
    """Peak RSS of the flowtui process on the 100,000-instance home."""
    rss_bench_mb: float | None = None
    """Peak RSS of this process while the in-process (Pilot) dashboard ran."""
    busy_first_frame_s: float | None = None
    busy_open_dag_s: float | None = None
    history_task_instances: int | None = None
    list_refresh: dict[str, list[float]] = field(default_factory=dict)
    """DAG list refreshes: "load", "read", "queue", "show" in ms (see RefreshRecorder)."""
    dag_refresh: dict[str, list[float]] = field(default_factory=dict)
    """The same on the busy DAG's screen."""
    key_ms: list[float] = field(default_factory=list)
    real_key_ms: list[float] = field(default_factory=list)
    end_to_end_ms: list[float] = field(default_factory=list)
    unmatched_changes: int = 0
    gc_pauses_ms: list[float] = field(default_factory=list)
    list_gc_pauses_ms: list[float] = field(default_factory=list)
    completions_per_s: float | None = None
    retry_presses: list[str] = field(default_factory=list)
    retry_detail: str = ""
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = Results()
    root = Path(tempfile.mkdtemp(prefix="flowtui-bench-dashboard-"))
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    _log(f"load average (1 min) before: {load_before:.2f} on {os.cpu_count()} CPUs")
    try:
        measure_first_frames(args, root, results)
        if not args.first_frames_only:
            measure_busy_home(args, root, results)
    except DashboardError as exc:
        results.error = str(exc)
        print(f"\nBROKEN: {exc}", flush=True)
    except KeyboardInterrupt:
        results.error = "interrupted"
    load_after = os.getloadavg()[0]
    print(f"\n(took {time.perf_counter() - started:.0f} s; load average after: {load_after:.2f})")
    if max(load_before, load_after) > (os.cpu_count() or 1):
        results.notes.append(
            f"the machine was busy (load average {load_before:.1f} before, {load_after:.1f} "
            f"after, {os.cpu_count()} CPUs): the timings are pessimistic"
        )
    print()
    rows = figure_rows(results, args.skip_idle)
    print(figures_table(rows))
    for note in results.notes:
        print(f"note: {note}")
    if args.json:
        args.json.write_text(json.dumps(as_json(results, rows), indent=2) + "\n")
        print(f"\nraw figures written to {args.json}")
    missing = [
        row.label
        for row in rows
        if row.status == "NOT MEASURED"
        and not (args.first_frames_only and "first" not in row.label)
    ]
    if results.error or missing:
        print(f"\nNOT MEASURED: {', '.join(missing) or '-'}; temporary files kept in {root}")
        return 1
    if args.keep:
        print(f"\ntemporary files kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Measure the flowtui dashboard's figures.")
    parser.add_argument("--skip-idle", action="store_true", help="do not measure idle output")
    parser.add_argument(
        "--idle-seconds", type=float, default=30.0, help="idle output window (default 30)"
    )
    parser.add_argument("--runs", type=int, default=5, help="first-frame runs (default 5)")
    parser.add_argument(
        "--first-frames-only",
        action="store_true",
        help="measure the first frames (and the floor) only, not the busy home",
    )
    parser.add_argument(
        "--pilot-seconds",
        type=float,
        default=20.0,
        help="refresh recording per screen with 100,000 task instances (default 20)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument(
        "--flowtui",
        default=str(Path(sys.executable).with_name("flowtui")),
        help="the flowtui command (default: next to this Python)",
    )
    return parser


def _log(text: str) -> None:
    print(text, flush=True)


# --- 1-3: the real command in a pseudo-terminal, on the sample DAGs ---


def measure_first_frames(args: argparse.Namespace, root: Path, results: Results) -> None:
    """`args.runs` times: a fresh home, start (timed), quit, start again on it (warm, timed);
    the last warm start also counts the idle output."""
    peaks = []
    for number in range(1, args.runs + 1):
        floor = _floor_first_frame(args, root)
        results.floor_first_frame_s.append(floor)
        _log(f"floor (a minimal Textual app), run {number}/{args.runs}: {floor:.3f} s")
        home, cwd = root / f"samples-{number}" / "home", root / f"samples-{number}" / "cwd"
        cwd.mkdir(parents=True)  # no dags/ in it: the bundled samples are used
        for kind in ("fresh", "warm"):
            idle = kind == "warm" and number == args.runs and not args.skip_idle
            paint, seconds, peak, idle_rate = _start_on_samples(args, home, cwd, idle, results)
            peaks.append(peak)
            if kind == "fresh":
                results.first_paint_fresh_s.append(paint)
                results.first_frame_fresh_s.append(seconds)
            else:
                results.first_paint_warm_s.append(paint)
                results.first_frame_warm_s.append(seconds)
            line = f"first frame, {kind} home, run {number}/{args.runs}: {seconds:.3f} s"
            line += f" (footer at {paint:.3f} s)"
            line += f", peak RSS {peak:.0f} MB"
            if idle_rate is not None:
                results.idle_bytes_per_s, results.idle_window_s = idle_rate
                line += f", idle output {idle_rate[0]:.0f} B/s over {idle_rate[1]:.1f} s"
            _log(line)
    results.rss_samples_mb = max(peaks)


def _floor_first_frame(args: argparse.Namespace, root: Path) -> float:
    """Seconds from the start of textual_floor_app.py, under the Python of the flowtui command
    (so the same Textual), to its first frame in the same kind of pseudo-terminal."""
    python = Path(args.flowtui).with_name("python")
    argv = [str(python if python.exists() else sys.executable), str(FLOOR_APP)]
    app = PtyDashboard(argv, dashboard_env(root, None), root)
    app.start()
    try:
        seen = app.wait_for(lambda text: FLOOR_ROW in text and "Quit" in text, 30, "the floor")
        return seen - app.started_at
    finally:
        app.quit()


def _start_on_samples(
    args: argparse.Namespace, home: Path, cwd: Path, idle: bool, results: Results
) -> tuple[float, float, float, tuple[float, float] | None]:
    """(footer first shown, first full frame, peak RSS, idle bytes/s and window or None)."""
    dashboard = PtyDashboard([args.flowtui], dashboard_env(home, None), cwd)
    dashboard.start()
    idle_rate = None
    try:
        painted = dashboard.wait_for(_shows_footer, 30, "the footer")
        seen = dashboard.wait_for(shows_dag_list(SAMPLE_DAGS), 30, "the sample DAGs' list")
        seconds = seen - dashboard.started_at
        if idle:
            _log(f"  idle: counting output for {args.idle_seconds:g} s")
            time.sleep(SETTLE_S)
            before, start = dashboard.received, time.perf_counter()
            time.sleep(args.idle_seconds)
            after, window = dashboard.received, time.perf_counter() - start
            idle_rate = ((after - before) / window, window)
            runs = _run_count(home / "flowtui.db")
            if runs:
                results.notes.append(
                    f"idle output: the samples' store holds {runs} run(s) (a schedule fired?): "
                    f"the window may not have been idle"
                )
    finally:
        _check_quit(dashboard.quit(), "flowtui on the samples", results)
    return painted - dashboard.started_at, seconds, dashboard.peak_rss_mb, idle_rate


def _run_count(db_path: Path) -> int:
    conn = read_only(db_path)
    try:
        (count,) = conn.execute("SELECT COUNT(*) FROM dag_runs").fetchone()
        return int(count)
    finally:
        conn.close()


def _shows_footer(text: str) -> bool:
    footer = text.splitlines()[-1] if text else ""
    return all(word in footer for word in FOOTER_WORDS)


def _check_quit(outcome: QuitOutcome, what: str, results: Results) -> None:
    if outcome.answer:
        results.notes.append(f"{what}: q asked about running tasks (answered {outcome.answer})")
    if outcome.killed:
        results.notes.append(f"{what}: did not exit within 15 s of q; process group killed")
    if outcome.exit_code not in (0, None) and not outcome.killed:
        results.notes.append(f"{what}: exited {outcome.exit_code} after q")
    if outcome.leftovers:
        results.notes.append(
            f"{what}: left processes in its group after exiting (killed): "
            + ", ".join(outcome.leftovers)
        )


# --- 3-5: 100,000 task instances and a scheduler finishing about 2 tasks per second ---


def measure_busy_home(args: argparse.Namespace, root: Path, results: Results) -> None:
    folder = root / "busy"
    home, dags, cwd = folder / "home", folder / "dags", folder / "cwd"
    cwd.mkdir(parents=True)
    write_dag_folder(dags)
    env = dashboard_env(home, dags)
    load_folder(args.flowtui, env)
    start = time.perf_counter()
    count = fill_history(home / "flowtui.db", home)
    results.history_task_instances = count
    _log(f"busy home: {count:,} task instances inserted in {time.perf_counter() - start:.1f} s")
    if count != HISTORY_TASK_INSTANCES:
        raise DashboardError(f"expected {HISTORY_TASK_INSTANCES:,} task instances, got {count:,}")
    db_path = home / "flowtui.db"
    with running_scheduler(args.flowtui, env, folder / "scheduler.out"):
        trigger(args.flowtui, env, FAILING_DAG)
        trigger(args.flowtui, env, BUSY_DAG)
        trigger(args.flowtui, env, BUSY_DAG)  # queued behind the first: keeps tasks finishing
        wait_for_run_state(db_path, FAILING_DAG, ("failed",), 60)
        _log(f"busy home: {FAILING_DAG} failed; {BUSY_DAG} is running ({BUSY_TASKS} x sleep 0.5)")
        _measure_in_process(args, home, dags, results)
        _measure_real_busy(args, home, dags, cwd, results)
        check = asyncio.run(verify_retry_presses(load_settings(home, dags)))
        results.retry_presses = check.presses
        results.retry_detail = (
            f"{FAILING_DAG}.{check.task_id} try_number {check.try_before} -> {check.try_after}"
        )
        _log(f"retry: {' then '.join(check.presses)}; {results.retry_detail}")


def _measure_in_process(args: argparse.Namespace, home: Path, dags: Path, results: Results) -> None:
    _log("in-process dashboard (Pilot, 120x40), attached to the scheduler:")
    settings = load_settings(home, dags)
    sampler = RssSampler(os.getpid())
    sampler.start()
    try:
        figures = asyncio.run(
            measure_refresh_and_keys(settings, BUSY_DAG, args.pilot_seconds, _log)
        )
    finally:
        results.rss_bench_mb = sampler.stop()
    assert figures.list_refresh is not None
    assert figures.dag_refresh is not None
    results.list_refresh = _refresh_lists(figures.list_refresh)
    results.dag_refresh = _refresh_lists(figures.dag_refresh)
    results.key_ms = figures.key_ms
    results.gc_pauses_ms = figures.gc_pauses_ms
    results.list_gc_pauses_ms = figures.list_gc_pauses_ms
    results.end_to_end_ms, results.unmatched_changes = end_to_end_ms(
        settings.db_path, BUSY_DAG, figures.dag_refresh.changes
    )
    since, until = figures.window
    window_s = _seconds_between(since, until)
    done = completions(settings.db_path, BUSY_DAG, since, until)
    results.completions_per_s = done / window_s if window_s > 0 else None
    _log(
        f"  {len(results.list_refresh['show'])} + {len(results.dag_refresh['show'])} refreshes, "
        f"{len(results.end_to_end_ms)} state changes seen, {done} tasks finished in "
        f"{window_s:.1f} s"
    )
    if not results.end_to_end_ms:
        raise DashboardError("the DAG screen saw no task instance change state")


def _refresh_lists(recorder: RefreshRecorder) -> dict[str, list[float]]:
    return {
        "load": recorder.load_ms,
        "read": recorder.read_ms,
        "queue": recorder.queue_ms,
        "show": recorder.show_ms,
        "refresh": recorder.refresh_ms,
        "load_show": recorder.load_show_ms,
    }


def _seconds_between(since: str, until: str) -> float:
    return (datetime.fromisoformat(until) - datetime.fromisoformat(since)).total_seconds()


def _measure_real_busy(
    args: argparse.Namespace, home: Path, dags: Path, cwd: Path, results: Results
) -> None:
    """The real command on the busy home (attached to the scheduler): first frame, then j and
    enter to the busy DAG's screen, REAL_KEY_PRESSES presses of j/k timed until the terminal
    shows the new task under the cursor, then held for BUSY_HOLD_S while its RSS is sampled."""
    dashboard = PtyDashboard([args.flowtui], dashboard_env(home, dags), cwd)
    dashboard.start()
    try:
        seen = dashboard.wait_for(shows_dag_list(ALL_DAGS), 30, "the busy home's DAG list")
        results.busy_first_frame_s = seen - dashboard.started_at
        dashboard.press(b"j")
        pressed = time.perf_counter()
        dashboard.press(b"\r")
        seen = dashboard.wait_for(
            lambda text: f" {BUSY_DAG}  schedule" in text and _task_in_details(text) is not None,
            30,
            f"the {BUSY_DAG} DAG screen",
        )
        results.busy_open_dag_s = seen - pressed
        time.sleep(1.0)  # let the first reads land, as a person would look first
        results.real_key_ms = _real_key_presses(dashboard)
        time.sleep(BUSY_HOLD_S)
    finally:
        # Keep running: the scheduler is the bench's own, and the retry check below needs it
        # (stop all stopped it, so that check's `r` found no scheduler to send its command to).
        _check_quit(dashboard.quit(stop_all=False), "flowtui on the busy home", results)
    results.rss_busy_mb = dashboard.peak_rss_mb
    _log(
        f"flowtui on the busy home: first frame {results.busy_first_frame_s:.3f} s, DAG screen "
        f"{results.busy_open_dag_s:.3f} s after enter, {len(results.real_key_ms)} key presses, "
        f"peak RSS {results.rss_busy_mb:.0f} MB"
    )


_DETAILS_TASK = re.compile(r"▏ (step_\d{3}) ")
"""The run-details panel's task line, right of the grid: "▏ step_007 ✔ success  try 1/1"."""


def _task_in_details(text: str) -> int | None:
    found = _DETAILS_TASK.search(text)
    return None if found is None else int(found.group(1)[5:])


def _real_key_presses(dashboard: PtyDashboard) -> list[float]:
    """Press j or k and time until the details panel names the next task (the bytes that
    show it were read from the terminal); alternate so that the cursor stays in the grid."""
    dashboard.drain()
    current = _task_in_details(dashboard.text())
    if current is None:
        raise DashboardError("the DAG screen shows no task under the cursor")
    down = current < BUSY_TASKS - 1
    latencies = []
    for _ in range(REAL_KEY_PRESSES):
        wanted = current + 1 if down else current - 1
        start = time.perf_counter()
        dashboard.press(b"j" if down else b"k")
        seen = dashboard.wait_for(
            lambda text, wanted=wanted: _task_in_details(text) == wanted,
            5,
            f"step_{wanted:03d} under the cursor after {'j' if down else 'k'}",
        )
        latencies.append((seen - start) * 1000)
        current, down = wanted, not down
        time.sleep(0.1)
        dashboard.drain()
    return latencies


# --- the table ---


def _ms_pair(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f} ms"


def _judge(value: float | None, target: float) -> str:
    if value is None:
        return "NOT MEASURED"
    return "ok" if value <= target else "MISSED"


def figure_rows(r: Results, skip_idle: bool) -> list[Row]:
    rows = []
    for kind, values, paints in (
        ("fresh", r.first_frame_fresh_s, r.first_paint_fresh_s),
        ("warm", r.first_frame_warm_s, r.first_paint_warm_s),
    ):
        median = statistics.median(values) if values else None
        detail = ""
        if values:
            detail = (
                f"{len(values)} runs, {min(values):.3f}-{max(values):.3f} s; the footer first "
                f"showed at {statistics.median(paints):.3f} s (median)"
            )
        if median is not None and r.floor_first_frame_s:
            floor = statistics.median(r.floor_first_frame_s)
            detail += (
                f"\n{median / floor:.2f}x the floor: a minimal Textual app's first frame "
                f"{floor:.3f} s (median of {len(r.floor_first_frame_s)}, same runs)"
            )
        rows.append(
            Row(
                f"first full frame, samples, {kind} home (median)",
                f"{median:.3f} s" if median is not None else "n/a",
                "<= 0.6 s",
                _judge(median, 0.6),
                detail,
            )
        )
    if skip_idle:
        rows.append(Row("idle output", "skipped", "<= 2 KB/s", "skipped (--skip-idle)"))
    else:
        rate = r.idle_bytes_per_s
        rows.append(
            Row(
                "idle output",
                f"{rate:.0f} B/s" if rate is not None else "n/a",
                "<= 2048 B/s",
                _judge(rate, 2048),
                f"over {r.idle_window_s:.1f} s, from {SETTLE_S:g} s after the first frame"
                if r.idle_window_s
                else "",
            )
        )
    peaks = [p for p in (r.rss_samples_mb, r.rss_busy_mb) if p is not None]
    measured_all = r.rss_samples_mb is not None and r.rss_busy_mb is not None
    rows.append(
        Row(
            "peak RSS, flowtui process",
            f"{max(peaks):.0f} MB" if peaks else "n/a",
            "<= 250 MB",
            _judge(max(peaks) if measured_all else None, 250),
            f"samples {r.rss_samples_mb or 0:.0f} MB, 100k store {r.rss_busy_mb or 0:.0f} MB; "
            f"bench process with the Pilot dashboard {r.rss_bench_mb or 0:.0f} MB",
        )
    )
    for label, times, pauses in (
        ("refresh, DAG list", r.list_refresh, r.list_gc_pauses_ms),
        (f"refresh, DAG screen ({BUSY_DAG})", r.dag_refresh, r.gc_pauses_ms),
    ):
        extra = ""
        if pauses:
            extra = (
                f"\nfull (gen-2) garbage collections in the process meanwhile: "
                f"{len(pauses)}, {_ms_pair(pauses)}, max {max(pauses):.0f} ms"
            )
        total = times.get("refresh", [])
        detail = ""
        if total:
            detail = (
                f"{len(total)} refreshes; load+show {_ms_pair(times['load_show'])} = load "
                f"{_ms_pair(times['load'])} + show {_ms_pair(times['show'])}\n"
                f"read = load + header counts + transaction {_ms_pair(times['read'])}; "
                f"queued for the UI thread {_ms_pair(times['queue'])}{extra}"
            )
        rows.append(
            Row(
                f"{label}, read+show p50 / p99",
                _ms_pair(total) if total else "n/a",
                "<= 50 ms",
                _judge(percentile(total, 99), 50),
                detail,
            )
        )
    rows.append(
        Row(
            "key press j/k to cursor moved p50 / p99",
            _ms_pair(r.key_ms) if r.key_ms else "n/a",
            "<= 100 ms",
            _judge(percentile(r.key_ms, 99), 100),
            f"{len(r.key_ms)} presses on the DAG screen, in-process (Pilot)" if r.key_ms else "",
        )
    )
    rows.append(
        Row(
            "key press j/k to terminal shows it p50 / p99",
            _ms_pair(r.real_key_ms) if r.real_key_ms else "n/a",
            "<= 100 ms",
            _judge(percentile(r.real_key_ms, 99), 100),
            f"{len(r.real_key_ms)} presses on the DAG screen of the real flowtui (pty)"
            if r.real_key_ms
            else "",
        )
    )
    unmatched = f", {r.unmatched_changes} without event" if r.unmatched_changes else ""
    rows.append(
        Row(
            "state change (events.ts) to show p50 / p99",
            _ms_pair(r.end_to_end_ms) if r.end_to_end_ms else "n/a",
            "<= 500 ms",
            _judge(percentile(r.end_to_end_ms, 99), 500),
            f"{len(r.end_to_end_ms)} changes{unmatched}; "
            f"{r.completions_per_s or 0:.2f} tasks finished per second",
        )
    )
    presses = len(r.retry_presses)
    rows.append(
        Row(
            "key presses, first frame to failed task rerunning",
            f"{presses} key presses (verified)" if presses else "n/a",
            "<= 5",
            _judge(presses if presses else None, 5),
            f"{' then '.join(r.retry_presses)}: {r.retry_detail}\n"
            f"enter opens the DAG under the list's cursor (its first row: a DAG in row n "
            f"needs n-1 more j);\nthe DAG screen's cursor starts on the latest run's first "
            f"failed task; r retries it"
            if presses
            else "",
        )
    )
    if r.busy_first_frame_s is not None:
        rows.append(
            Row(
                "first full frame, 100k store (for context)",
                f"{r.busy_first_frame_s:.3f} s",
                "",
                "",
                f"then j, enter: the {BUSY_DAG} screen after {r.busy_open_dag_s:.3f} s",
            )
        )
    return rows


def as_json(r: Results, rows: list[Row]) -> dict[str, Any]:
    raw = {k: v for k, v in vars(r).items()}
    return {"figures": [vars(row) for row in rows], "raw": raw}


if __name__ == "__main__":
    sys.exit(main())
