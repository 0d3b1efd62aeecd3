"""The scheduler loop's lateness while a webhook endpoint hangs. A chain of 30 no-op tasks is
run with `flowtui dags test` on a home whose `[[notify.webhook]]` posts every task's success
to a local HTTP server that takes each POST and never answers (`timeout = 30`), and the
task-to-task gaps (end_date of task i -> start_date of task i+1) are compared with the same
run without a webhook (the floor) and with a webhook that answers 200 at once. Issue 11's
claim: a hanging endpoint does not slow the loop (gaps near 1x the floor). See
bench/README.md, section "Webhook lateness".

    .venv/bin/python bench/webhook_lateness.py [--repeat 3] [--json FILE] [--keep]

Exit code 1 when a run broke (`dags test` failed or timed out, the run or a task did not
succeed); a ratio far from 1 does not change it."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from figure_table import Row, figures_table
from measure import run_measured
from report import percentile
from store_figures import BrokenRun, checked_latencies_ms

DAG_ID = "chain30"
TASKS = 30
CONFIGS = ("none", "answering", "hanging")
"""No webhook (the floor), a webhook answering 200 at once, a webhook that never answers."""
CONFIG_LABELS = {
    "none": "no webhook (floor)",
    "answering": "webhook answering 200",
    "hanging": "webhook hanging",
}
WEBHOOK_TIMEOUT_S = 30
RUN_TIMEOUT_S = 120.0
EARLY = 5
"""The first hand-offs of a run are shown apart: the first alerts start the delivery threads
(and their imports) in the process that runs the loop."""
NEAR_ONE = 1.5
"""A gap p50 up to this multiple of the floor's counts as "not slowed": two runs of the same
configuration differ by that much on a 2-core machine shared with other work."""

DAG_FILE = f'''"""Webhook lateness benchmark: a chain of {TASKS} no-op Python tasks."""

from flowtui import DAG, PythonOperator, chain


def noop() -> None:
    """Do nothing, so that only the orchestrator's own cost is measured."""


with DAG("{DAG_ID}", schedule=None) as dag:
    chain(*(PythonOperator(task_id=f"t{{n:02d}}", python_callable=noop) for n in range({TASKS})))
