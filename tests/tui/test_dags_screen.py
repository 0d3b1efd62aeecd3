"""The DAG list: live rows, filter, trigger with conf, pause, import-error banner, help,
command palette; every key action checked in the store and `events`; each
schedule described as the DAG screen describes it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.widgets import Input, Static

from flowtui.commands.model import SetPaused
from flowtui.scheduling.clients import connect
from flowtui.store import reads
from flowtui.tui.app import Dashboard
from flowtui.tui.messages import CommandRequested
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.help import HelpScreen
from flowtui.tui.screens.import_errors import ImportErrorsScreen
from tests.conftest import Home, wait_until
from tests.tui.conftest import (
    SIZE,
    in_thread,
    load_dags,
    make_dashboard,
    palette_titles,
    plain,
    settle,
    wait_for,
)

TWO_DAGS = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("alpha", start_date=datetime(2024, 1, 1), tags=["sales"],
             params={"n": 1}) as alpha:
        BashOperator(task_id="hello", bash_command="echo {{ params.n }}")
    with DAG("beta", start_date=datetime(2024, 1, 1), tags=["ops"]) as beta:
        BashOperator(task_id="sleepy", bash_command="sleep 30")
"""


SCHEDULES = """
    from datetime import datetime, timedelta
    from flowtui import DAG, BashOperator, Dataset

    START = datetime(2024, 1, 1)
    with DAG("by_hand", start_date=START) as by_hand:
        BashOperator(task_id="noop", bash_command="true")
    with DAG("daily", schedule="@daily", start_date=START) as daily:
        BashOperator(task_id="noop", bash_command="true")
    with DAG("hourly", schedule=timedelta(hours=1), start_date=START) as hourly:
        BashOperator(task_id="noop", bash_command="true")
    with DAG("on_orders", schedule=[Dataset("file:///data/orders.csv")], start_date=START) as on:
        BashOperator(task_id="noop", bash_command="true")
    with DAG("weekdays", schedule="30 2 * * 1-5", start_date=START) as weekdays:
        BashOperator(task_id="noop", bash_command="true")
"""

DESCRIBED = {
    "by_hand": "manual",
    "daily": "every day at 00:00 (@daily)",
    "hourly": "every 1h00m",
    "on_orders": "on datasets file:///data/orders.csv",
    "weekdays": "at 02:30 on Mon-Fri (30 2 * * 1-5)",
}


@pytest.fixture
def two_dags(home: Home) -> Home:
    """The DAG folder, written before any scheduler fixture starts."""
    home.write_dag("two.py", TWO_DAGS)
    return home


def _dag_ids(screen: DagsScreen) -> list[str]:
    table = screen.dag_table
    return [str(key.value) for key in table.rows]


def _events(home: Home, kind: str) -> list[dict[str, object]]:
    return [e for e in home.events() if e["kind"] == kind]


def _offline(home: Home) -> Dashboard:
    """A dashboard with no scheduler: commands go to the store directly."""
    return make_dashboard(home.settings, connect(home.settings, "dashboard:test"))


async def test_dag_list_shows_every_dag_and_filters(home: Home) -> None:
    home.write_dag("two.py", TWO_DAGS)
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            screen = await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, DagsScreen)
                    and _dag_ids(app.screen) == ["alpha", "beta"]
                    and app.screen
                ),
            )
            await pilot.press("slash", *"tag:ops", "enter")
            assert _dag_ids(screen) == ["beta"]
            await pilot.press("escape")
            assert _dag_ids(screen) == ["alpha", "beta"]
            await pilot.press("slash", *"alp")
            assert _dag_ids(screen) == ["alpha"]


