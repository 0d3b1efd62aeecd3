"""Turns measured runs into figures: the per-workload table, the derived figures next to their
targets and peers, and the raw figures as JSON."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from measure import Measurement


@dataclass
class WorkloadResult:
    """Every measured run of one workload, or the reason it broke."""

    name: str
    dag_id: str
    tasks: int
    measurements: list[Measurement] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    """Task-to-task latencies of all runs together."""
    error: str | None = None

    @property
    def is_ok(self) -> bool:
        return self.error is None and bool(self.measurements)

    def median(self, metric: str) -> float:
        return float(statistics.median(getattr(m, metric) for m in self.measurements))

    def minimum(self, metric: str) -> float:
        return float(min(getattr(m, metric) for m in self.measurements))

    def maximum(self, metric: str) -> float:
        return float(max(getattr(m, metric) for m in self.measurements))


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p% of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


Results = dict[str, WorkloadResult]


@dataclass(frozen=True)
class Figure:
    """A figure derived from one or more workloads, with its target and the peers' values."""

    label: str
    unit: str
    needs: tuple[str, ...]
    compute: Callable[[Results], float | None]
    target: float | None = None
    peers: str = ""

    def value(self, results: Results) -> float | None:
        if not all(name in results and results[name].is_ok for name in self.needs):
            return None
        return self.compute(results)


def _overhead_ms(metric: str) -> Callable[[Results], float]:
    def compute(results: Results) -> float:
        w2, w0 = results["W2"], results["W0"]
        return (w2.median(metric) - w0.median(metric)) / w2.tasks * 1000

    return compute


FIGURES = (
    Figure(
        "per-task overhead, (W2 wall - W0 wall) / 102",
        "ms",
        ("W0", "W2"),
        _overhead_ms("wall_s"),
        target=2.0,
        peers="Airflow 589, Dagster multiprocess 617, Luigi 3.8, Dagster in-process 2.2, "
        "Prefect 1.4",
    ),
    Figure("per-task CPU, (W2 CPU - W0 CPU) / 102", "ms", ("W0", "W2"), _overhead_ms("cpu_s")),
    Figure(
        "task-to-task latency p50 (W1)",
        "ms",
        ("W1",),
        lambda r: percentile(r["W1"].latencies_ms, 50),
        target=2.0,
        peers="Airflow 961, Luigi 2.9, Prefect 1.3, Dagster in-process 0.56",
    ),
    Figure(
        "whole-process wall time (W1)",
        "s",
        ("W1",),
        lambda r: r["W1"].median("wall_s"),
        target=0.3,
        peers="Luigi 0.19, Dagster 1.0, Airflow 6.3",
    ),
    Figure(
        "W4 wall time ratio, 10,000 / 1,000 tasks",
        "x",
        ("W4_1k", "W4_10k"),
        lambda r: r["W4_10k"].median("wall_s") / r["W4_1k"].median("wall_s"),
        target=12.0,
    ),
    Figure(
        "W4 10,000 peak RSS, largest process (wait4)",
        "MB",
        ("W4_10k",),
        lambda r: r["W4_10k"].maximum("tree_max_rss_mb"),
        target=300.0,
    ),
    Figure(
        "W4 10,000 peak RSS, main process (sampled)",
        "MB",
        ("W4_10k",),
        lambda r: r["W4_10k"].maximum("main_peak_rss_mb"),
        target=300.0,
    ),
)


def _cell(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def workload_table(results: list[WorkloadResult]) -> str:
    """One line per workload: medians with minimums in brackets; latencies over all runs."""
    header = (
        f"{'workload':<8} {'tasks':>6} {'runs':>4}  {'wall s med (min)':>17}  "
        f"{'CPU s med (min)':>17}  {'RSS MB tree/main':>16}  {'t2t ms p50':>10} {'p99':>8}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        lines.append(_workload_line(result))
    return "\n".join(lines)


def _workload_line(result: WorkloadResult) -> str:
    start = f"{result.name:<8} {result.tasks:>6} {len(result.measurements):>4}"
    if not result.is_ok:
        return f"{start}  FAILED: {result.error}"
    wall = f"{result.median('wall_s'):.3f} ({result.minimum('wall_s'):.3f})"
    cpu = f"{result.median('cpu_s'):.3f} ({result.minimum('cpu_s'):.3f})"
    rss = f"{result.maximum('tree_max_rss_mb'):.0f}/{result.maximum('main_peak_rss_mb'):.0f}"
    p50 = _cell(percentile(result.latencies_ms, 50), 2)
    p99 = _cell(percentile(result.latencies_ms, 99), 2)
    return f"{start}  {wall:>17}  {cpu:>17}  {rss:>16}  {p50:>10} {p99:>8}"


def figures_table(results: Results) -> str:
    """The derived figures, each with its target, whether it is met, and the peers' values."""
    lines = [f"{'figure':<46} {'value':>10} {'target':>10}  status"]
    lines.append("-" * len(lines[0]))
    for figure in FIGURES:
        value = figure.value(results)
        shown = "n/a" if value is None else f"{value:.2f} {figure.unit}"
        target = "" if figure.target is None else f"<= {figure.target:g} {figure.unit}"
        lines.append(f"{figure.label:<46} {shown:>10} {target:>10}  {_status(figure, value)}")
        if figure.peers:
            lines.append(f"{'':<6}peers ({figure.unit}): {figure.peers}")
    return "\n".join(lines)


def _status(figure: Figure, value: float | None) -> str:
    if value is None:
        return "not measured (needs " + ", ".join(figure.needs) + ")"
    if figure.target is None:
        return ""
    return "ok" if value <= figure.target else "MISSED"


def as_json(results: Results) -> dict[str, Any]:
    """Raw figures: every run's measurement, every latency, and the derived figures."""
    return {
        "workloads": {
            name: {
                "dag_id": r.dag_id,
                "tasks": r.tasks,
                "error": r.error,
                "runs": [asdict(m) | {"cpu_s": m.cpu_s} for m in r.measurements],
                "latency_ms": {
                    "p50": percentile(r.latencies_ms, 50),
                    "p99": percentile(r.latencies_ms, 99),
                    "all": r.latencies_ms,
                },
            }
            for name, r in results.items()
        },
        "figures": [
            {"label": f.label, "unit": f.unit, "value": f.value(results), "target": f.target}
            for f in FIGURES
        ],
    }
