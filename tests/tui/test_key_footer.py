"""The footer at 80x24 (issue 13, point 2): on each main screen the essential keys are all on
screen, none is drawn past the right edge or under the palette's key, and `?` is there for the
rest; at 120 columns the names are the long ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from flowtui.scheduling.clients import connect
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.failures import FailuresScreen
from flowtui.tui.screens.import_errors import ImportErrorsScreen
from flowtui.tui.screens.pools import PoolsScreen
from flowtui.tui.screens.runs import RunsScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from flowtui.tui.screens.variables import VariablesScreen
from tests.conftest import Home
from tests.tui.conftest import make_dashboard, wait_for
from tests.tui.pinned_store import write_pinned_store

RUN = "scheduled__2024-03-03"
ESSENTIAL: list[tuple[str, Callable[[], Screen[Any]] | None, set[str]]] = [
    ("DAG list", None, {"⏎ Open", "f Failures", "/ Filter", "t Trigger", "p Pause", "e Errors"}),
    (
        "DAG screen",
        lambda: DagScreen("sales_etl"),
        {"⏎ Open", "l Log", "r Retry", "c Clear", "m Mark", "]f Failed", "g Graph", "Esc Back"},
    ),
    (
        "task instance",
        lambda: TaskInstanceScreen("sales_etl", RUN, "transform"),
        {"r Retry", "c Clear", "m Mark", "l Log", "/ Search", "f Follow", "Esc Back"},
    ),
    ("failures", FailuresScreen, {"⏎ Open", "r Retry", "c Clear", "m Mark", "Esc Back"}),
    ("runs", lambda: RunsScreen("sales_etl"), {"⏎ Open", "r Retry", "c Clear", "Esc Back"}),
    ("variables", VariablesScreen, {"a Add", "e Edit", "d Delete", "Esc Back"}),
    ("import errors", ImportErrorsScreen, {"⏎ Open file", "Esc Back"}),
    ("pools", PoolsScreen, {"Esc Back"}),
]


def _visible(app: Any) -> set[str] | None:
    """`key name` of each footer key drawn whole left of the palette's key; None while a key is
    cut or covered (or the footer not composed yet)."""
    keys = list(app.screen.query(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")]
    if not keys or len(palette) != 1:
        return None
    right = palette[0].region.x
    shown = set()
    for key in keys:
        if key is palette[0]:
            continue
        if key.region.width == 0 or key.region.right > right:
            return None
        shown.add(f"{key.key_display} {key.description}".strip())
    return shown


async def _footer_shows(pilot: Pilot[Any], wanted: set[str], what: str) -> set[str]:
    return await wait_for(  # type: ignore[no-any-return]
        pilot,
        lambda: (shown := _visible(pilot.app)) is not None and wanted <= shown and shown,
        5,
        f"the {what} footer to show {sorted(wanted)}",
    )


async def test_each_screens_essential_keys_fit_80_columns(home: Home) -> None:
    write_pinned_store(home)
    app = make_dashboard(home.settings, connect(home.settings, "dashboard:test"))
    async with app.run_test(size=(80, 24)) as pilot:
        for what, make, wanted in ESSENTIAL:
            if make is not None:
                await app.push_screen(make())
            shown = await _footer_shows(pilot, wanted | {"? Help"}, what)
            assert "^p" in {k.key_display for k in app.screen.query(FooterKey)}
            if what == "DAG screen":
                assert "[f Prev failed" not in shown  # `?` and the palette have it
                await pilot.press("g")  # the graph: enter is the screen's own open_task
                await _footer_shows(pilot, wanted | {"? Help"}, "graph")
                await pilot.press("g")
            if make is not None:
                app.pop_screen()


async def test_wide_footer_keeps_the_long_names(home: Home) -> None:
    write_pinned_store(home)
    app = make_dashboard(home.settings, connect(home.settings, "dashboard:test"))
    async with app.run_test(size=(120, 30)) as pilot:
        await _footer_shows(pilot, {"p Pause/unpause", "e Import errors", "? Help"}, "DAG list")
        await pilot.resize_terminal(80, 24)
        await _footer_shows(pilot, {"p Pause", "e Errors", "? Help"}, "narrowed DAG list")