'''


class BenchError(Exception):
    """A run broke: its figures would be worthless."""


# --- the two endpoints ---


class _Endpoint(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, hang: bool) -> None:
        self.hang = hang
        self.posts = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        """Set at the end: hanging handlers return (closing their connection unanswered)."""
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return self.posts


class _Handler(BaseHTTPRequestHandler):
    server: _Endpoint

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.posts += 1
        if self.server.hang:
            self.server.release.wait()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_endpoint(hang: bool) -> _Endpoint:
    endpoint = _Endpoint(hang)
    threading.Thread(target=endpoint.serve_forever, name="endpoint", daemon=True).start()
    return endpoint


def stop_endpoint(endpoint: _Endpoint) -> None:
    endpoint.release.set()
    endpoint.shutdown()
    endpoint.server_close()


# --- one run ---


@dataclass
class RunResult:
    config: str
    gaps_ms: list[float]
    wall_s: float
    posts: int
    """POSTs the endpoint received during the run."""
    alerts: dict[str, int]
    """`alert_sent` / `alert_failed` events in the store."""

    @property
    def p50(self) -> float:
        return percentile(self.gaps_ms, 50) or 0.0

    @property
    def p99(self) -> float:
        return percentile(self.gaps_ms, 99) or 0.0

    @property
    def max(self) -> float:
        return max(self.gaps_ms)


@dataclass
class Results:
    repeat: int
    runs: list[RunResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_before: float = 0.0
    load_after: float = 0.0

    def of(self, config: str) -> list[RunResult]:
        return [run for run in self.runs if run.config == config]


def run_once(
    args: argparse.Namespace, root: Path, dags: Path, config: str, number: int, url: str | None
) -> RunResult:
    home = root / f"home-{config}-{number}"
    home.mkdir(mode=0o700)
    if url is not None:
        (home / "flowtui.toml").write_text(
            f'[[notify.webhook]]\nurl = "{url}"\non = ["success"]\ntimeout = {WEBHOOK_TIMEOUT_S}\n'
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTUI_")}
    env |= {
        "FLOWTUI_HOME": str(home),
        "FLOWTUI_DAGS_FOLDER": str(dags),
        "NO_PROXY": "127.0.0.1,localhost",  # urllib must post to the endpoint directly
        "no_proxy": "127.0.0.1,localhost",
    }
    common = [args.flowtui, "--home", str(home), "--dags-folder", str(dags)]
    # Untimed: create the store and record the DAG, as run.py does.
    listed = subprocess.run(
        [*common, "dags", "list"], env=env, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0 or DAG_ID not in listed.stdout:
        raise BenchError(f"{config} run {number}: `dags list` failed: {listed.stderr.strip()}")
    output = root / f"home-{config}-{number}.out"
    measured = run_measured([*common, "dags", "test", DAG_ID], env, output, RUN_TIMEOUT_S)
    if measured.timed_out or measured.exit_code != 0:
        tail = output.read_text(errors="replace").strip().splitlines()[-5:]
        raise BenchError(
            f"{config} run {number}: `dags test` "
            f"{'timed out' if measured.timed_out else f'exited {measured.exit_code}'}: "
            + " | ".join(tail)
        )
    try:
        gaps = checked_latencies_ms(home / "flowtui.db", DAG_ID, TASKS)
    except BrokenRun as exc:
        raise BenchError(f"{config} run {number}: {exc}") from None
    return RunResult(config, gaps, measured.wall_s, 0, _alert_events(home / "flowtui.db"))


def _alert_events(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT kind, COUNT(*) FROM events WHERE kind IN ('alert_sent', 'alert_failed') "
            "GROUP BY kind"
        ).fetchall()
    finally:
        conn.close()
    return {str(kind): int(count) for kind, count in rows}


# --- main ---


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = Results(repeat=args.repeat)
    root = Path(tempfile.mkdtemp(prefix="flowtui-bench-webhook-"))
    dags = root / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    started = time.perf_counter()
    results.load_before = os.getloadavg()[0]
    print(f"load average (1 min) before: {results.load_before:.2f} on {os.cpu_count()} CPUs")
    endpoints = {"answering": start_endpoint(hang=False), "hanging": start_endpoint(hang=True)}
    try:
        # Interleaved (none, answering, hanging, none, ...) so that a slow minute of the
        # machine falls on every configuration rather than on one.
        for number in range(1, args.repeat + 1):
            for config in CONFIGS:
                endpoint = endpoints.get(config)
                before = endpoint.count() if endpoint else 0
                run = run_once(args, root, dags, config, number, endpoint.url if endpoint else None)
                run.posts = (endpoint.count() - before) if endpoint else 0
                results.runs.append(run)
                print(
                    f"{config} run {number}/{args.repeat}: gaps p50 {run.p50:.1f} ms, "
                    f"p99 {run.p99:.1f} ms, max {run.max:.1f} ms; wall {run.wall_s:.2f} s; "
                    f"{run.posts} POSTs received; {_alerts_text(run.alerts)}",
                    flush=True,
                )
    except BenchError as exc:
        results.errors.append(str(exc))
        print(f"BROKEN: {exc}", flush=True)
    finally:
        for endpoint in endpoints.values():
            stop_endpoint(endpoint)
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
    rows = figure_rows(results)
    print()
    print(figures_table(rows))
    for note in results.notes:
        print(f"note: {note}")
    if args.json:
        args.json.write_text(json.dumps(as_json(results), indent=2) + "\n")
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


def _alerts_text(alerts: dict[str, int]) -> str:
    if not alerts:
        return "no alert events"
    return ", ".join(f"{count} {kind}" for kind, count in sorted(alerts.items()))


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summary(results: Results, config: str) -> dict[str, Any]:
    runs = results.of(config)
    return {
        "runs": len(runs),
        "p50_ms": _median([r.p50 for r in runs]),
        "p99_ms": _median([r.p99 for r in runs]),
        "max_ms": max((r.max for r in runs), default=None),
        "wall_s": _median([r.wall_s for r in runs]),
        "posts": [r.posts for r in runs],
        "alerts": [r.alerts for r in runs],
    }


def figure_rows(results: Results) -> list[Row]:
    floor = summary(results, "none")["p50_ms"]
    rows = []
    for config in CONFIGS:
        s = summary(results, config)
        if not s["runs"]:
            rows.append(Row(CONFIG_LABELS[config], "n/a", "", "not run"))
            continue

        def x(value: float) -> str:
            return f"{value / floor:.2f}x" if floor else "n/a"

        value = f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} / {s['max_ms']:.1f} ms"
        target = "-" if config == "none" else f"p50 <= {NEAR_ONE:g}x floor"
        status = "-"
        if config != "none" and floor:
            status = "ok" if s["p50_ms"] / floor <= NEAR_ONE else "SLOWER"
        detail = [
            f"x floor p50: {x(s['p50_ms'])} / {x(s['p99_ms'])} / {x(s['max_ms'])} "
            f"(p50, p99: medians of {s['runs']} runs; max: of all runs)",
            f"dags test wall time: {s['wall_s']:.2f} s (median of {s['runs']})",
        ]
        early = [g for r in results.of(config) for g in r.gaps_ms[:EARLY]]
        later = [g for r in results.of(config) for g in r.gaps_ms[EARLY:]]
        detail.append(
            f"first {EARLY} hand-offs of each run: p50 {percentile(early, 50) or 0:.1f} ms, "
            f"max {max(early, default=0):.1f} ms; the others: p50 "
            f"{percentile(later, 50) or 0:.1f} ms, max {max(later, default=0):.1f} ms"
        )
        if config != "none":
            detail.append(
                f"POSTs received per run: {s['posts']}; alert events: "
                + "; ".join(_alerts_text(a) for a in s["alerts"])
            )
        label = f"{CONFIG_LABELS[config]}: gap p50 / p99 / max"
        rows.append(Row(label, value, target, status, "\n".join(detail)))
    return rows


def as_json(results: Results) -> dict[str, Any]:
    floor = summary(results, "none")["p50_ms"]
    out: dict[str, Any] = {
        "repeat": results.repeat,
        "tasks": TASKS,
        "configs": {},
        "load_average": [results.load_before, results.load_after],
        "errors": results.errors,
        "notes": results.notes,
    }
    for config in CONFIGS:
        s = summary(results, config)
        for key in ("p50_ms", "p99_ms", "max_ms"):
            value = s[key]
            s[key.replace("_ms", "_x_floor")] = (
                value / floor if value is not None and floor else None
            )
        s["gaps_ms"] = [r.gaps_ms for r in results.of(config)]
        s["wall_s_each"] = [r.wall_s for r in results.of(config)]
        out["configs"][config] = s
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Measure task-to-task gaps while a webhook endpoint hangs."
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each configuration (default 3)"
    )
    parser.add_argument("--json", type=Path, help="write the figures and every gap")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes")
    parser.add_argument(
        "--flowtui",
        default=str(Path(sys.executable).with_name("flowtui")),
        help="the flowtui command (default: next to this Python)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
