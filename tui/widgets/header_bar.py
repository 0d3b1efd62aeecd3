"""The top bar: which home and DAG folder are in use, whether the scheduler is embedded,
attached or not running, and task instances per state, like Luigi's status boxes."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from flowtui.tui.widgets.state_badge import GLYPHS, STYLES

COUNTED = ("queued", "running", "up_for_retry", "failed", "upstream_failed", "success")


class HeaderBar(Widget):
    """Two lines: where flowtui works, and the state counts."""

    DEFAULT_CSS = """
    HeaderBar { height: 2; }
    """

    home: reactive[str] = reactive("")
    dags_folder: reactive[str] = reactive("")
    scheduler: reactive[str] = reactive("not running")
    """embedded / attached (pid N) / not running"""
    counts: reactive[dict[str, int]] = reactive(dict, always_update=True)

    def render(self) -> Text:
        width = max(self.size.width, 20)
        where = Text(" flowtui ", style="bold reverse")
        style = "green" if self.scheduler != "not running" else "bold red"
        where.append_text(Text.assemble(" scheduler: ", (self.scheduler, style)))
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
