"""The pools screen: `o` on the DAG list opens it (the key is in the help and the palette),
each pool shows used / queued / slots from the store, default_pool first; a pool set meanwhile
appears without a key; it fits 80x24; esc goes back."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from flowtui.commands.model import SetPool
from flowtui.scheduling.clients import connect
from flowtui.spec import DagSpec, TaskSpec
from flowtui.store import writes
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.pools import PoolsScreen
from tests.conftest import Home
from tests.tui.conftest import make_dashboard, wait_for

TS = "2024-03-05T06:00:00.000000+00:00"


def _store_a_busy_pool(home: Home) -> None:
    """Pool `etl` of 2 slots: `load` runs holding both, `more` waits for it."""
    client = connect(home.settings, "cli:test")
    client.send(SetPool("etl", 2, "the warehouse"))
    tasks = {
        "load": TaskSpec("load", "BashOperator", pool="etl", pool_slots=2),
        "more": TaskSpec("more", "BashOperator", pool="etl"),
        "other": TaskSpec("other", "BashOperator"),
    }
    spec = DagSpec("sales", "/dags/sales.py", tasks)
    store = home.store()
    try:
        with store.transaction() as conn:
            writes.upsert_dag(conn, spec, TS)
            run = {"run_id": "manual__1", "run_type": "manual", "logical_date": TS}
            writes.insert_run(conn, spec, run, ts=TS, actor="test")
            for task_id, state in (("load", "running"), ("more", "scheduled"), ("other", "none")):
                conn.execute(
                    "UPDATE task_instances SET state = ? WHERE task_id = ?", (state, task_id)
                )
    finally:
        store.close()


def _rows(screen: PoolsScreen) -> list[list[str]]:
    table = screen.pool_table
    return [[str(cell) for cell in table.get_row(key)] for key in table.rows]


async def test_o_opens_the_pools_and_they_follow_the_store(home: Home) -> None:
    home.configure(parallelism=8)
    _store_a_busy_pool(home)
    settings = home.settings
    app: Dashboard = make_dashboard(settings, connect(settings, "dashboard:test"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen), what="the DAG list")
        assert ("o", "Pools") in app.binding_list(app.screen)
        await pilot.press("o")
        screen: PoolsScreen = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PoolsScreen)
                and app.screen.pool_table.row_count == 2
                and app.screen
            ),
            what="the pools",
        )
        assert _rows(screen) == [
            ["default_pool", "0", "0", "8", "slots follow parallelism until set"],
            ["etl", "2", "1", "2", "the warehouse"],
        ]
        used = screen.pool_table.get_row("etl")[1]
        assert isinstance(used, Text)
        assert used.style == "bold red"  # the pool is full
        assert screen.pool_table.virtual_size.width <= 80
        connect(settings, "cli:test").send(SetPool("backfill", 1))
        await wait_for(pilot, lambda: screen.pool_table.row_count == 3, what="the new pool")
        assert _rows(screen)[1][:4] == ["backfill", "0", "0", "1"]
        await pilot.press("escape")
        assert isinstance(app.screen, DagsScreen)


async def test_the_hint_says_how_to_change_a_pool(home: Home) -> None:
    home.path.mkdir(parents=True)
    home.store().close()  # as `flowtui` makes it before the dashboard starts
    settings = home.settings
    app = make_dashboard(settings, connect(settings, "dashboard:test"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen), what="the DAG list")
        await pilot.press("o")
        screen: Any = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PoolsScreen)
                and app.screen.pool_table.row_count
                and app.screen
            ),
            what="the pools",
        )
        hint = str(screen.query_one("#pools-hint").render())
        assert "flowtui pools set NAME SLOTS" in hint
