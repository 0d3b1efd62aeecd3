"""The DAG screen draws again only what changed (issue 13: with a busy scheduler it lagged,
drawing every cell of the grid and every bar of the timeline again): a cursor move draws the
two cells it leaves and reaches and the bars of the two tasks; a refresh that changed one task
instance draws that cell, and no bar whose text stayed the same. Over the pinned store (real
SQLite), changed the way the engine changes it (`store.writes`); the cells and lines drawn are
counted where the grid and the timeline render them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import DataTable

from flowtui.scheduling.clients import connect
from flowtui.store.schema import open_connection
from flowtui.store.writes import set_task_state
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.widgets.run_grid import RunGrid
from flowtui.tui.widgets.state_badge import GLYPHS
from flowtui.tui.widgets.timeline import Timeline
from tests.conftest import Home
from tests.tui.conftest import SIZE, make_dashboard, wait_for
from tests.tui.pinned_store import RUNS, write_pinned_store

LATEST = RUNS[-1][0]
TS = "2024-03-05T00:00:00+00:00"


class Drawn:
    """What the grid and the timeline render from now on: the grid's cells (row, column,
    whether the cursor is on it) and lines, the timeline's lines."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cells: list[tuple[int, int, bool]] = []
        self.grid_lines: list[int] = []
        self.timeline_lines: list[int] = []
        render_cell = DataTable._render_cell
        grid_line, timeline_line = DataTable.render_line, Timeline.render_line

        def cell(table: DataTable[Any], row: int, column: int, *args: Any, **kwargs: Any) -> Any:
            if isinstance(table, RunGrid):
                self.cells.append((row, column, bool(kwargs.get("cursor", args[2:3] == (True,)))))
            return render_cell(table, row, column, *args, **kwargs)

        def counted(
            seen: list[int], render: Callable[[Any, int], Strip], kind: type
        ) -> Callable[[Any, int], Strip]:
            def line(widget: Any, y: int) -> Strip:
                if isinstance(widget, kind):
                    seen.append(y)
                return render(widget, y)

            return line

        monkeypatch.setattr(DataTable, "_render_cell", cell)
        monkeypatch.setattr(DataTable, "render_line", counted(self.grid_lines, grid_line, RunGrid))
        monkeypatch.setattr(
            Timeline, "render_line", counted(self.timeline_lines, timeline_line, Timeline)
        )

    def forget(self) -> None:
        self.cells.clear()
        self.grid_lines.clear()
        self.timeline_lines.clear()


@asynccontextmanager
async def _dag_screen(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Dashboard, Pilot[Any], RunGrid, Drawn]]:
    """The pinned DAG's screen, settled, and what is drawn from then on."""
    write_pinned_store(home)
    app = make_dashboard(home.settings, connect(home.settings, "dashboard:test"))
    drawn = Drawn(monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        screen = DagScreen("sales_etl")
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.data and screen.run_grid.selected(), what="the grid")
        await pilot.pause(0.3)
        drawn.forget()
        yield app, pilot, screen.run_grid, drawn


async def test_a_cursor_move_draws_the_two_cells_and_the_two_tasks_bars(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _dag_screen(home, monkeypatch) as (_, pilot, grid, drawn):
        assert grid.selected() == (LATEST, "transform")
        row, column = grid.cursor_coordinate

        await pilot.press("k")
        await pilot.pause(0.3)

        assert grid.selected() == (LATEST, "validate")
        assert sorted(drawn.cells) == [(row - 1, column, True), (row, column, False)]
        # the rows left and reached, and the one of the cell under the mouse (the first row
        # here), which DataTable repaints at each key: its cells are not drawn again
        assert sorted(drawn.grid_lines) == [1, row, row + 1]
        # the bars of transform (one attempt) and validate (two) change their highlight
        assert len(drawn.timeline_lines) == 3


async def test_a_refresh_draws_the_changed_cell_only(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _dag_screen(home, monkeypatch) as (app, pilot, grid, drawn):
        writer = open_connection(home.path / "flowtui.db")
        key = ("sales_etl", LATEST, "report", -1)
        set_task_state(writer, key, "upstream_failed", "skipped", ts=TS, actor="test")
        writer.close()
        app.feed.nudge()
        await wait_for(
            pilot,
            lambda: GLYPHS["skipped"] in grid.get_cell("report", LATEST).plain,
            what="report skipped in the grid",
        )
        await pilot.pause(0.3)

        place = (grid.get_row_index("report"), grid.get_column_index(LATEST), False)
        assert drawn.cells == [place]
        assert len(drawn.grid_lines) == 1
        assert drawn.timeline_lines == []  # its attempts were read again, the same
