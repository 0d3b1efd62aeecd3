"""Measures the floors: what the machine this run is on charges for the least a `flowtui`
command, a task attempt and a state change can cost. Every figure of the engine benchmark is
also given as a multiple of one of them, so that figures from machines of different speeds, or
from a machine under load, can be compared. See bench/README.md, section "Floors".

The floors are measured before the workloads and again, with fewer samples, after them; a
floor whose two medians differ by more than `DRIFT_LIMIT` says the machine changed speed
during the run.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from measure import Measurement, run_measured

BENCH = Path(__file__).resolve().parent
PROBE = BENCH / "floor_probe.py"
DRIFT_LIMIT = 0.20
"""A floor whose median after the workloads differs from its median before them by more than
this fraction is flagged."""
START_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 120.0
HWM_SCRIPT = (
    "import flowtui\n"
    "print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')))"
)
"""Imports flowtui and prints the process's peak RSS ("VmHWM:  13504 kB")."""
UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
"""Time units in seconds, to divide a figure by a floor given in another unit."""

Phase = Literal["before", "after"]
"""Floors are measured before the workloads and again after them."""


@dataclass(frozen=True)
class PhaseCounts:
    """How many samples one phase (before or after the workloads) takes of each floor."""

    starts: int
    """Runs of `python -c "import flowtui"`."""
    forks: int
    fork_batch: int
    """Forks per CPU sample: rusage is read once per batch."""
    commits: int


BEFORE = PhaseCounts(starts=5, forks=200, fork_batch=20, commits=200)
AFTER = PhaseCounts(starts=3, forks=100, fork_batch=20, commits=100)


@dataclass
class Floor:
    """One floor: its samples before and after the workloads, in `unit`."""

    name: str
    unit: str
    what: str
    before: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)

    @property
    def samples(self) -> list[float]:
        return self.before + self.after

    def of_phase(self, phase: Phase) -> list[float]:
        """The samples taken before or after the workloads."""
        return self.before if phase == "before" else self.after

    def phase_median(self, phase: Phase) -> float | None:
        samples = self.of_phase(phase)
        return float(statistics.median(samples)) if samples else None

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.samples)) if self.samples else None

    @property
    def drift(self) -> float | None:
        """The median after the workloads relative to the median before them, minus 1."""
        before, after = self.phase_median("before"), self.phase_median("after")
        return after / before - 1 if before and after is not None else None

    @property
    def drifted(self) -> bool:
        return self.drift is not None and abs(self.drift) > DRIFT_LIMIT


def _new_floors() -> dict[str, Floor]:
    floors = (
        Floor("python_start", "ms", 'wall time of `python -c "import flowtui"`'),
        Floor("python_start_cpu", "ms", 'CPU time of `python -c "import flowtui"`'),
        Floor("import_rss", "MB", 'peak RSS of `python -c "import flowtui"` (its VmHWM)'),
        Floor(
            "fork",
            "us",
            "fork + JSON result over a pipe + child _exit + waitpid, flowtui imported",
        ),
        Floor("fork_cpu", "us", "CPU of one such fork, parent and child"),
        Floor("sqlite_commit", "us", "BEGIN IMMEDIATE; INSERT; COMMIT, WAL, synchronous=NORMAL"),
    )
    return {floor.name: floor for floor in floors}


@dataclass
class Floors:
    """Every floor of one run, or why they could not be measured."""

    by_name: dict[str, Floor] = field(default_factory=_new_floors)
    error: str | None = None

    @property
    def is_ok(self) -> bool:
        return self.error is None and all(floor.before for floor in self.by_name.values())

    def ratio(self, value: float | None, unit: str, name: str) -> float | None:
        """`value` (in `unit`) as a multiple of the floor `name`; None when either is missing."""
        floor = self.by_name.get(name)
        median = floor.median if floor is not None and self.is_ok else None
        if value is None or floor is None or not median:
            return None
        return value * _scale(unit) / (median * _scale(floor.unit))

    def phase_summary(self, phase: Phase) -> str:
        """One phase's median of every floor, for the progress line."""
        parts = []
        for floor in self.by_name.values():
            median = floor.phase_median(phase)
            if median is not None:
                parts.append(f"{floor.name} {format_number(median)} {floor.unit}")
        return ", ".join(parts)


