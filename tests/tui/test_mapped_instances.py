"""A mapped task on the dashboard, over a pinned store with no scheduler (commands are applied to
the store directly): its grid cell opens the list of its instances, an instance opens its own
task screen (attempts, log path and history by map index), and c / r / m from the list, the
task screen and the failures screen act on that one instance alone, as the store shows; the
grid's own keys act on the failed instances or point to the list; the runs list, a task's
history and the XCom tab reach each instance; the bell names `task[N]`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual.pilot import Pilot
from textual.screen import Screen

from flowtui.scheduling.clients import connect
from flowtui.store import reads
from flowtui.store.schema import open_connection
from flowtui.tui.app import Dashboard
from flowtui.tui.failure_alert import failure_alert
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.screens.failures import FailuresScreen
from flowtui.tui.screens.mapped_instances import MappedInstancesScreen
from flowtui.tui.screens.runs import RunsScreen
from flowtui.tui.screens.task_details import TaskDetailsScreen
from flowtui.tui.screens.task_history import TaskHistoryScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from tests.conftest import Home
from tests.tui.conftest import make_dashboard, plain, settle, wait_for
from tests.tui.pinned_store import CAUSES, MAPPED_RUN, write_mapped_store

S = TypeVar("S", bound=Screen[Any])


def _app(home: Home) -> Dashboard:
    write_mapped_store(home)
    return make_dashboard(home.settings, connect(home.settings, "dashboard:test"))


def _states(home: Home) -> dict[str, str]:
    """`task` or `task[N]` -> state, for the pinned run."""
    store = home.store()
    try:
        rows = reads.task_instances(store.conn, "fan_out", MAPPED_RUN)
    finally:
        store.close()
    return {
        f"{r['task_id']}[{r['map_index']}]" if r["map_index"] >= 0 else r["task_id"]: r["state"]
        for r in rows
    }


async def _on_each(pilot: Pilot[Any]) -> DagScreen:
    """The DAG screen with the cursor on each's cell."""
    screen = DagScreen("fan_out")
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.data is not None and screen.run_grid.selected())
    screen.run_grid.select(MAPPED_RUN, "each")
    await pilot.pause()
    return screen


async def _on_top(
    pilot: Pilot[Any], kind: type[S], is_ready: Callable[[S], object] = lambda _: True
) -> S:
    """The screen on top, once it is a `kind` and `is_ready` (its data came)."""

    def ready() -> S | None:
        screen = pilot.app.screen
        return screen if isinstance(screen, kind) and is_ready(screen) else None

    found: S = await wait_for(pilot, ready)
    return found


async def _instances(pilot: Pilot[Any]) -> MappedInstancesScreen:
    await _on_each(pilot)
    await pilot.press("enter")
    return await _on_top(pilot, MappedInstancesScreen, lambda s: s.instances_table.row_count == 3)


async def test_enter_lists_the_instances_and_one_opens_its_own_task_screen(home: Home) -> None:
    """The grid's details count the instances; enter lists them with the cursor on the failed
    one; enter on it shows each[1]'s attempt, history and log path, and m marks it alone."""
    async with _app(home).run_test(size=(100, 30)) as pilot:
        screen = await _on_each(pilot)
        assert "3 mapped  ✔ 2  ✘ 1" in plain(screen.query_one("#run-details").render())
        listed = await _instances(pilot)
        table = listed.instances_table
        assert [table.get_row_at(i)[0] for i in range(3)] == ["[0]", "[1]", "[2]"]
        assert table.cursor_row == 1  # the failed one
        assert "3 mapped instances" in plain(listed.query_one("#mapped-title").render())
        await pilot.press("enter")
        opened = await _on_top(pilot, TaskInstanceScreen, lambda s: s.data)
        assert opened.map_index == 1
        assert "fan_out / manual__2024-03-05 / each[1]" in plain(
            opened.query_one("#ti-summary").render()
        )
        assert opened.data is not None
        [attempt] = opened.data["attempts"]
        assert attempt["cause"] == CAUSES["each"]
        assert [e["new_state"] for e in opened.data["history"]] == ["failed"]
        [log] = opened.log_pane.attempts
        assert str(log.path).endswith(f"{MAPPED_RUN}/each/map_index=1/attempt=1.log")
        await pilot.press("m", "s")
        await settle(pilot)
    states = _states(home)
    assert states["each[1]"] == "success"
    assert (states["each[0]"], states["each[2]"]) == ("success", "success")


