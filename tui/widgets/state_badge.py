"""How a state looks: a glyph (readable without colour, e.g. with NO_COLOR or in a 16-colour
terminal) and a colour, both set once here for every screen (named ANSI colours, so that
16-colour terminals match; app.tcss leaves them alone)."""

from __future__ import annotations

from rich.text import Text

GLYPHS: dict[str, str] = {
    "none": "·",
    "scheduled": "○",
    "queued": "◌",
    "running": "▶",
    "success": "✔",
    "failed": "✘",
    "skipped": "↷",
    "upstream_failed": "⊘",
    "up_for_retry": "↻",
    "up_for_reschedule": "⏲",
    "restarting": "⟳",
    "removed": "⌫",
}
"""One glyph per task-instance and run state."""

STYLES: dict[str, str] = {
    "none": "dim",
    "scheduled": "cyan",
    "queued": "bright_cyan",
    "running": "bold bright_green",
    "success": "green",
    "failed": "bold red",
    "skipped": "magenta",
    "upstream_failed": "dark_orange",
    "up_for_retry": "yellow",
    "up_for_reschedule": "bright_blue",
    "restarting": "bright_magenta",
    "removed": "dim",
}
"""Rich styles for glyphs inside tables (named ANSI colours, so 16-colour terminals match)."""


def glyph(state: str | None) -> Text:
    """A one-cell glyph for `state`, coloured; an empty cell for no task instance."""
    if state is None:
        return Text(" ")
    return Text(GLYPHS.get(state, "?"), style=STYLES.get(state, ""))


def badge(state: str | None) -> Text:
    """Glyph and name, e.g. `✘ failed`."""
    if state is None:
        return Text("")
    return Text(f"{GLYPHS.get(state, '?')} {state}", style=STYLES.get(state, ""))


def legend() -> Text:
    """Every state's glyph and name, coloured, for the help screen."""
    text = Text()
    for state, mark in GLYPHS.items():
        text.append(f"{mark} {state}  ", style=STYLES.get(state, ""))
    return text
