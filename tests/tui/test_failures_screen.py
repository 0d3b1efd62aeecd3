"""Failures first, over a store with pinned data and no scheduler (commands are applied to the
store directly): the DAG needing attention on top, `f` then `r` reruns the latest failure,
`]f` / `[f` in the grid, the palette's flowtui commands, the help's key names, the
import-errors screen's source view, and the NO_COLOR palette."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from flowtui.scheduling.clients import connect
from flowtui.store.schema import open_connection
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.failures import FailuresScreen
from flowtui.tui.screens.help import HelpScreen
from flowtui.tui.screens.import_errors import ImportErrorsScreen
from flowtui.tui.screens.source import SourceScreen
from flowtui.tui.screens.variables import VariablesScreen
from flowtui.tui.widgets.state_badge import COLOUR_STYLES, STYLES
from tests.conftest import Home
from tests.tui.conftest import make_dashboard, settle, wait_for
from tests.tui.pinned_store import CAUSES, write_pinned_store

LATEST = "scheduled__2024-03-03"
OLDEST = "scheduled__2024-03-01"


def _app(home: Home) -> Dashboard:
    write_pinned_store(home)
    return make_dashboard(home.settings, connect(home.settings, "dashboard:test"))


async def _dag_list(pilot: Pilot[Any]) -> DagsScreen:
    screen = await wait_for(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, DagsScreen)
            and pilot.app.screen.dag_table.row_count == 2
            and pilot.app.screen
        ),
    )
    assert isinstance(screen, DagsScreen)
    return screen


async def _dag_screen(pilot: Pilot[Any]) -> DagScreen:
    screen = DagScreen("sales_etl")
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.data is not None and screen.run_grid.selected())
    return screen


async def test_the_failed_dag_is_first_and_f_r_reruns_the_latest_failure(home: Home) -> None:
    async with _app(home).run_test(size=(80, 24)) as pilot:
        dags = await _dag_list(pilot)
        assert dags.selected_dag_id() == "sales_etl"  # before a_quiet, which sorts first by id
        await pilot.press("f")
        screen = await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, FailuresScreen)
                and pilot.app.screen.failures
                and pilot.app.screen
            ),
        )
        assert [(f.run_id, f.task_id) for f in screen.failures] == [
            (LATEST, "transform"),
            (OLDEST, "load"),
        ]
        assert screen.failures[0].cause == CAUSES["transform"]
        await pilot.press("r")
        await settle(pilot)
        assert home.task_state("sales_etl", LATEST, "transform") not in ("failed", None)
        # what failed below it because of it reruns too; the other run is left alone
        assert home.task_state("sales_etl", LATEST, "load") != "upstream_failed"
        assert home.task_state("sales_etl", OLDEST, "load") == "failed"


async def test_enter_on_a_failure_opens_its_task_instance(home: Home) -> None:
    async with _app(home).run_test(size=(80, 24)) as pilot:
        await _dag_list(pilot)
        await pilot.press("f")
        screen = await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, FailuresScreen)
                and pilot.app.screen.failures
                and pilot.app.screen
            ),
        )
        await pilot.press("down", "enter")
        opened = await wait_for(pilot, lambda: pilot.app.screen is not screen and pilot.app.screen)
        assert (opened.dag_id, opened.run_id, opened.task_id) == ("sales_etl", OLDEST, "load")


async def test_bracket_f_jumps_between_failed_cells(home: Home) -> None:
    async with _app(home).run_test(size=(120, 40)) as pilot:
        screen = await _dag_screen(pilot)
        grid = screen.run_grid
        assert grid.selected() == (LATEST, "transform")
        await pilot.press("right_square_bracket", "f")  # wraps around to the oldest run
        assert grid.selected() == (OLDEST, "load")
        await pilot.press("right_square_bracket", "f")
        assert grid.selected() == (LATEST, "transform")
        await pilot.press("left_square_bracket", "f")
        assert grid.selected() == (OLDEST, "load")
        await pilot.press("right_square_bracket", "j")  # not a jump: j moves down
        assert grid.selected() == (OLDEST, "report")
        await pilot.press("f")  # f alone does nothing here
        assert grid.selected() == (OLDEST, "report")


async def test_below_80_columns_the_grid_keeps_the_width(home: Home) -> None:
    async with _app(home).run_test(size=(60, 24)) as pilot:
        screen = await _dag_screen(pilot)
        await pilot.pause(0.1)
        assert not screen.query_one("#dag-side").display
        assert screen.run_grid.size.width == 60


@pytest.mark.parametrize("start", ["dags", "dag", "failures"])
async def test_palette_search_variab_finds_variables_from_any_screen(
    home: Home, start: str
) -> None:
    async with _app(home).run_test(size=(100, 30)) as pilot:
        await _dag_list(pilot)
        if start == "dag":
            await _dag_screen(pilot)
        elif start == "failures":
            await pilot.press("f")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, FailuresScreen))
        await pilot.press("ctrl+p")
        await pilot.press(*"variab")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, VariablesScreen))


async def test_palette_goes_to_a_dag_by_id(home: Home) -> None:
    async with _app(home).run_test(size=(100, 30)) as pilot:
        await _dag_list(pilot)
        await pilot.press("ctrl+p", *"go to dag a_qu")
        await pilot.pause(0.5)
        await pilot.press("enter")
        screen = await wait_for(
            pilot, lambda: isinstance(pilot.app.screen, DagScreen) and pilot.app.screen
        )
        assert screen.dag_id == "a_quiet"


async def test_help_lists_the_screens_keys_first_with_readable_names(home: Home) -> None:
    async with _app(home).run_test(size=(100, 30)) as pilot:
        await _dag_screen(pilot)
        await pilot.press("question_mark")
        help_screen = await wait_for(
            pilot, lambda: isinstance(pilot.app.screen, HelpScreen) and pilot.app.screen
        )
        rows = help_screen.bindings
        names = [name for _keys, name in rows]
        keys = dict((name, keys) for keys, name in rows)
        assert keys["Next failed"] == "]f"
        assert keys["Prev failed"] == "[f"
        assert keys["Back"] == "Esc"
        assert keys["Help"] == "?"
        assert not any("square_bracket" in k or "question_mark" in k for k, _ in rows)
        # the screen's own first, then its grid's, then the app's; Textual's own last
        assert names.index("Trigger") < names.index("Move") < names.index("Quit")


async def test_e_on_a_dag_with_an_error_opens_the_error_and_enter_its_source(
    home: Home,
) -> None:
    app = _app(home)
    home.dags.mkdir(parents=True, exist_ok=True)
    broken = home.dags / "sales.py"
    broken.write_text("from flowtui import DAG\n\nwith DAG('sales_etl' as dag:\n    pass\n")
    message = "SyntaxError: '(' was never closed " + "and a long explanation " * 8
    conn = open_connection(home.path / "flowtui.db")
    conn.execute("UPDATE dags SET fileloc = ?", (str(broken),))
    conn.execute(
        "INSERT INTO import_errors (filename, line, message, timestamp) VALUES "
        "(?, 3, ?, '2024-03-04T00:00:00+00:00'), "
        "('/dags/another.py', 1, 'ImportError: no module named x', '2024-03-04T00:00:00+00:00')",
        (str(broken), message),
    )
    conn.close()
    async with app.run_test(size=(80, 24)) as pilot:
        await _dag_list(pilot)
        await pilot.press("e")
        screen = await wait_for(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, ImportErrorsScreen)
                and pilot.app.screen.places
                and pilot.app.screen
            ),
        )
        assert screen.places[screen.error_list.highlighted or 0] == (str(broken), 3)
        await pilot.press("enter")
        source = await wait_for(
            pilot, lambda: isinstance(pilot.app.screen, SourceScreen) and pilot.app.screen
        )
        assert (source.path, source.line) == (str(broken), 3)


def test_no_color_draws_failed_in_reverse_video(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    _app(home)
    assert "reverse" in STYLES["failed"]
    assert "#" not in STYLES["failed"]
    monkeypatch.delenv("NO_COLOR")
    _app_again = make_dashboard(home.settings)
    assert _app_again.no_color is False
    assert STYLES["failed"] == COLOUR_STYLES["failed"]
