"""The top bar: which home and DAG folder are in use, which scheduler serves the home (its
PID and executor: for Dask, the cluster's address and how many workers it has), or that it is
starting, stopping or not running (and the key that starts one), and task instances per state
now (of active and latest runs), like Luigi's status boxes; two short lines, so that 80
columns hold both."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from flowtui.commands.model import SchedulerState, SchedulerStatus
from flowtui.tui.widgets.state_badge import GLYPHS, STYLES

COUNTED = ("failed", "up_for_retry", "upstream_failed", "running", "queued", "success")
"""Worst first: what is cut at a narrow width is what needs the least attention."""

SHORT = {"up_for_retry": "retry", "upstream_failed": "upstream"}
"""Names shortened below 100 columns."""


class HeaderBar(Widget):
    """Two lines: where flowtui works, and the state counts."""

    DEFAULT_CSS = """
    HeaderBar { height: 2; }
    """

    home: reactive[str] = reactive("")
    dags_folder: reactive[str] = reactive("")
    scheduler: reactive[SchedulerStatus | SchedulerState] = reactive(SchedulerState.STARTING)
    """The home's scheduler as the App last probed it."""
    counts: reactive[dict[str, int]] = reactive(dict, always_update=True)
    """Task instances per state of the active and latest runs (not every instance ever)."""

    def render(self) -> Text:
        width = max(self.size.width, 20)
        where = Text(" flowtui ", style="bold reverse")
        where.append_text(Text.assemble(" scheduler: ", self._scheduler_text()))
        where.append(f"  home {self.home}  dags {self.dags_folder}")
        where.truncate(width, overflow="ellipsis")
        is_wide = width >= 100
        counts = Text(" now:", style="bold")
        for state in COUNTED:
            count = self.counts.get(state, 0)
            name = state if is_wide else SHORT.get(state, state)
            counts.append("   " if is_wide else "  ")
            style = STYLES[state] if count else "dim"
            counts.append(f"{GLYPHS[state]} {count} {name}", style=style)
        counts.truncate(width, overflow="ellipsis")
        return Text("\n").join([where, counts])

    def _scheduler_text(self) -> Text:
        seen = self.scheduler
        if isinstance(seen, SchedulerStatus):
            return Text.assemble((f"pid {seen.pid}", "green"), f", {seen.executor_text()}")
        if seen is SchedulerState.NOT_RUNNING:
            return Text.assemble(("not running", "bold red"), " (S starts one)")
        return Text(f"{seen}…", style="yellow")
