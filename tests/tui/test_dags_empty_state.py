"""The DAG list with no DAG to show says why, instead of "loading" for ever: a DAG folder that
does not exist, one with no .py file, one whose files define no DAG (once the scheduler has
loaded it), a filter that matches nothing."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from flowtui.tui.screens.dags import DagsScreen
from tests.conftest import Home
from tests.tui.conftest import SIZE, in_thread, plain, wait_for


def _empty_text(screen: object) -> str:
    if not isinstance(screen, DagsScreen):
        return ""
    empty = screen.query_one("#empty", Static)
    return plain(empty.render()).strip() if empty.display else ""


@pytest.mark.parametrize(
    ("folder", "files", "expected"),
    [
        ("missing", {}, "does not exist; create it, or point --dags-folder"),
        ("dags", {}, "holds no .py file; add DAG files"),
        ("dags", {"notes.py": "x = 1\n"}, "no DAGs in {dags}: a DAG file is a .py file"),
    ],
)
async def test_an_empty_dag_list_says_why(
    home: Home, folder: str, files: dict[str, str], expected: str
) -> None:
    for name, text in files.items():
        home.write_dag(name, text)
    target = Home(home.path, home.dags if folder == "dags" else home.dags / folder)
    with in_thread(target) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: expected.format(dags=target.dags) in _empty_text(app.screen),
                what=expected,
            )


async def test_a_filter_that_matches_nothing_says_so(home: Home) -> None:
    home.write_dag(
        "one.py",
        """
        from flowtui import DAG, EmptyOperator
        with DAG("alpha"):
            EmptyOperator(task_id="t")
        """,
    )
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen) and app.screen.rows)
            await pilot.press("slash", *"zzz")
            assert _empty_text(app.screen) == "no DAG matches 'zzz'; esc clears the filter"
