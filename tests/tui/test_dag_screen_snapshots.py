"""Snapshots of the main screens over fixed data (dates, run ids, durations and the home label
pinned; no scheduler, so nothing moves): the DAG list, the DAG screen's grid and graph, the
failures, the import errors and a mapped task's instances.
The task-instance screen has Pilot tests instead: its attempts table's column widths depend
on when its rows arrive, which no pause pins down."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from flowtui.commands.model import SchedulerState
from flowtui.scheduling.clients import connect
from flowtui.store.schema import open_connection
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.failures import FailuresScreen
from flowtui.tui.screens.import_errors import ImportErrorsScreen
from flowtui.tui.screens.mapped_instances import MappedInstancesScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from tests.conftest import Home
from tests.tui.conftest import make_dashboard
from tests.tui.pinned_store import (
    MAPPED_RUN,
    group_pinned_dag,
    write_mapped_store,
    write_pinned_store,
)

pytest.importorskip("pytest_textual_snapshot")


def _app(home: Home) -> Dashboard:
    write_pinned_store(home)
    settings = home.settings
    return make_dashboard(settings, connect(settings, "dashboard:test"))


async def _open(pilot: Pilot[Any], *keys: str) -> None:
    app = pilot.app
    screen = DagScreen("sales_etl")
    await app.push_screen(screen)
    for _ in range(100):
        if screen.data is not None and screen.run_grid.selected():
            break
        await pilot.pause(0.05)
    await pilot.press(*keys)
    await _pin_header(pilot)


@pytest.fixture
def no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR=1, as the App reads it when it is made: states drawn by attributes alone."""
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.mark.usefixtures("no_color")
def test_grid_at_80x24_starts_on_the_failed_task(home: Home, snap_compare: Any) -> None:
    """A user opens a DAG whose latest run failed: the cursor is on the failed task."""
    assert snap_compare(_app(home), terminal_size=(80, 24), run_before=_open)


@pytest.mark.usefixtures("no_color")
def test_grid_at_80x24_with_a_task_group(home: Home, snap_compare: Any) -> None:
    """A DAG with a task group: its tasks indented under its row, which shows the group
    failed in the run where one of its tasks failed."""
    app = _app(home)
    group_pinned_dag(home)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_open)


def test_graph_at_120x40(home: Home, snap_compare: Any) -> None:
    """g shows every task in layers with its edges and the selected run's states."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open(pilot, "g")

    assert snap_compare(_app(home), terminal_size=(120, 40), run_before=run_before)


async def _pin_header(pilot: Pilot[Any]) -> None:
    """Fixed paths, and the scheduler as probed (no scheduler runs), not as at start."""
    header = pilot.app.screen.query_one(HeaderBar)
    header.home, header.dags_folder = "~/.flowtui", "~/dags (fixed for the snapshot)"
    for _ in range(100):
        if header.scheduler is SchedulerState.NOT_RUNNING:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


@pytest.mark.usefixtures("no_color")
def test_dag_list_at_80x24_with_an_import_error(home: Home, snap_compare: Any) -> None:
    """The first screen: each DAG with its recent runs as glyphs, and the import-error banner."""
    app = _app(home)
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "INSERT INTO import_errors (filename, line, message, timestamp) VALUES "
        "('/dags/broken.py', 3, 'SyntaxError: invalid syntax', '2024-03-04T00:00:00+00:00')"
    )
    conn.close()

    async def run_before(pilot: Pilot[Any]) -> None:
        for _ in range(100):
            screen = pilot.app.screen
            if isinstance(screen, DagsScreen) and screen.dag_table.row_count:
                break
            await pilot.pause(0.05)
        await _pin_header(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def _wait_for_list(pilot: Pilot[Any]) -> None:
    for _ in range(100):
        screen = pilot.app.screen
        if isinstance(screen, DagsScreen) and screen.dag_table.row_count:
            break
        await pilot.pause(0.05)


@pytest.mark.usefixtures("no_color")
def test_failures_at_80x24(home: Home, snap_compare: Any) -> None:
    """f: both failures, the latest first, each with its run, when and its error line."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _wait_for_list(pilot)
        await pilot.press("f")
        for _ in range(100):
            screen = pilot.app.screen
            if isinstance(screen, FailuresScreen) and screen.failures:
                break
            await pilot.pause(0.05)
        await _pin_header(pilot)

    assert snap_compare(_app(home), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.usefixtures("no_color")
def test_import_errors_at_80x24(
    home: Home, snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file's whole message wrapped, and the line it points at."""
    app = _app(home)
    monkeypatch.chdir(home.path)  # a relative file name: the same on every machine
    broken = home.path / "dags" / "broken.py"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text("from flowtui import DAG\n\nwith DAG('broken' as dag:\n    pass\n")
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "INSERT INTO import_errors (filename, line, message, timestamp) VALUES "
        "(?, 3, ?, '2024-03-04T00:00:00+00:00')",
        (
            "dags/broken.py",
            "SyntaxError: '(' was never closed; the DAG(...) call that starts on line 3 "
            "goes on to the end of the file, so every line after it is part of it",
        ),
    )
    conn.close()

    async def run_before(pilot: Pilot[Any]) -> None:
        await _wait_for_list(pilot)
        await pilot.press("e")
        for _ in range(100):
            screen = pilot.app.screen
            if isinstance(screen, ImportErrorsScreen) and screen.places:
                break
            await pilot.pause(0.05)
        await _pin_header(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.usefixtures("no_color")
def test_mapped_instances_at_80x24(home: Home, snap_compare: Any) -> None:
    """enter on a mapped task's cell: each instance's map index, state, try, start and time
    taken, the cursor on the failed one."""
    write_mapped_store(home)
    app = make_dashboard(home.settings, connect(home.settings, "dashboard:test"))

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = MappedInstancesScreen("fan_out", MAPPED_RUN, "each")
        await pilot.app.push_screen(screen)
        for _ in range(100):
            if screen.instances_table.row_count == 3:
                break
            await pilot.pause(0.05)
        await _pin_header(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
