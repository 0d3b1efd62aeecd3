"""How a state looks: a glyph (readable without colour, e.g. with NO_COLOR or in a 16-colour
terminal) and a style, both set once here for every screen: named ANSI colours (so that
16-colour terminals match; app.tcss leaves them alone), or, with NO_COLOR, a palette of
brightness and attributes alone (`use_palette`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

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

COLOUR_STYLES: dict[str, str] = {
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

MONOCHROME_STYLES: dict[str, str] = {
    "none": "dim",
    "scheduled": "",
    "queued": "",
    "running": "bold",
    "success": "",
    "failed": "bold reverse",
    "skipped": "dim italic",
    "upstream_failed": "bold underline",
    "up_for_retry": "reverse",
    "up_for_reschedule": "italic",
    "restarting": "bold italic",
    "removed": "dim strike",
}
"""Without colour (NO_COLOR: Textual turns each colour into a grey of its brightness, and dark
red on the dark background was grey 237 on 235): the states that need a user stand out by
reverse video and weight, the rest keep the text's own brightness or are dimmed."""

STYLES: dict[str, str] = dict(COLOUR_STYLES)
"""The styles in use: `COLOUR_STYLES` or `MONOCHROME_STYLES` (see `use_palette`)."""


def use_palette(monochrome: bool) -> None:
    """Draw states from now on with colours, or (NO_COLOR) with attributes alone. The App calls
    this once as it starts; it changes `STYLES` in place, which every screen reads."""
    STYLES.clear()
    STYLES.update(MONOCHROME_STYLES if monochrome else COLOUR_STYLES)


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


def tally(states: Iterable[str]) -> Text:
    """How many of `states` are in each state, glyph and count (`✔ 2  ✘ 1`) in the glyphs'
    order: a mapped task's instances at a glance."""
    counts = Counter(states)
    parts = [Text(f"{GLYPHS[s]} {counts[s]}", style=STYLES[s]) for s in GLYPHS if counts[s]]
    return Text("  ").join(parts)


def legend() -> Text:
    """Every state's glyph and name, coloured, for the help screen."""
    text = Text()
    for state, mark in GLYPHS.items():
        text.append(f"{mark} {state}  ", style=STYLES.get(state, ""))
    return text