async def test_t_triggers_with_validated_conf_and_p_pauses(
    two_dags: Home, attached: Dashboard
) -> None:
    home, app = two_dags, attached
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, DagsScreen) and "alpha" in _dag_ids(app.screen)
        )
        await pilot.press("t")
        await pilot.press(*"[1]", "enter")  # not an object: refused in the dialog
        assert str(app.screen.query_one("#conf-error", Static).render()).startswith("conf must be")
        app.screen.query_one(Input).value = ""
        await pilot.press(*'{"n": 7}', "enter")
        await settle(pilot)
        store = home.store()
        run = wait_until(lambda: reads.run(store.conn, "alpha"), what="the triggered run")
        assert run["conf"] == {"n": 7}
        await pilot.press("p")
        await settle(pilot)
        dag = reads.dag(store.conn, "alpha")
        assert dag is not None
        assert dag["is_paused"] is True
        store.close()
    details = [json.loads(str(e["detail"])) for e in _events(home, "command")]
    assert [d["command"] for d in details] == ["trigger", "set_paused"]
    assert all(str(e["actor"]) == "dashboard:test" for e in _events(home, "command"))


async def test_import_errors_banner_opens_the_errors(home: Home) -> None:
    home.write_dag("two.py", TWO_DAGS)
    (home.dags / "broken.py").write_text("from flowtui import DAG\nraise ValueError('nope')\n")
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.screen.query_one("#errors-banner").display)
            await pilot.press("e")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, ImportErrorsScreen) and app.screen
            )
            await wait_for(pilot, lambda: screen.error_list.option_count == 1)
            filename, line = screen.places[0]
            assert filename.endswith("broken.py")
            assert line == 2
            assert "ValueError: nope" in plain(screen.error_list.get_option_at_index(0).prompt)
            await pilot.press("escape")
            assert isinstance(app.screen, DagsScreen)


async def test_help_lists_every_binding(home: Home) -> None:
    home.write_dag("two.py", TWO_DAGS)
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            described = {name for _keys, name in app.screen.bindings}
            assert {
                "Open",
                "Filter",
                "Trigger",
                "Pause/unpause",
                "Import errors",
                "Quit",
                "Help",
            } <= described
            await pilot.press("escape")
            assert isinstance(app.screen, DagsScreen)


async def test_every_action_is_in_the_command_palette(home: Home) -> None:
    home.write_dag("two.py", TWO_DAGS)
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
            titles = await palette_titles(app)
            for name in ("Open", "Filter", "Trigger", "Pause/unpause", "Import errors", "Quit"):
                assert any(t.startswith(name) for t in titles), (name, titles)


async def test_the_list_and_the_dag_screen_describe_each_schedule_alike(home: Home) -> None:
    """Cron strings and presets in words with the expression after them, a timedelta as a
    duration, datasets by name: the same text in the list and in the DAG screen's title."""
    home.write_dag("schedules.py", SCHEDULES)
    load_dags(home)
    app = _offline(home)
    async with app.run_test(size=SIZE) as pilot:
        screen: DagsScreen = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, DagsScreen)
                and _dag_ids(app.screen) == sorted(DESCRIBED)
                and app.screen
            ),
        )
        listed = {d: str(screen.dag_table.get_cell(d, "schedule")) for d in _dag_ids(screen)}
        assert listed == DESCRIBED
        for row, dag_id in enumerate(_dag_ids(screen)):
            await pilot.press(*(["down"] if row else []), "enter")
            shown = await wait_for(pilot, lambda: _dag_screen(app), what=f"the {dag_id} screen")
            assert shown.dag_id == dag_id
            title = str(shown.query_one("#dag-title", Static).render())
            assert f"  schedule {DESCRIBED[dag_id]}  " in title
            await pilot.press("escape")  # the list gets its focus back as it resumes
            await wait_for(pilot, lambda: screen.is_active and screen.dag_table.has_focus)


def _dag_screen(app: Dashboard) -> DagScreen | None:
    """The DAG screen on top, once its first read arrived."""
    screen = app.screen
    return screen if isinstance(screen, DagScreen) and screen.data is not None else None


