"""Measures the scheduling figures and prints each next to its target: how late scheduled runs
start, how long a folder of 500 DAG files takes to load, how long one edited file takes to
reload, and how long a catchup of 1,000 daily runs takes. Every figure comes from the real
`flowtui` command on a fresh home. See bench/README.md, section "Scheduling".

    .venv/bin/python bench/schedule.py [--fires 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from figure_table import Row, figures_table
from measure import run_measured
from report import percentile
from schedule_process import (
    BenchError,
    SchedulerProcess,
    StoreReader,
    catchup_dag,
    environment,
    epoch,
    fresh_home,
    lateness_dag,
    load_dag,
    load_dag_id,
    running_scheduler,
    utc_midnight_days_ago,
)

PARTS = ("lateness", "load", "reload", "catchup")
LATENESS_DAG = "sched_every"
CATCHUP_DAG = "catchup_daily"
CATCHUP_DAYS = 1_000
LOAD_FILES = 500
LOAD_TASKS = 10
RELOAD_EDITS = 10
RELOAD_POLL_S = 0.005
RELOAD_TIMEOUT_S = 10.0
RELOAD_PAUSE_S = 0.5
"""Quiet time after each reload, so that two edits never fall into one batch of the watcher."""
CATCHUP_POLL_S = 0.5
CATCHUP_LIMIT_S = 180.0
"""A catchup still going after this long stops; its row shows a lower bound (MISSED)."""
STARTUP_TIMEOUT_S = 120.0

TARGET_LATENESS_P50_MS = 20.0
TARGET_LATENESS_P99_MS = 100.0
TARGET_LOAD_S = 5.0
TARGET_RELOAD_S = 1.0
TARGET_CATCHUP_S = 60.0


@dataclass
class Results:
    """Everything measured; None or empty means not measured."""

    interval_s: float = 1.0
    lateness_ms: list[float] = field(default_factory=list)
    """Per scheduled run (the first one left out): first task's start_date - data_interval_end."""
    creation_ms: list[float] = field(default_factory=list)
    """queued_at - data_interval_end, the same runs."""
    run_start_ms: list[float] = field(default_factory=list)
    """dag_runs.start_date - data_interval_end, the same runs."""
    skipped_intervals: int | None = None
    first_run_lateness_ms: float | None = None
    list_500_s: list[float] = field(default_factory=list)
    list_500_cpu_s: list[float] = field(default_factory=list)
    list_500_rss_mb: list[float] = field(default_factory=list)
    list_empty_s: list[float] = field(default_factory=list)
    list_parse_end_s: list[float] = field(default_factory=list)
    """From the spawn of `dags reserialize` to `dags.last_parsed` (taken when the parse ended)."""
    scheduler_banner_s: float | None = None
    scheduler_dags_s: float | None = None
    """From the spawn of `flowtui scheduler` to 500 rows in `dags` (polled every 5 ms)."""
    scheduler_parse_end_s: float | None = None
    reload_s: list[float] = field(default_factory=list)
    reload_event_s: list[float] = field(default_factory=list)
    """From the write to the `dags_reloaded` event's ts."""
    reload_events: int | None = None
    catchup: dict[int, dict[str, Any]] = field(default_factory=dict)
    """By max_active_runs: seconds, runs/s, first run created, runs done, limit hit."""
    load_before: float | None = None
    load_after: float | None = None
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    parts = _select(args.only)
    results = Results(interval_s=args.interval)
    root = Path(tempfile.mkdtemp(prefix="flowtui-bench-schedule-"))
    started = time.perf_counter()
    results.load_before = os.getloadavg()[0]
    _log(f"load average (1 min) before: {results.load_before:.2f} on {os.cpu_count()} CPUs")
    steps: dict[str, Callable[[], None]] = {
        "lateness": lambda: measure_lateness(args, root, results),
        "load": lambda: measure_load_and_reload(args, root, results, parts),
        "catchup": lambda: measure_catchup(args, root, results),
    }
    for name, step in steps.items():
        if name not in parts and not (name == "load" and "reload" in parts):
            continue
        try:
            step()
        except BenchError as exc:
            results.errors.append(f"{name}: {exc}")
            print(f"BROKEN: {name}: {exc}", flush=True)
    results.load_after = os.getloadavg()[0]
    print(
        f"\n(took {time.perf_counter() - started:.0f} s; "
        f"load average after: {results.load_after:.2f})"
    )
    if max(results.load_before, results.load_after) > (os.cpu_count() or 1):
        results.notes.append(
            f"the machine was busy (load average {results.load_before:.1f} before, "
            f"{results.load_after:.1f} after, {os.cpu_count()} CPUs): the timings are pessimistic"
        )
    rows = figure_rows(results, parts, args)
    print()
    print(figures_table(rows))
    for note in results.notes:
        print(f"note: {note}")
    if args.json:
        args.json.write_text(json.dumps(as_json(results, rows), indent=2) + "\n")
        print(f"\nraw figures written to {args.json}")
    if results.errors:
        print(f"\nBROKEN: {'; '.join(results.errors)}")
        print(f"temporary files kept in {root}")
        return 1
    if args.keep:
        print(f"temporary files kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Measure flowtui's scheduling figures.")
    parser.add_argument(
        "--fires", type=int, default=100, help="scheduled runs measured (default 100)"
    )
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between scheduled runs (default 1)"
    )
    parser.add_argument(
        "--load-repeat", type=int, default=3, help="fresh-home `dags reserialize` runs (default 3)"
    )
    parser.add_argument(
        "--catchup-runs",
        default="16,1",
        help="max_active_runs values of the catchup, in order (default 16,1)",
    )
    parser.add_argument("--only", help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--json", type=Path, help="also write the figures and raw samples here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument(
        "--flowtui",
        default=str(Path(sys.executable).with_name("flowtui")),
        help="the flowtui command (default: next to this Python)",
    )
    return parser


def _select(only: str | None) -> set[str]:
    if not only:
        return set(PARTS)
    wanted = {p.strip().lower() for p in only.split(",") if p.strip()}
    if unknown := wanted - set(PARTS):
        sys.exit(f"schedule.py: unknown part(s) {sorted(unknown)}; choose from {PARTS}")
    return wanted


def _log(message: str) -> None:
    print(message, flush=True)


# --- 1. lateness of scheduled runs ---


def measure_lateness(args: argparse.Namespace, root: Path, r: Results) -> None:
    """A DAG every `interval` seconds with catchup=False and a start_date 5 s ago; a fresh
    scheduler runs it until `fires` + 1 runs succeeded. The first run (created at start-up for
    the interval that had just ended) is left out."""
    folder = root / "lateness-dags"
    folder.mkdir()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    (folder / f"{LATENESS_DAG}.py").write_text(lateness_dag(LATENESS_DAG, args.interval, start))
    home = fresh_home(root, "lateness-home")
    wanted = args.fires + 1
    limit = wanted * args.interval + 60.0
    _log(
        f"lateness: {wanted} runs every {args.interval:g} s (about {wanted * args.interval:.0f} s)"
    )
    reader = StoreReader(home / "flowtui.db")
    try:
        with running_scheduler(args.flowtui, home, folder) as scheduler:
            scheduler.wait_for_banner(STARTUP_TIMEOUT_S)
            deadline = time.perf_counter() + limit
            done = 0
            while done < wanted:
                scheduler.check_alive()
                if time.perf_counter() > deadline:
                    raise BenchError(f"only {done} of {wanted} runs succeeded in {limit:.0f} s")
                time.sleep(0.25)
                row = reader.one(
                    "SELECT COUNT(*) FROM dag_runs WHERE dag_id = ? AND run_type = 'scheduled' "
                    "AND state = 'success'",
                    (LATENESS_DAG,),
                )
                done = int(row[0]) if row else 0
        _note_leftovers(r, "lateness", scheduler)
        rows = reader.all(
            "SELECT r.run_id, r.state, r.logical_date, r.data_interval_end, r.queued_at, "
            "r.start_date, MIN(ti.start_date) AS task_start FROM dag_runs r "
            "JOIN task_instances ti ON ti.dag_id = r.dag_id AND ti.run_id = r.run_id "
            "WHERE r.dag_id = ? AND r.run_type = 'scheduled' "
            "GROUP BY r.id ORDER BY r.logical_date",
            (LATENESS_DAG,),
        )
    finally:
        reader.close()
    _lateness_figures(rows[:wanted], rows, args.interval, r)
    _log(
        f"lateness: p50 {percentile(r.lateness_ms, 50):.1f} ms, "
        f"p99 {percentile(r.lateness_ms, 99):.1f} ms over {len(r.lateness_ms)} runs"
    )


def _lateness_figures(measured: list[Any], every: list[Any], interval_s: float, r: Results) -> None:
    broken = [row["run_id"] for row in measured if row["state"] != "success"]
    if broken:
        raise BenchError(f"{len(broken)} measured runs did not succeed, e.g. {broken[0]}")
    for number, row in enumerate(measured):
        due = epoch(row["data_interval_end"], f"data_interval_end of {row['run_id']}")
        task_start = epoch(row["task_start"], f"task start_date in {row['run_id']}")
        if number == 0:
            r.first_run_lateness_ms = (task_start - due) * 1000
            continue
        r.lateness_ms.append((task_start - due) * 1000)
        r.creation_ms.append((epoch(row["queued_at"]) - due) * 1000)
        r.run_start_ms.append((epoch(row["start_date"]) - due) * 1000)
    dates = [epoch(row["logical_date"]) for row in every]
    gaps = [round((b - a) / interval_s) - 1 for a, b in itertools.pairwise(dates)]
    r.skipped_intervals = sum(g for g in gaps if g > 0)


# --- 2 and 3. a folder of 500 DAG files, and reloading one edited file ---


def measure_load_and_reload(
    args: argparse.Namespace, root: Path, r: Results, parts: set[str]
) -> None:
    """`dags reserialize` on fresh homes (500 files, then an empty folder), then a fresh
    scheduler on the 500 files: start-up until all are in the store, then (for "reload") the
    edits."""
    folder = root / "load-dags"
    folder.mkdir()
    for index in range(LOAD_FILES):
        (folder / f"dag_{index:03d}.py").write_text(load_dag(index))
    empty = root / "empty-dags"
    empty.mkdir()
    if "load" in parts:
        _log(f"load: `dags reserialize` of {LOAD_FILES} files, {args.load_repeat} fresh homes")
        for number in range(args.load_repeat):
            _timed_list(args.flowtui, root, folder, f"list-500-{number}", r, LOAD_FILES)
            _timed_list(args.flowtui, root, empty, f"list-empty-{number}", r, 0)
        _log(
            f"load: `dags reserialize` median {statistics.median(r.list_500_s):.2f} s "
            f"(empty folder {statistics.median(r.list_empty_s):.2f} s)"
        )
    home = fresh_home(root, "load-home")
    reader = StoreReader(home / "flowtui.db")
    try:
        with running_scheduler(args.flowtui, home, folder) as scheduler:
            r.scheduler_dags_s = _wait_for_dags(scheduler, reader, LOAD_FILES)
            r.scheduler_banner_s = scheduler.wait_for_banner(STARTUP_TIMEOUT_S)
            r.scheduler_parse_end_s = _parse_end(reader, scheduler.spawned_at)
            _log(f"load: the scheduler stored {LOAD_FILES} DAGs in {r.scheduler_dags_s:.2f} s")
            if "reload" in parts:
                _measure_reloads(scheduler, reader, folder, r)
        _note_leftovers(r, "load/reload", scheduler)
    finally:
        reader.close()


def _timed_list(
    flowtui: str, root: Path, folder: Path, name: str, r: Results, expected: int
) -> None:
    home = fresh_home(root, name)
    output = root / f"{name}.out"
    argv = [flowtui, "--home", str(home), "--dags-folder", str(folder), "dags", "reserialize"]
    measurement = run_measured(argv, environment(home, folder), output, STARTUP_TIMEOUT_S)
    spawned_at = time.time() - measurement.wall_s  # close enough: only used for parse end
    if measurement.timed_out or measurement.exit_code != 0:
        tail = " | ".join(output.read_text(errors="replace").strip().splitlines()[-5:])
        raise BenchError(
            f"`dags reserialize` of {folder.name} exited {measurement.exit_code}: {tail}"
        )
    reader = StoreReader(home / "flowtui.db")
    try:
        row = reader.one("SELECT COUNT(*) FROM dags WHERE is_active = 1")
        errors = reader.one("SELECT COUNT(*) FROM import_errors")
        loaded = int(row[0]) if row else 0
        if loaded != expected or (errors and errors[0]):
            raise BenchError(
                f"`dags reserialize` of {folder.name} stored {loaded} DAGs (expected "
                f"{expected}) and {errors[0] if errors else '?'} import errors"
            )
        if expected:
            r.list_500_s.append(measurement.wall_s)
            r.list_500_cpu_s.append(measurement.cpu_s)
            r.list_500_rss_mb.append(measurement.tree_max_rss_mb)
            parse_end = _parse_end(reader, spawned_at)
            if parse_end is not None:
                r.list_parse_end_s.append(parse_end)
        else:
            r.list_empty_s.append(measurement.wall_s)
    finally:
        reader.close()
    shutil.rmtree(home, ignore_errors=True)


def _parse_end(reader: StoreReader, spawned_at: float) -> float | None:
    row = reader.one("SELECT MAX(last_parsed) FROM dags")
    return epoch(row[0]) - spawned_at if row and row[0] else None


def _wait_for_dags(scheduler: SchedulerProcess, reader: StoreReader, count: int) -> float:
    deadline = time.perf_counter() + STARTUP_TIMEOUT_S
    while True:
        row = reader.one("SELECT COUNT(*) FROM dags WHERE is_active = 1")
        if row and int(row[0]) >= count:
            return time.perf_counter() - scheduler.spawned_perf
        scheduler.check_alive()
        if time.perf_counter() > deadline:
            raise BenchError(f"the scheduler had not stored {count} DAGs after 120 s: {row}")
        time.sleep(RELOAD_POLL_S)


def _measure_reloads(
    scheduler: SchedulerProcess, reader: StoreReader, folder: Path, r: Results
) -> None:
    """Edit RELOAD_EDITS different files (each gets a new last task) and time each until the
    DAG's spec in the store names the new task."""
    time.sleep(1.0)  # let start-up settle: the watcher runs from before the banner
    row = reader.one("SELECT COALESCE(MAX(id), 0) FROM events")
    first_event = int(row[0]) if row else 0
    written: list[tuple[str, float]] = []
    for edit in range(RELOAD_EDITS):
        index = edit * (LOAD_FILES // RELOAD_EDITS)
        path = folder / f"dag_{index:03d}.py"
        task_id = f"added_{edit}"
        text = load_dag(index, extra_task=task_id)
        wall, perf = time.time(), time.perf_counter()
        path.write_text(text)
        while True:
            spec = reader.one("SELECT spec FROM dags WHERE dag_id = ?", (load_dag_id(index),))
            if spec and f'"{task_id}"' in str(spec[0]):
                break
            if time.perf_counter() - perf > RELOAD_TIMEOUT_S:
                scheduler.check_alive()
                raise BenchError(
                    f"edit {edit + 1}: {path.name} not reloaded {RELOAD_TIMEOUT_S:g} s after "
                    f"the write"
                )
            time.sleep(RELOAD_POLL_S)
        r.reload_s.append(time.perf_counter() - perf)
        written.append((str(path), wall))
        time.sleep(RELOAD_PAUSE_S)
    _log(
        f"reload: p50 {statistics.median(r.reload_s) * 1000:.0f} ms, "
        f"max {max(r.reload_s) * 1000:.0f} ms over {len(r.reload_s)} edits"
    )
    events = reader.all(
        "SELECT ts, detail FROM events WHERE kind = 'dags_reloaded' AND id > ? ORDER BY id",
        (first_event,),
    )
    r.reload_events = len(events)
    for name, wall in written:
        for event in events:
            if name in json.loads(event["detail"] or "{}").get("files", []):
                r.reload_event_s.append(epoch(event["ts"]) - wall)
                break


# --- 4. catchup of 1,000 daily runs ---


def measure_catchup(args: argparse.Namespace, root: Path, r: Results) -> None:
    for max_active in [int(v) for v in args.catchup_runs.split(",") if v.strip()]:
        _catchup_once(args.flowtui, root, max_active, r)


def _catchup_once(flowtui: str, root: Path, max_active: int, r: Results) -> None:
    """@daily with catchup from 1,000 days before today's UTC midnight: exactly 1,000 runs are
    due (the last one's interval ended at today's midnight). Time from the spawn until all of
    them succeeded."""
    folder = root / f"catchup-{max_active}-dags"
    folder.mkdir()
    start = utc_midnight_days_ago(CATCHUP_DAYS)
    (folder / f"{CATCHUP_DAG}.py").write_text(catchup_dag(CATCHUP_DAG, start, max_active))
    home = fresh_home(root, f"catchup-{max_active}-home")
    last_due = (start + timedelta(days=CATCHUP_DAYS - 1)).isoformat(timespec="microseconds")
    _log(f"catchup: {CATCHUP_DAYS} daily runs, max_active_runs={max_active}")
    reader = StoreReader(home / "flowtui.db")
    figures: dict[str, Any] = {"limit_hit": False}
    try:
        with running_scheduler(flowtui, home, folder) as scheduler:
            deadline = scheduler.spawned_perf + CATCHUP_LIMIT_S
            done = 0
            while done < CATCHUP_DAYS:
                scheduler.check_alive()
                if time.perf_counter() > deadline:
                    figures["limit_hit"] = True
                    break
                time.sleep(CATCHUP_POLL_S)
                row = reader.one(
                    "SELECT COUNT(*), SUM(state = 'failed') FROM dag_runs WHERE dag_id = ? "
                    "AND run_type = 'scheduled' AND state IN ('success', 'failed') "
                    "AND logical_date <= ?",
                    (CATCHUP_DAG, last_due),
                )
                done = int(row[0]) if row else 0
                if row and row[1]:
                    raise BenchError(f"max_active_runs={max_active}: {row[1]} runs failed")
            figures["polled_s"] = time.perf_counter() - scheduler.spawned_perf
            spawned_at = scheduler.spawned_at
        _note_leftovers(r, f"catchup {max_active}", scheduler)
        summary = reader.one(
            "SELECT COUNT(*), SUM(state = 'success'), MIN(queued_at), MAX(end_date) "
            "FROM dag_runs WHERE dag_id = ? AND run_type = 'scheduled' AND logical_date <= ?",
            (CATCHUP_DAG, last_due),
        )
        tis = reader.one(
            "SELECT COUNT(*), SUM(state = 'success') FROM task_instances WHERE dag_id = ?",
            (CATCHUP_DAG,),
        )
        # Runs at once, from their start and end dates: an end sorts before a start at the
        # same instant.
        (most_at_once,) = reader.one(
            "WITH edges AS (SELECT start_date AS t, 1 AS d FROM dag_runs WHERE dag_id = ?1 "
            "AND start_date IS NOT NULL UNION ALL SELECT end_date, -1 FROM dag_runs "
            "WHERE dag_id = ?1 AND end_date IS NOT NULL) "
            "SELECT MAX(n) FROM (SELECT SUM(d) OVER (ORDER BY t, d) AS n FROM edges)",
            (CATCHUP_DAG,),
        )
    finally:
        reader.close()
    runs, succeeded, first_queued, last_end = summary
    figures |= {
        "runs": runs,
        "succeeded": succeeded or 0,
        "task_instances_success": tis[1] or 0,
        "most_runs_at_once": most_at_once,
        "first_run_created_s": epoch(first_queued, "queued_at") - spawned_at,
    }
    if most_at_once is not None and most_at_once > max_active:
        r.notes.append(
            f"catchup: {most_at_once} runs were running at once with max_active_runs={max_active}"
        )
    if not figures["limit_hit"]:
        if runs != CATCHUP_DAYS or succeeded != CATCHUP_DAYS or tis[1] != 3 * CATCHUP_DAYS:
            raise BenchError(
                f"max_active_runs={max_active}: {runs} runs ({succeeded} success) and "
                f"{tis[1]} successful task instances; expected {CATCHUP_DAYS} and "
                f"{3 * CATCHUP_DAYS}"
            )
        figures["seconds"] = epoch(last_end, "end_date") - spawned_at
    else:
        figures["seconds"] = CATCHUP_LIMIT_S
    figures["runs_per_s"] = (succeeded or 0) / figures["seconds"]
    r.catchup[max_active] = figures
    _log(
        f"catchup: max_active_runs={max_active}: {figures['succeeded']} runs in "
        f"{figures['seconds']:.1f} s ({figures['runs_per_s']:.1f} runs/s)"
    )


def _note_leftovers(r: Results, part: str, scheduler: SchedulerProcess) -> None:
    for leftover in scheduler.leftovers:
        r.notes.append(f"{part}: after the scheduler stopped: {leftover} (killed)")


# --- the table ---


def _judge(value: float | None, target: float) -> str:
    if value is None:
        return "NOT MEASURED"
    return "ok" if value <= target else "MISSED"


def _ms(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):.1f} / p99 {percentile(values, 99):.1f} / "
        f"max {max(values):.1f} ms"
    )


