"""The top bar: which home and DAG folder are in use, which scheduler serves the home (its
PID), or that it is starting, stopping or not running (and the key that starts one), and task
instances per state, like Luigi's status boxes."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from flowtui.commands.model import SchedulerState, SchedulerStatus
from flowtui.tui.widgets.state_badge import GLYPHS, STYLES

COUNTED = ("queued", "running", "up_for_retry", "failed", "upstream_failed", "success")


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

    def render(self) -> Text:
        width = max(self.size.width, 20)
        where = Text(" flowtui ", style="bold reverse")
        where.append_text(Text.assemble(" scheduler: ", self._scheduler_text()))
        where.append(f"  home {self.home}  dags {self.dags_folder}")
        where.truncate(width, overflow="ellipsis")
        counts = Text(" ")
        gap = "   " if width >= 100 else " "
        for state in COUNTED:
            count = self.counts.get(state, 0)
            counts.append(
                f"{GLYPHS[state]} {state} {count}", style=STYLES[state] if count else "dim"
            )
            counts.append(gap)
        counts.truncate(width, overflow="ellipsis")
        return Text("\n").join([where, counts])

    def _scheduler_text(self) -> Text:
        seen = self.scheduler
        if isinstance(seen, SchedulerStatus):
            return Text(f"pid {seen.pid}", style="green")
        if seen is SchedulerState.NOT_RUNNING:
            return Text.assemble(("not running", "bold red"), " (S starts one)")
        return Text(f"{seen}…", style="yellow")