async def test_p_asks_the_app_for_the_command_and_the_app_sends_it(home: Home) -> None:
    """A screen posts `CommandRequested`; the App sends it from a worker and the DAG is paused."""
    home.write_dag("two.py", TWO_DAGS)
    load_dags(home)
    seen: list[Any] = []
    app = _offline(home)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        screen = await wait_for(
            pilot,
            lambda: isinstance(app.screen, DagsScreen) and _dag_ids(app.screen) and app.screen,
        )
        assert screen.settings == home.settings  # handed down when it was shown
        await pilot.press("p")
        await settle(pilot)
    # the hook sees a message again at each node it bubbles through: count each one once
    requested = list({id(m): m for m in seen if isinstance(m, CommandRequested)}.values())
    assert [(m.command, m.summary) for m in requested] == [
        (SetPaused("alpha", True), "alpha paused")
    ]
    store = home.store()
    try:
        dag = reads.dag(store.conn, "alpha")
    finally:
        store.close()
    assert dag is not None
    assert dag["is_paused"] is True


async def test_a_dag_asking_for_mail_without_smtp_shows_a_warning(home: Home) -> None:
    """No [smtp] host while a DAG asks for mail: a banner, and the reason on the errors screen."""
    home.write_dag(
        "mailing.py",
        """
        from flowtui import DAG, BashOperator
        with DAG("mailing", schedule=None):
            BashOperator(task_id="load", bash_command="true", email="ops@example.com")
        """,
    )
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=SIZE) as pilot:
            banner = await wait_for(
                pilot,
                lambda: (
                    app.screen.query_one("#errors-banner").display
                    and app.screen.query_one("#errors-banner", Static)
                ),
            )
            assert "1 DAG(s) ask for email but no [smtp] host is set" in str(banner.render())
            await pilot.press("e")
            screen = await wait_for(
                pilot, lambda: isinstance(app.screen, ImportErrorsScreen) and app.screen
            )
            await wait_for(pilot, lambda: screen.error_list.option_count == 2)
            options = screen.error_list
            assert plain(options.get_option_at_index(0).prompt).strip() == "no import errors"
            fileloc, _line = screen.places[1]
            assert fileloc.endswith("mailing.py")
            message = plain(options.get_option_at_index(1).prompt)
            assert "warning: DAG 'mailing' asks for email (task 'load')" in message


NAMED = """
    from flowtui import DAG, BashOperator

    with DAG("named", dag_display_name="Nightly orders") as named:
        BashOperator(task_id="load", bash_command="true", task_display_name="Load the orders")
        BashOperator(task_id="plain", bash_command="true")
"""


async def test_display_names_are_shown_where_the_ids_were(home: Home) -> None:
    """Airflow's dag_display_name and task_display_name in the list (and its filter), the DAG
    screen's title (the id beside it) and the grid's rows; the ids stay the rows' keys."""
    home.write_dag("named.py", NAMED)
    load_dags(home)
    app = _offline(home)
    async with app.run_test(size=SIZE) as pilot:
        screen: DagsScreen = await wait_for(
            pilot,
            lambda: isinstance(app.screen, DagsScreen) and _dag_ids(app.screen) and app.screen,
        )
        assert _dag_ids(screen) == ["named"]
        assert str(screen.dag_table.get_cell("named", "DAG")) == "Nightly orders"
        await pilot.press("slash", *"nightly", "enter")
        assert _dag_ids(screen) == ["named"]
        await pilot.press("enter")
        shown = await wait_for(pilot, lambda: _dag_screen(app), what="the named screen")
        title = str(shown.query_one("#dag-title", Static).render())
        assert title.startswith(" Nightly orders (named)  schedule")
        grid = shown.run_grid
        rows = {str(key.value): str(grid.get_cell(key, "task")) for key in grid.rows}
        assert rows == {"load": "Load the orders", "plain": "plain"}