def figure_rows(r: Results, parts: set[str], args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    if "lateness" in parts:
        rows += _lateness_rows(r)
    if "load" in parts:
        rows += _load_rows(r)
    if "reload" in parts:
        rows.append(_reload_row(r))
    if "catchup" in parts:
        for max_active in [int(v) for v in args.catchup_runs.split(",") if v.strip()]:
            rows.append(_catchup_row(r, max_active))
    return rows


def _lateness_rows(r: Results) -> list[Row]:
    p50 = percentile(r.lateness_ms, 50)
    p99 = percentile(r.lateness_ms, 99)
    detail = ""
    if r.lateness_ms:
        detail = (
            f"{len(r.lateness_ms)} runs every {r.interval_s:g} s (first run left out: "
            f"{r.first_run_lateness_ms:.0f} ms); task start {_ms(r.lateness_ms)}\n"
            f"run created (queued_at) {_ms(r.creation_ms)}\n"
            f"run started (dag_runs.start_date) {_ms(r.run_start_ms)}\n"
            f"intervals skipped: {r.skipped_intervals}"
        )
    return [
        Row(
            "scheduled run lateness, p50",
            "n/a" if p50 is None else f"{p50:.1f} ms",
            f"≤ {TARGET_LATENESS_P50_MS:g} ms",
            _judge(p50, TARGET_LATENESS_P50_MS),
        ),
        Row(
            "scheduled run lateness, p99",
            "n/a" if p99 is None else f"{p99:.1f} ms",
            f"≤ {TARGET_LATENESS_P99_MS:g} ms",
            _judge(p99, TARGET_LATENESS_P99_MS),
            detail,
        ),
    ]


def _load_rows(r: Results) -> list[Row]:
    rows = []
    median = statistics.median(r.list_500_s) if r.list_500_s else None
    detail = ""
    if median is not None and r.list_empty_s:
        empty = statistics.median(r.list_empty_s)
        parse_end = statistics.median(r.list_parse_end_s) if r.list_parse_end_s else None
        detail = (
            f"median of {len(r.list_500_s)} fresh homes (min {min(r.list_500_s):.2f}, "
            f"max {max(r.list_500_s):.2f} s); CPU {statistics.median(r.list_500_cpu_s):.2f} s; "
            f"largest process {max(r.list_500_rss_mb):.0f} MB\n"
            f"empty folder {empty:.2f} s, so parsing + storing 500 files: {median - empty:.2f} s"
            + (f"; spawn to last_parsed {parse_end:.2f} s" if parse_end is not None else "")
        )
    rows.append(
        Row(
            f"{LOAD_FILES} DAG files: `dags reserialize`",
            "n/a" if median is None else f"{median:.2f} s",
            f"≤ {TARGET_LOAD_S:g} s",
            _judge(median, TARGET_LOAD_S),
            detail,
        )
    )
    detail = ""
    if r.scheduler_dags_s is not None:
        detail = f"banner after {r.scheduler_banner_s:.2f} s" + (
            f"; spawn to last_parsed {r.scheduler_parse_end_s:.2f} s"
            if r.scheduler_parse_end_s is not None
            else ""
        )
    rows.append(
        Row(
            f"{LOAD_FILES} DAG files: scheduler to all in store",
            "n/a" if r.scheduler_dags_s is None else f"{r.scheduler_dags_s:.2f} s",
            f"≤ {TARGET_LOAD_S:g} s",
            _judge(r.scheduler_dags_s, TARGET_LOAD_S),
            detail,
        )
    )
    return rows


def _reload_row(r: Results) -> Row:
    worst = max(r.reload_s) if r.reload_s else None
    value = "n/a"
    detail = ""
    if worst is not None:
        value = f"{statistics.median(r.reload_s) * 1000:.0f} / {worst * 1000:.0f} ms"
        detail = f"{len(r.reload_s)} edits, {LOAD_FILES} files; p50 / max; store polled every 5 ms"
        if r.reload_event_s:
            detail += (
                f"\nwrite to `dags_reloaded` event ts: p50 "
                f"{statistics.median(r.reload_event_s) * 1000:.0f} / max "
                f"{max(r.reload_event_s) * 1000:.0f} ms; {r.reload_events} events for "
                f"{len(r.reload_s)} edits"
            )
    return Row(
        "one edited file reloads, p50 / max",
        value,
        f"≤ {TARGET_RELOAD_S * 1000:g} ms",
        _judge(worst, TARGET_RELOAD_S),
        detail,
    )


def _catchup_row(r: Results, max_active: int) -> Row:
    label = f"catchup {CATCHUP_DAYS:,} daily runs, max_active_runs={max_active}"
    figures = r.catchup.get(max_active)
    if figures is None:
        return Row(label, "n/a", f"≤ {TARGET_CATCHUP_S:g} s", "NOT MEASURED")
    limit_hit = figures["limit_hit"]
    value = f"> {figures['seconds']:.0f} s" if limit_hit else f"{figures['seconds']:.1f} s"
    detail = (
        f"{figures['runs_per_s']:.1f} runs/s ({figures['succeeded']} runs, "
        f"{figures['task_instances_success']} task instances in success)\n"
        f"first run created {figures['first_run_created_s']:.2f} s after the spawn; "
        f"at most {figures['most_runs_at_once']} runs running at once"
    )
    if limit_hit:
        detail += f"; stopped at the {CATCHUP_LIMIT_S:g} s limit"
    return Row(
        label,
        value,
        f"≤ {TARGET_CATCHUP_S:g} s",
        "MISSED" if limit_hit else _judge(figures["seconds"], TARGET_CATCHUP_S),
        detail,
    )


def as_json(r: Results, rows: list[Row]) -> dict[str, Any]:
    raw = dict(vars(r))
    raw["catchup"] = {str(k): v for k, v in r.catchup.items()}
    return {"figures": [vars(row) for row in rows], "raw": raw}


if __name__ == "__main__":
    sys.exit(main())
