"""A refresh reads only what changed since the last `events.id` it saw (issue 13, point 9): the
DAG screen's grid re-reads only the runs with new events, the header's counts count again only
those runs, and a mapped task's cell sums up its instances, refresh after refresh. Over the
pinned store (real SQLite), changed the way the engine changes it (`store.writes`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from textual.widgets.data_table import ColumnKey, RowKey

from flowtui.store.schema import open_connection
from flowtui.store.summaries import present_run_counts
from flowtui.store.writes import set_run_state, set_task_state
from flowtui.tui.present import PresentCounts
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.grid_reader import GridReader
from flowtui.tui.widgets.state_badge import GLYPHS
from tests.conftest import Home
from tests.tui.conftest import SIZE, make_dashboard, wait_for
from tests.tui.pinned_store import RUNS, write_pinned_store

FIRST, SECOND, LATEST = (run_id for run_id, _, _ in RUNS)
TS = "2024-03-05T00:00:00+00:00"


def _stores(home: Home) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """The pinned store's writer (as the scheduler) and a read-only reader (as the live
    thread)."""
    write_pinned_store(home)
    path = home.path / "flowtui.db"
    return open_connection(path), open_connection(path, readonly=True)


def _cells_read(conn: sqlite3.Connection) -> list[str]:
    """SQL the reader runs from now on that reads task instances, one string each."""
    seen: list[str] = []
    conn.set_trace_callback(lambda sql: seen.append(sql) if "FROM task_instances" in sql else None)
    return seen


def test_a_refresh_reads_again_only_the_runs_with_new_events(home: Home) -> None:
    writer, conn = _stores(home)
    reader = GridReader("sales_etl")
    first = reader.read(conn, 25, None)
    assert list(first.cells) == [FIRST, SECOND, LATEST]

    key = ("sales_etl", FIRST, "load", -1)
    set_task_state(writer, key, "failed", "success", ts=TS, actor="test")
    statements = _cells_read(conn)
    second = reader.read(conn, 25, None)

    assert second.cells[FIRST]["load"]["state"] == "success"
    assert second.cells[FIRST] is not first.cells[FIRST]
    assert second.cells[SECOND] is first.cells[SECOND]
    assert second.cells[LATEST] is first.cells[LATEST]
    assert len(statements) == 1
    assert FIRST in statements[0]
    assert SECOND not in statements[0]
    assert LATEST not in statements[0]

    statements.clear()
    third = reader.read(conn, 25, None)  # nothing new: no task instance read
    assert statements == []
    assert third.cells == second.cells


def test_the_counts_of_now_count_again_only_the_changed_runs(home: Home) -> None:
    writer, conn = _stores(home)
    counts = PresentCounts()
    assert counts.read(conn) == {
        "sales_etl": {"success": 2, "failed": 1, "upstream_failed": 2},
        "a_quiet": {"success": 1},
    }
    newest = counts.newest_event
    assert newest is not None

    key = ("sales_etl", LATEST, "transform", -1)
    set_task_state(writer, key, "failed", "none", ts=TS, actor="test")
    known = [("sales_etl", LATEST), ("a_quiet", "manual__2024-03-04")]
    assert list(present_run_counts(conn, newest, known).counts) == [("sales_etl", LATEST)]
    assert present_run_counts(conn, newest + 1, known).counts == {}

    # A write without an event (which the engine never makes) shows what is counted again.
    writer.execute("UPDATE task_instances SET state = 'failed' WHERE dag_id = 'a_quiet'")
    assert counts.read(conn) == {
        "sales_etl": {"success": 2, "none": 1, "upstream_failed": 2},
        "a_quiet": {"success": 1},
    }
    assert counts.newest_event == newest + 1


async def test_a_mapped_tasks_cell_shows_the_state_that_sums_up_its_instances(
    home: Home,
) -> None:
    writer, _ = _stores(home)
    # `report` of the latest run is mapped over three values, one of them failed.
    writer.execute("DELETE FROM task_instances WHERE run_id = ? AND task_id = 'report'", (LATEST,))
    for map_index, state in enumerate(("success", "failed", "running")):
        writer.execute(
            "INSERT INTO task_instances (dag_id, run_id, task_id, map_index, state, try_number) "
            "VALUES ('sales_etl', ?, 'report', ?, ?, 1)",
            (LATEST, map_index, state),
        )
    app = make_dashboard(home.settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = DagScreen("sales_etl")
        await app.push_screen(screen)
        grid = screen.run_grid

        def cell() -> Any:
            return grid.get_cell("report", LATEST).plain.strip()

        await wait_for(pilot, lambda: screen.data is not None and cell() == GLYPHS["failed"])
        assert screen.data is not None
        assert screen.data.cells[LATEST]["report"]["mapped"] == ["success", "failed", "running"]

        key = ("sales_etl", LATEST, "report", 1)
        set_task_state(writer, key, "failed", "success", ts=TS, actor="test")
        await wait_for(pilot, lambda: cell() == GLYPHS["running"], what="the cell summed again")
        set_task_state(
            writer, ("sales_etl", LATEST, "report", 2), "running", "success", ts=TS, actor="test"
        )
        await wait_for(pilot, lambda: cell() == GLYPHS["success"], what="all three succeeded")

        # The run's state shows in its column's header; the grid is not built again for it.
        row = grid.rows[RowKey("report")]
        set_run_state(writer, "sales_etl", LATEST, "failed", "running", ts=TS, actor="test")

        def header() -> str:
            return str(grid.columns[ColumnKey(LATEST)].label.plain.strip())

        await wait_for(pilot, lambda: header() == GLYPHS["running"], what="the run's header")
        assert grid.rows[RowKey("report")] is row
        await pilot.pause(0.1)
        drawn = grid.render_line(0).text  # the header row as drawn, not only its label
        assert drawn.split()[-1] == GLYPHS["running"]