def format_number(value: float | None) -> str:
    """`value` with three or four significant digits, never in exponent form."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _scale(unit: str) -> float:
    return UNIT_SECONDS.get(unit, 1.0)


class FloorError(Exception):
    """A floor could not be measured: the interpreter or the probe failed."""


def flowtui_python(flowtui: str) -> str:
    """The interpreter the `flowtui` command runs with: the one its #! line names, else the
    Python running this."""
    path = shutil.which(flowtui) or flowtui
    try:
        with open(path, "rb") as script:
            first = script.readline(1000)
    except OSError:
        return sys.executable
    words = first[2:].decode(errors="replace").split() if first.startswith(b"#!") else []
    if words and Path(words[0]).name == "env" and len(words) > 1:
        words = [shutil.which(words[1]) or ""]
    if words and Path(words[0]).name.startswith("python"):
        return words[0]
    return sys.executable


def measure_phase(
    floors: Floors,
    phase: Phase,
    counts: PhaseCounts,
    python: str,
    env: Mapping[str, str],
    workdir: Path,
) -> None:
    """Add one phase's samples of every floor to `floors`.

    Raises:
        FloorError: `python -c "import flowtui"` or the probe failed or timed out.
    """
    if phase == "before":
        _start_once(python, env, workdir)  # warm the page cache, as `dags list` does for runs
    for _ in range(counts.starts):
        measurement = _start_once(python, env, workdir)
        _samples(floors, "python_start", phase).append(measurement.wall_s * 1000)
        _samples(floors, "python_start_cpu", phase).append(measurement.cpu_s * 1000)
        _samples(floors, "import_rss", phase).append(_import_peak_rss_mb(python, env))
    probed = _probe(python, env, counts, workdir / f"floor-{phase}.db")
    _samples(floors, "fork", phase).extend(probed["fork_us"])
    _samples(floors, "fork_cpu", phase).extend(probed["fork_cpu_us"])
    _samples(floors, "sqlite_commit", phase).extend(probed["commit_us"])


def _samples(floors: Floors, name: str, phase: Phase) -> list[float]:
    return floors.by_name[name].of_phase(phase)


def _start_once(python: str, env: Mapping[str, str], workdir: Path) -> Measurement:
    output = workdir / "python-start.out"
    measurement = run_measured([python, "-c", "import flowtui"], env, output, START_TIMEOUT_S)
    if measurement.timed_out or measurement.exit_code != 0:
        tail = " | ".join(output.read_text(errors="replace").strip().splitlines()[-3:])
        raise FloorError(
            f'`{python} -c "import flowtui"` '
            + ("timed out" if measurement.timed_out else f"exited {measurement.exit_code}")
            + f": {tail}"
        )
    return measurement


def _import_peak_rss_mb(python: str, env: Mapping[str, str]) -> float:
    """The peak RSS of an interpreter that has imported flowtui, from its own VmHWM.

    Not wait4's ru_maxrss: Linux folds the RSS a child had before exec (a copy of this bench
    process, 20 MB or more) into it, which would make the floor the bench's own size.
    """
    stdout = _run_script("import_rss", [python, "-c", HWM_SCRIPT], env, START_TIMEOUT_S)
    fields = stdout.split()
    if len(fields) < 2 or not fields[1].isdigit():
        raise FloorError(f"import_rss: printed no VmHWM: {stdout.strip()[-500:]}")
    return int(fields[1]) / 1024  # kB


def _probe(
    python: str, env: Mapping[str, str], counts: PhaseCounts, db_path: Path
) -> dict[str, list[float]]:
    argv = [python, str(PROBE), str(counts.forks), str(counts.fork_batch), str(counts.commits)]
    stdout = _run_script(PROBE.name, [*argv, str(db_path)], env, PROBE_TIMEOUT_S)
    try:
        probed: dict[str, list[float]] = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise FloorError(f"{PROBE.name} printed no JSON: {stdout.strip()[-500:]}") from None
    return probed


def _run_script(name: str, argv: list[str], env: Mapping[str, str], timeout_s: float) -> str:
    """Run a measuring script and return what it printed; FloorError if it hangs or fails."""
    try:
        done = subprocess.run(
            argv, env=dict(env), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise FloorError(f"{name}: still running after {timeout_s:g} s") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise FloorError(f"{name}: exited {done.returncode}: {tail}")
    return done.stdout
