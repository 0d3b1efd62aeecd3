"""The variables screen: `v` opens it, secret values are masked until `s`, `a` adds, `e`
edits, `d` + `y` deletes; each write lands in the store and in `events` as the dashboard's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from flowtui import Variable
from flowtui.authoring import variables
from flowtui.scheduling.clients import connect
from flowtui.store.variables import overview
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.variables import VariableDialog, VariablesScreen
from tests.conftest import Home
from tests.tui.conftest import SIZE, make_dashboard, settle, wait_for

SECRET = "hunter22-s3cret"


@pytest.fixture
def dashboard(home: Home, monkeypatch: pytest.MonkeyPatch) -> Dashboard:
    """A dashboard on a store holding two variables; no scheduler is needed for variables."""
    home.path.mkdir(parents=True)
    monkeypatch.setattr(variables, "_db_path", home.settings.db_path)  # restored afterwards
    Variable.set("db_password", SECRET, description="warehouse")
    Variable.set("region", "eu-west-1")
    settings = home.settings
    return make_dashboard(settings, connect(settings, "dashboard:test"))


def _stored(home: Home) -> dict[str, tuple[str, str]]:
    store = home.store()
    try:
        return {r.key: (r.val, r.description) for r in overview(store.conn, {})}
    finally:
        store.close()


def _values(screen: VariablesScreen) -> dict[str, str]:
    table = screen.variable_table
    return {str(key.value): str(table.get_row(key)[1]) for key in table.rows}


async def _open(app: Dashboard, pilot: Pilot[Any], keys: int = 2) -> VariablesScreen:
    await pilot.press("v")
    screen: VariablesScreen = await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, VariablesScreen)
            and app.screen.variable_table.row_count == keys
            and app.screen
        ),
        what="the variables",
    )
    return screen


def _command_events(home: Home) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(e["actor"]), json.loads(str(e["detail"])))
        for e in home.events()
        if e["kind"] == "command"
    ]


async def test_secret_values_are_masked_until_s_shows_them(
    home: Home, dashboard: Dashboard
) -> None:
    async with dashboard.run_test(size=SIZE) as pilot:
        screen = await _open(dashboard, pilot)
        assert _values(screen) == {"db_password": "***", "region": "eu-west-1"}
        await pilot.press("s")  # the cursor is on db_password, the first key
        assert _values(screen)["db_password"] == SECRET
        await pilot.press("s")
        assert _values(screen)["db_password"] == "***"
        await pilot.press("escape")
        assert not isinstance(dashboard.app.screen, VariablesScreen)


async def test_a_adds_a_variable(home: Home, dashboard: Dashboard) -> None:
    async with dashboard.run_test(size=SIZE) as pilot:
        screen = await _open(dashboard, pilot)
        await pilot.press("a")
        assert isinstance(dashboard.screen, VariableDialog)
        await pilot.press(*"bad key", "enter")  # refused in the dialog
        error = str(dashboard.screen.query_one("#variable-error").render())
        assert "is not valid" in error
        dashboard.screen.query_one("#variable-key", Input).value = "api_token"
        await pilot.pause()
        assert dashboard.screen.query_one("#variable-value", Input).password
        await pilot.press("tab", *"tok-123456", "tab", *"for the API", "enter")
        await settle(pilot)
        await wait_for(pilot, lambda: screen.variable_table.row_count == 3, what="the new row")
        assert _values(screen)["api_token"] == "***"
    assert _stored(home)["api_token"] == ("tok-123456", "for the API")
    assert _command_events(home) == [
        (
            "dashboard:test",
            {
                "command": "set_variable",
                "args": {"key": "api_token", "value": "***", "description": "for the API"},
            },
        )
    ]


async def test_e_edits_with_json_validation(home: Home, dashboard: Dashboard) -> None:
    async with dashboard.run_test(size=SIZE) as pilot:
        screen = await _open(dashboard, pilot)
        await pilot.press("down", "e")
        dialog = dashboard.screen
        assert isinstance(dialog, VariableDialog)
        assert dialog.query_one("#variable-key", Input).disabled
        dialog.query_one("#variable-json", Checkbox).value = True
        dialog.query_one("#variable-value", Input).value = "{not json"
        await pilot.press("enter")
        assert "not valid JSON" in str(dialog.query_one("#variable-error").render())
        dialog.query_one("#variable-value", Input).value = '["eu", "us"]'
        await pilot.press("enter")
        await settle(pilot)
        await wait_for(pilot, lambda: _values(screen)["region"] == '["eu", "us"]')
    assert _stored(home)["region"] == ('["eu", "us"]', "")


async def test_d_and_y_delete(home: Home, dashboard: Dashboard) -> None:
    async with dashboard.run_test(size=SIZE) as pilot:
        screen = await _open(dashboard, pilot)
        await pilot.press("d", "n")
        await settle(pilot)
        assert "db_password" in _stored(home)
        await pilot.press("d", "y")
        await settle(pilot)
        await wait_for(pilot, lambda: screen.variable_table.row_count == 1, what="the deletion")
    assert set(_stored(home)) == {"region"}
    assert _command_events(home) == [
        ("dashboard:test", {"command": "delete_variable", "args": {"key": "db_password"}})
    ]


async def test_a_failed_write_is_a_toast(home: Home, dashboard: Dashboard) -> None:
    async with dashboard.run_test(size=SIZE) as pilot:
        screen = await _open(dashboard, pilot)
        await pilot.press("d")
        Variable.set("gone", "x")
        Variable.delete("db_password")  # someone else was first
        await pilot.press("y")
        await settle(pilot)
        messages = [n.message for n in dashboard._notifications]
        assert any("variable 'db_password' is not in the store" in m for m in messages)
        await wait_for(pilot, lambda: "gone" in _values(screen))
