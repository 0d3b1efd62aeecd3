"""Turns measured runs into figures: the floors, the per-workload table and the same figures as
multiples of the floors, the derived figures next to their targets, peers and floors, and the
raw figures as JSON."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from floors import DRIFT_LIMIT, Floors, format_number
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
    target_x_floor: float | None = None
    """The target as a multiple of the floor, where the issue sets it so (None: `target`)."""
    peers: str = ""
    floor: str = ""
    """The floor (see floors.py) the value is divided by for the "x floor" column; empty for a
    figure that is already a ratio of two runs on the same machine."""

    def value(self, results: Results) -> float | None:
        if not all(name in results and results[name].is_ok for name in self.needs):
            return None
        return self.compute(results)


def _overhead_ms(metric: str) -> Callable[[Results], float]:
    def compute(results: Results) -> float:
        w2, w0 = results["W2"], results["W0"]
        return (w2.median(metric) - w0.median(metric)) / w2.tasks * 1000

    return compute


LUIGI_W1 = "Luigi_W1"
"""Luigi's W1, timed when run.py is given --luigi-python."""

FIGURES = (
    Figure(
        "per-task overhead, (W2 wall - W0 wall) / 102",
        "ms",
        ("W0", "W2"),
        _overhead_ms("wall_s"),
        target_x_floor=1.0,
        peers="Luigi 7.3, Dagster in-process 10.6, Prefect 35, Airflow 174 (issue 10)",
        floor="fork",
    ),
    Figure(
        "per-task CPU, (W2 CPU - W0 CPU) / 102",
        "ms",
        ("W0", "W2"),
        _overhead_ms("cpu_s"),
        target_x_floor=2.0,
        peers="Luigi 12.3, Dagster in-process 10.6, Prefect 14, Airflow 172 (issue 10)",
        floor="fork_cpu",
    ),
    Figure(
        "task-to-task latency p50 (W1)",
        "ms",
        ("W1",),
        lambda r: percentile(r["W1"].latencies_ms, 50),
        target_x_floor=1.0,
        peers="Airflow 961, Luigi 2.9, Prefect 1.3, Dagster in-process 0.56",
        floor="fork",
    ),
    Figure(
        "whole-process wall time (W1)",
        "s",
        ("W1",),
        lambda r: r["W1"].median("wall_s"),
        peers="Luigi 0.51 (issue 10), Dagster 1.0, Airflow 6.3",
        floor="python_start",
    ),
    Figure(
        "W1 whole-process wall / Luigi's W1 (same run)",
        "x",
        ("W1", LUIGI_W1),
        lambda r: r["W1"].median("wall_s") / r[LUIGI_W1].median("wall_s"),
        target=0.6,
    ),
    Figure(
        "W4 wall time ratio, 10,000 / 1,000 tasks",
        "x",
        ("W4_1k", "W4_10k"),
        lambda r: r["W4_10k"].median("wall_s") / r["W4_1k"].median("wall_s"),
        target=11.0,
    ),
    Figure(
        "W4 10,000 peak RSS, largest process (wait4)",
        "MB",
        ("W4_10k",),
        lambda r: r["W4_10k"].maximum("tree_max_rss_mb"),
        target=300.0,
        floor="import_rss",
    ),
    Figure(
        "W4 10,000 peak RSS, main process (sampled)",
        "MB",
        ("W4_10k",),
        lambda r: r["W4_10k"].maximum("main_peak_rss_mb"),
        target=300.0,
        floor="import_rss",
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


@dataclass(frozen=True)
class WorkloadRatio:
    """One figure of table one as a multiple of its floor."""

    key: str
    unit: str
    floor: str
    compute: Callable[[WorkloadResult], float | None]


WORKLOAD_RATIOS = (
    WorkloadRatio("wall", "s", "python_start", lambda r: r.median("wall_s")),
    WorkloadRatio("cpu", "s", "python_start_cpu", lambda r: r.median("cpu_s")),
    WorkloadRatio("tree_rss", "MB", "import_rss", lambda r: r.maximum("tree_max_rss_mb")),
    WorkloadRatio("main_rss", "MB", "import_rss", lambda r: r.maximum("main_peak_rss_mb")),
    WorkloadRatio("t2t_p50", "ms", "fork", lambda r: percentile(r.latencies_ms, 50)),
    WorkloadRatio("t2t_p99", "ms", "fork", lambda r: percentile(r.latencies_ms, 99)),
)


def workload_ratios(result: WorkloadResult, floors: Floors) -> dict[str, float | None]:
    """Table one's figures of `result` divided by their floors, keyed `<figure>_x_<floor>`."""
    return {
        f"{ratio.key}_x_{ratio.floor}": (
            floors.ratio(ratio.compute(result), ratio.unit, ratio.floor) if result.is_ok else None
        )
        for ratio in WORKLOAD_RATIOS
    }


def workload_floor_table(results: list[WorkloadResult], floors: Floors) -> str:
    """Table one's figures as multiples of their floors, one line per workload."""
    header = (
        f"{'workload':<8}  {'wall x start':>12}  {'CPU x start':>11}  "
        f"{'RSS x import tree/main':>22}  {'t2t p50 x fork':>14}  {'p99 x fork':>10}"
    )
    lines = [
        "x floor: wall / python_start, CPU / python_start_cpu, RSS / import_rss, "
        "task-to-task / fork",
        header,
        "-" * len(header),
    ]
    for result in results:
        if not result.is_ok:
            lines.append(f"{result.name:<8}  FAILED")
            continue
        ratios = workload_ratios(result, floors)
        wall, cpu, tree, main, p50, p99 = (
            _ratio_text(ratios[key])
            for key in (
                "wall_x_python_start",
                "cpu_x_python_start_cpu",
                "tree_rss_x_import_rss",
                "main_rss_x_import_rss",
                "t2t_p50_x_fork",
                "t2t_p99_x_fork",
            )
        )
        rss = f"{tree}/{main}"
        lines.append(f"{result.name:<8}  {wall:>12}  {cpu:>11}  {rss:>22}  {p50:>14}  {p99:>10}")
    return "\n".join(lines)


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.2f}" if ratio < 10 else f"{ratio:.1f}"


def floors_table(floors: Floors) -> str:
    """One line per floor: the median of all its samples, their range, the medians before and
    after the workloads, and how far they moved."""
    header = (
        f"{'floor':<16} {'unit':>4}  {'median':>8}  {'min - max':>15}  {'med before':>10}  "
        f"{'med after':>9}  drift"
    )
    lines = [header, "-" * len(header)]
    if floors.error:
        lines.append(f"FAILED: {floors.error}")
    for floor in floors.by_name.values():
        if not floor.samples:
            lines.append(f"{floor.name:<16} {floor.unit:>4}  not measured")
            continue
        spread = f"{format_number(min(floor.samples))} - {format_number(max(floor.samples))}"
        before, after = (format_number(floor.phase_median(p)) for p in ("before", "after"))
        lines.append(
            f"{floor.name:<16} {floor.unit:>4}  {format_number(floor.median):>8}  {spread:>15}  "
            f"{before:>10}  {after:>9}  {_drift_text(floor.drift, floor.drifted)}"
        )
    drifted = [floor.name for floor in floors.by_name.values() if floor.drifted]
    if drifted:
        lines.append(
            f"NOTE: {', '.join(drifted)} moved by more than {DRIFT_LIMIT:.0%} between before "
            "and after the workloads: the machine's speed changed during the run, so the "
            "ratios are less exact"
        )
    return "\n".join(lines)


def _drift_text(drift: float | None, drifted: bool) -> str:
    if drift is None:
        return "-"
    return f"{drift:+.0%}" + (" DRIFT" if drifted else "")


def figures_table(results: Results, floors: Floors) -> str:
    """The derived figures, each with its target, whether it is met, the peers' values, and
    the value as a multiple of its floor."""
    lines = [f"{'figure':<46} {'value':>10} {'target':>10} {'x floor':>20}  status"]
    lines.append("-" * len(lines[0]))
    for figure in FIGURES:
        value = figure.value(results)
        shown = "n/a" if value is None else f"{value:.2f} {figure.unit}"
        lines.append(
            f"{figure.label:<46} {shown:>10} {_target_cell(figure):>10} "
            f"{_floor_cell(figure, value, floors):>20}  {_status(figure, value, floors)}"
        )
        if figure.peers:
            lines.append(f"{'':<6}peers ({figure.unit}): {figure.peers}")
    return "\n".join(lines)


def _floor_cell(figure: Figure, value: float | None, floors: Floors) -> str:
    if not figure.floor:
        return "already a ratio"
    ratio = floors.ratio(value, figure.unit, figure.floor)
    return "n/a" if ratio is None else f"{_ratio_text(ratio)} x {figure.floor}"


def _target_cell(figure: Figure) -> str:
    if figure.target_x_floor is not None:
        return f"<= {figure.target_x_floor:g} x"
    return "" if figure.target is None else f"<= {figure.target:g} {figure.unit}"


def _status(figure: Figure, value: float | None, floors: Floors) -> str:
    if value is None:
        return "not measured (needs " + ", ".join(figure.needs) + ")"
    if figure.target_x_floor is not None:
        ratio = floors.ratio(value, figure.unit, figure.floor)
        if ratio is None:
            return "no floor"
        target = figure.target_x_floor
        return "ok" if ratio <= target else f"MISSED by {ratio / target:.1f}x"
    if figure.target is None:
        return ""
    return "ok" if value <= figure.target else f"MISSED by {value / figure.target:.2f}x"


def as_json(results: Results, floors: Floors) -> dict[str, Any]:
    """Raw figures: the floors with every sample, every run's measurement, every latency, and
    the derived figures; figures come with their multiples of the floors."""
    return {
        "floors": _floors_json(floors),
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
                "x_floor": workload_ratios(r, floors),
            }
            for name, r in results.items()
        },
        "figures": [_figure_json(f, results, floors) for f in FIGURES],
    }


def _floors_json(floors: Floors) -> dict[str, Any]:
    return {
        "error": floors.error,
        "drift_limit": DRIFT_LIMIT,
        "by_name": {
            floor.name: {
                "unit": floor.unit,
                "what": floor.what,
                "median": floor.median,
                "min": min(floor.samples, default=None),
                "max": max(floor.samples, default=None),
                "drift": floor.drift,
                "drifted": floor.drifted,
                "before": floor.before,
                "after": floor.after,
            }
            for floor in floors.by_name.values()
        },
    }


def _figure_json(figure: Figure, results: Results, floors: Floors) -> dict[str, Any]:
    value = figure.value(results)
    return {
        "label": figure.label,
        "unit": figure.unit,
        "value": value,
        "target": figure.target,
        "target_x_floor": figure.target_x_floor,
        "floor": figure.floor or None,
        "x_floor": floors.ratio(value, figure.unit, figure.floor) if figure.floor else None,
    }
