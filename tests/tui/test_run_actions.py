"""Run-level actions and multi-select on the DAG screen, over the pinned store with no
scheduler running (each command is applied to the store in the home's offline turn, as it is
when no scheduler serves the home): C clears a whole run (all, or only its failed task
instances), M marks a run (failed after a confirmation), space selects cells that c and m then
act on together; the palette and `?` list the new actions."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Static

from flowtui.scheduling.clients import connect
from flowtui.store import reads
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.confirm import ClearDialog, ClearRunDialog, ConfirmDialog, MarkDialog
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from tests.conftest import Home
from tests.tui.conftest import make_dashboard, palette_titles, plain, settle, wait_for
from tests.tui.pinned_store import write_pinned_store

LATEST = "scheduled__2024-03-03"
MIDDLE = "scheduled__2024-03-02"
OLDEST = "scheduled__2024-03-01"


def _app(home: Home) -> Dashboard:
    write_pinned_store(home)
    return make_dashboard(home.settings, connect(home.settings, "dashboard:test"))


async def _dag_screen(pilot: Pilot[Any]) -> DagScreen:
    screen = DagScreen("sales_etl")
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.data is not None and screen.run_grid.selected())
    return screen


def _run(home: Home, run_id: str) -> tuple[str, dict[str, str]]:
    store = home.store()
    try:
        run = reads.run(store.conn, "sales_etl", run_id)
        tis = reads.task_instances(store.conn, "sales_etl", run_id)
    finally:
        store.close()
    assert run is not None
    return run["state"], {ti["task_id"]: ti["state"] for ti in tis}


def _listing(pilot: Pilot[Any]) -> str:
    return plain(pilot.app.screen.query_one("#clear-list", Static).content)


async def test_C_clears_the_whole_run_or_only_its_failed_task_instances(home: Home) -> None:
    async with _app(home).run_test(size=(80, 24)) as pilot:
        await _dag_screen(pilot)
        await pilot.press("C")
        assert isinstance(pilot.app.screen, ClearRunDialog)
        assert "5 task instance(s) will be reset" in _listing(pilot)
        await pilot.press("f")
        assert "3 task instance(s) will be reset and run again: 1 failed, 2 upstream_failed" in (
            _listing(pilot)
        )
        await pilot.press("y")
        await settle(pilot)
    state, tis = _run(home, LATEST)
    assert state == "queued"  # reopened: a scheduler runs it again
    assert tis == {
        "extract": "success",
        "validate": "success",
        "transform": "none",
        "load": "none",
        "report": "none",
    }
    (command,) = [e for e in home.events(run_id=LATEST) if e["kind"] == "command"]
    assert '"only_failed": true' in str(command["detail"])
    assert '"task_regex": null' in str(command["detail"])


async def test_M_marks_a_run_success_at_once_and_failed_after_confirming(home: Home) -> None:
    async with _app(home).run_test(size=(80, 24)) as pilot:
        await _dag_screen(pilot)
        await pilot.press("M")
        assert isinstance(pilot.app.screen, MarkDialog)
        labels = [str(button.label) for button in pilot.app.screen.query(Button)]
        assert "skipped (k)" not in labels  # a run is marked success or failed, never skipped
        await pilot.press("k")
        assert isinstance(pilot.app.screen, MarkDialog)  # k does nothing here
        await pilot.press("s")
        await settle(pilot)
        await wait_for(pilot, lambda: _run(home, LATEST)[0] == "success")
        assert set(_run(home, LATEST)[1].values()) == {"success"}
        await pilot.press("left", "M", "f")  # the run before: success until now
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        await wait_for(pilot, lambda: _run(home, MIDDLE)[0] == "failed")
        assert set(_run(home, MIDDLE)[1].values()) == {"success"}  # nothing ran: nothing changes


async def test_space_selects_cells_that_c_and_m_act_on_together(home: Home) -> None:
    async with _app(home).run_test(size=(80, 24)) as pilot:
        screen = await _dag_screen(pilot)
        grid = screen.run_grid
        assert grid.selected() == (LATEST, "transform")
        await pilot.press("space", "left", "left", "down", "space")  # load in the oldest run
        assert grid.marked == [(OLDEST, "load"), (LATEST, "transform")]
        assert "•" in grid.get_cell("load", OLDEST).plain
        title = plain(screen.query_one("#dag-title", Static).content)
        assert "2 selected" in title
        await pilot.press("c")
        assert isinstance(pilot.app.screen, ClearDialog)
        await pilot.press("d")  # downstream off: the two selected alone
        listing = _listing(pilot)
        assert f"{OLDEST}  load  (failed)" in listing
        assert f"{LATEST}  transform  (failed)" in listing
        assert "report" not in listing
        await pilot.press("y")
        await settle(pilot)
        assert grid.marked == []  # the selection went with the command
        assert _run(home, OLDEST)[1]["load"] == "none"
        assert _run(home, LATEST)[1]["transform"] == "none"
        assert _run(home, OLDEST)[1]["report"] == "upstream_failed"
        grid.select(LATEST, "transform")
        await pilot.press("space", "down", "space", "m")  # transform and load of the latest
        assert isinstance(pilot.app.screen, MarkDialog)
        await pilot.press("s")
        await settle(pilot)
        await wait_for(
            pilot,
            lambda: [_run(home, LATEST)[1][t] for t in ("transform", "load")] == ["success"] * 2,
        )
        assert _run(home, LATEST)[1]["report"] == "upstream_failed"


async def test_the_palette_and_help_list_the_new_actions(home: Home) -> None:
    async with _app(home).run_test(size=(120, 40)) as pilot:
        app = pilot.app
        assert isinstance(app, Dashboard)
        screen = await _dag_screen(pilot)
        titles = await palette_titles(app)
        names = ["Clear run", "Mark run", "DAG details", "DAG source", "Task history", "All runs"]
        for name in [*names, "Select (c, m act on all)"]:
            assert name in titles
        rows = dict((what, keys) for keys, what in app.binding_list(screen))
        assert [rows[name] for name in names] == ["C", "M", "i", "s", "h", "a"]
        assert rows["Select (c, m act on all)"] == "space"
        await pilot.press("enter")
        assert isinstance(app.screen, TaskInstanceScreen)
        titles = await palette_titles(app)
        for name in ("XCom", "Rendered fields", "Task doc"):
            assert name in titles
        rows = dict((what, keys) for keys, what in app.binding_list(app.screen))
        assert [rows[n] for n in ("XCom", "Rendered fields", "Task doc")] == ["x", "t", "d"]
