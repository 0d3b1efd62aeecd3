"""flowtui's commands in the command palette (`ctrl+p`): the key actions of the screen on top
by name (trigger, clear, retry, mark, pause, ...), the screens that work from anywhere
(failures, variables, pools, import errors, the DAG list), and "go to DAG" for every DAG in
the store, read off the UI thread as the palette opens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

from textual.command import DiscoveryHit, Hit, Hits, Provider

from flowtui.store import reads
from flowtui.store.schema import open_connection
from flowtui.tui.keys import is_flowtuis


class PaletteCommand(NamedTuple):
    name: str
    help: str
    run: Callable[[], object]


SCREENS = (
    ("Failures", "recent failures across every DAG (f on the DAG list)", "failures"),
    ("Variables", "list, edit and delete variables (v on the DAG list)", "variables"),
    ("Pools", "pools: slots, used, waiting (o on the DAG list)", "pools"),
    ("Import errors", "DAG files that failed to load (e on the DAG list)", "import_errors"),
    ("DAG list", "back to the first screen", "dags"),
)
"""(name, help, what `Dashboard.action_open` opens) of the screens that open from anywhere."""


class FlowtuiCommands(Provider):
    """Every flowtui action by name, from whichever screen the palette is opened."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Provider's own arguments
        self._dag_ids: list[str] = []

    async def startup(self) -> None:
        db_path = getattr(self.app, "settings", None)
        if db_path is not None:
            self._dag_ids = await asyncio.to_thread(_dag_ids, db_path.db_path)

    def commands(self) -> list[PaletteCommand]:
        app, screen = self.app, self.screen
        found: list[PaletteCommand] = []
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or not is_flowtuis(active.node, binding):
                continue
            node, action = active.node, binding.action
            found.append(
                PaletteCommand(
                    binding.description,
                    f"{app.get_key_display(binding)} on this screen",
                    partial(app.run_action, action, node),
                )
            )
        for name, help_text, target in SCREENS:
            found.append(
                PaletteCommand(
                    f"Open {name}", help_text, partial(app.run_action, f"open({target!r})")
                )
            )
        for dag_id in self._dag_ids:
            found.append(
                PaletteCommand(
                    f"Go to DAG {dag_id}",
                    "its grid of runs by tasks",
                    partial(app.run_action, f"open_dag({dag_id!r})"),
                )
            )
        return found

    async def discover(self) -> Hits:
        for command in self.commands():
            if not command.name.startswith("Go to DAG"):
                yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.run, help=command.help)


def _dag_ids(db_path: Path) -> list[str]:
    if not db_path.exists():
        return []
    conn = open_connection(db_path, readonly=True)
    try:
        return reads.dag_ids(conn)
    finally:
        conn.close()
