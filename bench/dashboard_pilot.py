"""In-process measurements of the dashboard with Textual's Pilot, attached to the real
`flowtui scheduler` of the busy home: how long a refresh takes (the screen's `load` on the live
thread plus its `show` on the UI thread), how fast a key press moves the cursor, how long a task
instance's state change takes from the store to the screen's data, and the key presses from the
first frame to a failed task rerunning."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dashboard_pty import DashboardError
from dashboard_store import FAILING_DAG, FAILING_TASK, read_only
from textual import events
from textual.pilot import Pilot

from flowtui.clock import parse_datetime, to_text
from flowtui.config import Settings
from flowtui.scheduling.background import BackgroundScheduler
from flowtui.tui.app import Dashboard
from flowtui.tui.messages import StateLoaded
from flowtui.tui.screens.base import LiveScreen
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.dags import DagsScreen

SIZE = (120, 40)
KEY_PRESSES = 50


class RefreshRecorder:
    """Wraps one screen instance's `load` and `show` (the bench's own monkeypatch; the app's
    feed gets the wrapped `load` through `LiveFeed.show`) and the feed's `post`, and records
    each refresh: the screen's `load`, the whole read on the live thread (`load`, the header's
    counts and the transaction, until the feed posts the data), the wait in the UI thread's
    queue, and `show`. With `track_cells`, it also records when each task instance's new state
    reached the screen (its `show`)."""

    def __init__(self, app: Dashboard, screen: LiveScreen, track_cells: bool = False) -> None:
        self.load_ms: list[float] = []
        self.read_ms: list[float] = []
        self.queue_ms: list[float] = []
        self.show_ms: list[float] = []
        self.changes: list[tuple[str, str, str, datetime]] = []
        """(run_id, task_id, new state, when `show` received it), for cells seen before."""
        self._pending: dict[int, _Read] = {}
        self._lock = threading.Lock()
        self._cells: dict[tuple[str, str], str] | None = None
        self._track_cells = track_cells
        self.recording = True
        load, show, post = screen.load, screen.show, app.feed.post

        def timed_load(conn: sqlite3.Connection) -> Any:
            start = time.perf_counter()
            data = load(conn)
            with self._lock:
                self._pending[id(data)] = _Read(data, start, time.perf_counter())
            return data

        def timed_post(message: StateLoaded) -> Any:
            with self._lock:
                read = self._pending.get(id(message.data))
                if read is not None and read.data is message.data:
                    read.posted = time.perf_counter()
            return post(message)

        def timed_show(data: Any) -> None:
            arrived, start = datetime.now(UTC), time.perf_counter()
            show(data)
            took = (time.perf_counter() - start) * 1000
            with self._lock:
                read = self._pending.pop(id(data), None)
            if not self.recording or read is None or read.data is not data or not read.posted:
                return
            self.load_ms.append((read.loaded - read.start) * 1000)
            self.read_ms.append((read.posted - read.start) * 1000)
            self.queue_ms.append((start - read.posted) * 1000)
            self.show_ms.append(took)
            if self._track_cells and data is not None:
                self._track(data.cells, arrived)

        screen.load = timed_load  # type: ignore[method-assign]
        screen.show = timed_show  # type: ignore[method-assign]
        app.feed.post = timed_post

    @property
    def refresh_ms(self) -> list[float]:
        """The cost of one refresh: the live thread's whole read plus `show`."""
        return [read + show for read, show in zip(self.read_ms, self.show_ms, strict=True)]

    @property
    def load_show_ms(self) -> list[float]:
        """The screen's own `load` plus `show`."""
        return [load + show for load, show in zip(self.load_ms, self.show_ms, strict=True)]

    def _track(self, cells: dict[str, dict[str, dict[str, Any]]], arrived: datetime) -> None:
        now = {
            (run_id, task_id): ti["state"]
            for run_id, tis in cells.items()
            for task_id, ti in tis.items()
        }
        if self._cells is not None:
            for key, state in now.items():
                before = self._cells.get(key)
                if before is not None and before != state:
                    self.changes.append((*key, state, arrived))
        self._cells = now


