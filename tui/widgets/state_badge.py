"""How a state looks: a glyph (readable without colour, e.g. with NO_COLOR or in a 16-colour
terminal) and a style, both set once here for every screen: RGB colours picked so that every
state keeps a colour of its own and stays readable on the dashboard's background in truecolor,
256 and 16 colours (tests/tui/test_state_badge.py checks it), or, with NO_COLOR, a palette of
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
    "scheduled": "#00afaf",
    "queued": "#87d7ff",
    "running": "bold #87ff5f",
    "success": "#00af00",
    "failed": "bold #ff5f5f",
    "skipped": "#ff87d7",
    "upstream_failed": "#d78700",
    "up_for_retry": "#ffd75f",
    "up_for_reschedule": "#8787ff",
    "restarting": "#d700ff",
    "removed": "#767676",
}
"""Rich styles for glyphs inside tables. Not named ANSI colours: Textual's default theme draws
those from its own table, where red, magenta and bright magenta are one colour (failed, skipped
and restarting looked alike, and a 16-colour terminal got failed in magenta). Each is a colour
of the 256-colour cube (exact there) whose nearest of the 16 standard colours, which Rich picks
for a 16-colour terminal, is a different one per state and none of them dark blue."""

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