async def test_c_in_the_list_clears_that_instance_alone(home: Home) -> None:
    """c then y on each[1]: it and join (below it) are reset; each[0] and each[2] are not."""
    async with _app(home).run_test(size=(100, 30)) as pilot:
        listed = await _instances(pilot)
        await pilot.press("c")
        dialog = await wait_for(pilot, lambda: pilot.app.screen is not listed and pilot.app.screen)
        assert "Clear each[1] in manual__2024-03-05?" in plain(dialog.query_one("Label").render())
        await pilot.press("y")
        await settle(pilot)
    states = _states(home)
    assert states["each[1]"] not in ("failed", "success")
    assert states["join"] != "upstream_failed"
    assert (states["each[0]"], states["each[2]"], states["make"]) == ("success",) * 3
    store = home.store()
    try:
        cleared = [
            (e["task_id"], e["map_index"])
            for e in reads.events(store.conn, dag_id="fan_out")
            if e["actor"] == "dashboard:test (cleared)"
        ]
    finally:
        store.close()
    assert sorted(cleared) == [("each", 1), ("join", -1)]


async def test_the_failures_screen_names_the_instance_and_r_reruns_it_alone(home: Home) -> None:
    """f lists each[1] with its own error line; enter opens each[1]; r resets it and join."""
    async with _app(home).run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        failures = await _on_top(pilot, FailuresScreen, lambda s: s.failures)
        [failure] = failures.failures
        assert (failure.name, failure.cause) == ("each[1]", CAUSES["each"])
        cells = plain(failures.failures_table.get_row_at(0)[1])
        assert "fan_out.each[1]" in cells
        await pilot.press("enter")
        opened = await _on_top(pilot, TaskInstanceScreen)
        assert (opened.task_id, opened.map_index) == ("each", 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is failures)
        await pilot.press("r")
        await settle(pilot)
    states = _states(home)
    assert states["each[1]"] != "failed"
    assert states["join"] != "upstream_failed"
    assert (states["each[0]"], states["each[2]"]) == ("success", "success")


async def test_on_the_grid_m_points_to_the_list_and_r_reruns_the_failed_instances(
    home: Home,
) -> None:
    """The cell stands for every instance: m sends nothing and says where to mark one; r
    resets the failed instance (and join below), not the ones that succeeded."""
    async with _app(home).run_test(size=(100, 30)) as pilot:
        app = pilot.app
        screen = await _on_each(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert app.screen is screen  # no dialog
        assert any("enter lists its instances" in n.message for n in app._notifications)
        await pilot.press("r")
        await settle(pilot)
        # a task screen opened on the task before it expanded says where its instances are
        unexpanded = TaskInstanceScreen("fan_out", MAPPED_RUN, "each")
        await app.push_screen(unexpanded)
        await wait_for(pilot, lambda: unexpanded.data)
        summary = plain(unexpanded.query_one("#ti-summary").render())
        assert "each   mapped: 3 instances; the DAG screen lists them" in summary
    states = _states(home)
    assert states["each[1]"] != "failed"
    assert states["join"] != "upstream_failed"
    assert (states["each[0]"], states["each[2]"]) == ("success", "success")


async def test_the_runs_list_and_the_task_history_reach_each_instance(home: Home) -> None:
    """The runs list names each instance (each[0] ...) and opens each[0], whose XCom tab shows
    its own value; a mapped task's history opens that run's list of instances."""
    async with _app(home).run_test(size=(100, 30)) as pilot:
        runs = RunsScreen("fan_out")
        await pilot.app.push_screen(runs)
        await wait_for(pilot, lambda: runs.tis_table.row_count == 5)
        table = runs.tis_table
        names = [table.get_row_at(i)[0] for i in range(5)]
        assert names == ["make", "each[0]", "each[1]", "each[2]", "join"]
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("enter")
        opened = await _on_top(pilot, TaskInstanceScreen, lambda s: s.data)
        assert (opened.task_id, opened.map_index) == ("each", 0)
        await pilot.press("x")
        details = await _on_top(pilot, TaskDetailsScreen, lambda s: s.details)
        assert details.details is not None
        assert [(x["key"], x["value"]) for x in details.details.xcoms] == [("return_value", "11")]
        history = TaskHistoryScreen("fan_out", "each")
        await pilot.app.push_screen(history)
        await wait_for(pilot, lambda: history.rows)
        await pilot.press("enter")
        listed = await _on_top(pilot, MappedInstancesScreen)
        assert (listed.run_id, listed.task_id) == (MAPPED_RUN, "each")


def test_the_bell_names_the_failed_instance(home: Home) -> None:
    """The failure read for the bell carries the map index; the notification says each[1]."""
    write_mapped_store(home)
    conn = open_connection(home.path / "flowtui.db")
    try:
        [failure] = reads.task_failures_since(conn, 0)
    finally:
        conn.close()
    assert f"fan_out.each[1] failed ({MAPPED_RUN}): {CAUSES['each']}" in failure_alert(failure)