@dataclass
class _Read:
    data: Any
    start: float
    loaded: float
    posted: float = 0.0


class GcWatch:
    """Times this process's garbage collections of the oldest generation (2): each stops every
    thread, the UI's included, for its whole duration."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._start = 0.0

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses_ms.append((time.perf_counter() - self._start) * 1000)


@dataclass
class PilotFigures:
    list_refresh: RefreshRecorder | None = None
    dag_refresh: RefreshRecorder | None = None
    key_ms: list[float] = field(default_factory=list)
    list_gc_pauses_ms: list[float] = field(default_factory=list)
    """Full collections while the DAG list was measured."""
    gc_pauses_ms: list[float] = field(default_factory=list)
    """Full collections while the DAG screen was measured."""
    window: tuple[str, str] = ("", "")
    """Store timestamps (UTC text) of the start and the end of the refresh measurements."""


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], Any], timeout: float, what: str
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.02)
    raise DashboardError(f"timed out after {timeout:g} s waiting for {what}")


def _dashboard(settings: Settings) -> Dashboard:
    scheduler = BackgroundScheduler(settings)
    return Dashboard(settings, scheduler.client("bench"), scheduler)


async def measure_refresh_and_keys(
    settings: Settings, busy_dag: str, seconds: float, progress: Callable[[str], None]
) -> PilotFigures:
    """~`seconds` of refreshes on the DAG list, then on the busy DAG's screen, then the key
    presses on the DAG screen."""
    figures = PilotFigures()
    app = _dashboard(settings)
    async with app.run_test(size=SIZE) as pilot:
        dags = await wait_for(
            pilot,
            lambda: app.screen if isinstance(app.screen, DagsScreen) and app.screen.rows else None,
            30,
            "the DAG list to show its DAGs",
        )
        figures.window = (to_text(datetime.now(UTC)), "")
        figures.list_refresh = RefreshRecorder(app, dags)
        app.feed.show(dags, dags.load)  # the feed holds the bound `load`: hand it the wrapper
        progress(f"  DAG list: recording refreshes for {seconds:g} s")
        with GcWatch() as collections:
            await pilot.pause(seconds)
        figures.list_refresh.recording = False
        figures.list_gc_pauses_ms = collections.pauses_ms

        screen = DagScreen(busy_dag)
        figures.dag_refresh = RefreshRecorder(app, screen, track_cells=True)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.data is not None, 30, f"the {busy_dag} DAG screen")
        progress(f"  DAG screen {busy_dag}: recording refreshes for {seconds:g} s")
        with GcWatch() as collections:
            await pilot.pause(seconds)
            figures.window = (figures.window[0], to_text(datetime.now(UTC)))
            progress(f"  DAG screen {busy_dag}: {KEY_PRESSES} presses of j/k")
            figures.key_ms = await _key_presses(pilot, screen)
            figures.dag_refresh.recording = False
        figures.gc_pauses_ms = collections.pauses_ms
    return figures


async def _key_presses(pilot: Pilot[Any], screen: DagScreen) -> list[float]:
    """Post each key as the terminal driver does and poll until the cursor moved.

    Not `pilot.press`: it waits twice for the whole process to go idle (at least 20 ms each,
    longer while the live thread reads), which measures Pilot rather than the dashboard."""
    app, grid = pilot.app, screen.run_grid
    if grid.row_count < 2:
        raise DashboardError(f"the run grid has {grid.row_count} rows: the cursor cannot move")
    latencies = []
    down = grid.cursor_row < grid.row_count - 1
    for _ in range(KEY_PRESSES):
        key = "j" if down else "k"
        before = grid.cursor_coordinate
        start = time.perf_counter()
        event = events.Key(key, key)
        event.set_sender(app)
        app.post_message(event)
        deadline = start + 5
        while grid.cursor_coordinate == before:
            if time.perf_counter() > deadline:
                raise DashboardError(f"pressing {key} did not move the cursor from {before} in 5 s")
            await pilot.pause(0)
        latencies.append((time.perf_counter() - start) * 1000)
        down = not down
        await pilot.pause(0.05)  # a person's pace: let the screen settle between presses
    return latencies


def end_to_end_ms(
    db_path: Any, dag_id: str, changes: list[tuple[str, str, str, datetime]]
) -> tuple[list[float], int]:
    """For each change `show` saw, the time from the `events.ts` of that state change (the
    newest one to that state before it was seen) to `show`; and how many had no such event."""
    conn = read_only(db_path)
    latencies, unmatched = [], 0
    try:
        for run_id, task_id, state, seen in changes:
            row = conn.execute(
                "SELECT ts FROM events WHERE kind = 'task_state' AND dag_id = ? AND run_id = ? "
                "AND task_id = ? AND new_state = ? AND ts <= ? ORDER BY id DESC LIMIT 1",
                (dag_id, run_id, task_id, state, to_text(seen)),
            ).fetchone()
            if row is None:
                unmatched += 1
                continue
            latencies.append((seen - parse_datetime(row["ts"])).total_seconds() * 1000)
    finally:
        conn.close()
    return latencies, unmatched


@dataclass
class RetryCheck:
    presses: list[str]
    run_id: str
    task_id: str
    try_before: int
    try_after: int


async def verify_retry_presses(settings: Settings, timeout: float = 30.0) -> RetryCheck:
    """From the first frame, `enter` then `r`: the failed task of the failing DAG's latest run
    must run again (its try_number goes up in the store)."""
    conn = read_only(settings.db_path)
    try:
        run = conn.execute(
            "SELECT run_id FROM dag_runs WHERE dag_id = ? ORDER BY logical_date DESC, id DESC "
            "LIMIT 1",
            (FAILING_DAG,),
        ).fetchone()
        if run is None:
            raise DashboardError(f"{FAILING_DAG} has no run to retry")
        run_id = run["run_id"]

        def try_number() -> int:
            row = conn.execute(
                "SELECT state, try_number FROM task_instances WHERE dag_id = ? AND run_id = ? "
                "AND task_id = ?",
                (FAILING_DAG, run_id, FAILING_TASK),
            ).fetchone()
            return int(row["try_number"])

        before = try_number()
        presses: list[str] = []
        app = _dashboard(settings)
        async with app.run_test(size=SIZE) as pilot:
            dags = await wait_for(
                pilot,
                lambda: (
                    app.screen if isinstance(app.screen, DagsScreen) and app.screen.rows else None
                ),
                30,
                "the DAG list to show its DAGs",
            )
            if dags.selected_dag_id() != FAILING_DAG:
                raise DashboardError(
                    f"the DAG list's cursor starts on {dags.selected_dag_id()}, not {FAILING_DAG}"
                )
            await pilot.press("enter")
            presses.append("enter")
            screen = await wait_for(
                pilot,
                lambda: (
                    app.screen
                    if isinstance(app.screen, DagScreen) and app.screen.data is not None
                    else None
                ),
                30,
                f"the {FAILING_DAG} DAG screen",
            )
            selected = screen.run_grid.selected()
            if selected != (run_id, FAILING_TASK):
                raise DashboardError(
                    f"the DAG screen's cursor starts on {selected}, not on the failed task "
                    f"({run_id}, {FAILING_TASK})"
                )
            await pilot.press("r")
            presses.append("r")
            await app.workers.wait_for_complete()
            deadline = time.monotonic() + timeout
            after = try_number()
            while after <= before and time.monotonic() < deadline:
                await pilot.pause(0.1)
                after = try_number()
        if after <= before:
            raise DashboardError(
                f"after {' '.join(presses)}, {FAILING_DAG}.{FAILING_TASK} in {run_id} still has "
                f"try_number {after} (was {before}) after {timeout:g} s"
            )
        return RetryCheck(presses, run_id, FAILING_TASK, before, after)
    finally:
        conn.close()
