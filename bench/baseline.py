"""The stored baseline (`bench/baseline.json`, committed): every figure of an accepted run as a
multiple of its floor, so that runs on machines of different speeds compare. A run whose
figure is more than `TOLERANCE` times its baseline has regressed: run.py says which and exits 1,
so that a slowdown like W4's quadratic turn is seen at the next run, not months later. Every
figure here is better lower. `run.py --update-baseline` adds a run to the baseline, which is
the median of the last three such runs (run it three times after a change that was meant to
move the figures, and say so in the commit)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from floors import Floors
from report import FIGURES, Results, workload_ratios

BASELINE = Path(__file__).resolve().parent / "baseline.json"
TOLERANCE = 1.25
KEPT = 3
"""Runs the baseline is the median of."""

_WORKLOAD_RATIOS = ("wall_x_python_start", "cpu_x_python_start_cpu", "t2t_p50_x_fork")
"""Per-workload ratios compared too: they cover workloads no figure needs (W3, W4_1k alone)."""


def comparable(results: Results, floors: Floors) -> dict[str, float]:
    """This run's figures as multiples of their floors (a ratio figure as it is), by name."""
    found: dict[str, float] = {}
    for figure in FIGURES:
        value = figure.value(results)
        if figure.floor:
            value = floors.ratio(value, figure.unit, figure.floor)
        if value is not None:
            found[figure.label] = value
    for name, result in results.items():
        ratios = workload_ratios(result, floors)
        for key in _WORKLOAD_RATIOS:
            value = ratios.get(key)
            if value is not None:
                found[f"{name} {key}"] = value
    return found


def load(path: Path = BASELINE) -> dict[str, float]:
    if not path.exists():
        return {}
    stored: dict[str, float] = json.loads(path.read_text())["figures"]
    return stored


def save(figures: dict[str, float], commit: str, path: Path = BASELINE) -> None:
    """Add this run to the baseline's last `KEPT` runs; the baseline of each figure is its
    median over them (one lucky or unlucky run must not set the bar)."""
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    rounded = {name: round(value, 3) for name, value in figures.items()}
    runs = [*runs, {"commit": commit, "figures": rounded}][-KEPT:]
    names = sorted({name for run in runs for name in run["figures"]})
    medians = {
        name: statistics.median(run["figures"][name] for run in runs if name in run["figures"])
        for name in names
    }
    data = {"tolerance": TOLERANCE, "figures": medians, "runs": runs}
    path.write_text(json.dumps(data, indent=2) + "\n")


def regressions(current: dict[str, float], baseline: dict[str, float]) -> list[str]:
    """One line per figure more than TOLERANCE times its baseline."""
    lines = []
    for name, value in sorted(current.items()):
        stored = baseline.get(name)
        if stored and value > stored * TOLERANCE:
            lines.append(
                f"{name}: {value:.2f} x floor, baseline {stored:.2f} "
                f"(+{(value / stored - 1) * 100:.0f}%, limit +{(TOLERANCE - 1) * 100:.0f}%)"
            )
    return lines
