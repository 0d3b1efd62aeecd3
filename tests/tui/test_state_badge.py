"""The state palette: one glyph per state, and every state readable by its colour's brightness on
the dashboard's backgrounds in truecolor, 256 and 16 colours and with NO_COLOR.

Readable means a WCAG 2 contrast ratio of at least 3 (the level for large or bold UI text),
from the standard relative luminance of the RGB the terminal shows: the style goes through the
App's own line filters (Textual's ANSI theme, dim blended into the background, NO_COLOR's
greys) and Rich's downgrade to the colour system, and a 16-colour index is shown in xterm's
default colours (XTerm-col.ad), a 256-colour one in the xterm cube."""

from __future__ import annotations

from typing import Any

import pytest
from rich.color import Color, ColorSystem
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import TerminalTheme
from textual.color import Color as TextualColor
from textual.pilot import Pilot

from flowtui.states import RunState, TaskState
from flowtui.tui.app import Dashboard
from flowtui.tui.screens.dag_runs import DagScreen
from flowtui.tui.widgets.run_grid import RunGrid
from flowtui.tui.widgets.state_badge import COLOUR_STYLES, GLYPHS, MONOCHROME_STYLES
from tests.conftest import Home
from tests.tui.conftest import make_dashboard
from tests.tui.pinned_store import write_pinned_store

XTERM = TerminalTheme(
    (0, 0, 0),
    (229, 229, 229),
    [
        *[(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0)],
        *[(0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229)],
    ],
    [
        *[(127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0)],
        *[(92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)],
    ],
)
"""xterm's default 16 colours, what a 16-colour terminal shows for each index."""

SYSTEMS = (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD)

STATES = sorted({state.value for state in (*TaskState, *RunState)})

MINIMUM = 3.0
"""WCAG 2's contrast ratio for large or bold text and UI components."""


def _luminance(rgb: ColorTriplet) -> float:
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: ColorTriplet, other: ColorTriplet) -> float:
    """WCAG 2's contrast ratio of two colours, 1 (the same) to 21 (black on white)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def shown(color: Color, system: ColorSystem) -> ColorTriplet:
    """The RGB a terminal of `system` shows for `color`, as Rich writes it there."""
    return color.downgrade(system).get_truecolor(XTERM)


def drawn(app: Dashboard, style: str, background: str) -> Style:
    """`style` as the App hands it to the terminal, over the screen's text colour on
    `background` (a CSS variable), after the App's line filters."""
    variables = app.get_css_variables()
    under = TextualColor.parse(variables[background])
    text = TextualColor.parse(variables["foreground"])
    base = Style(color=text.rich_color, bgcolor=under.rich_color)
    segments = [Segment("x", base + Style.parse(style))]
    for line_filter in app.get_line_filters():
        segments = line_filter.apply(segments, under)
    assert segments[0].style is not None
    return segments[0].style


def ratio(style: Style, system: ColorSystem) -> float:
    assert style.color is not None
    assert style.bgcolor is not None
    return contrast(shown(style.color, system), shown(style.bgcolor, system))


def test_each_state_has_a_glyph_of_its_own() -> None:
    assert set(STATES) <= set(GLYPHS)
    assert len(set(GLYPHS.values())) == len(GLYPHS)


@pytest.mark.parametrize("background", ["background", "surface"])
@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name.lower())
def test_each_state_is_readable_in_colour(home: Home, system: ColorSystem, background: str) -> None:
    """Every state's glyph reaches 3:1 on the screen's and the tables' background, and no two
    states share a colour (16 colours: failed, skipped and restarting were all magenta)."""
    app = make_dashboard(home.settings)
    styles = {state: drawn(app, COLOUR_STYLES[state], background) for state in STATES}
    low = {s: round(ratio(style, system), 2) for s, style in styles.items()}
    assert {s: r for s, r in low.items() if r < MINIMUM} == {}
    coloured = [s for s in STATES if "dim" not in COLOUR_STYLES[s]]
    colours = {shown(styles[s].color or Color.default(), system) for s in coloured}
    assert len(colours) == len(coloured), "two states share a colour"


@pytest.mark.parametrize("background", ["background", "surface"])
def test_no_color_keeps_each_state_readable_and_the_failures_marked(
    home: Home, monkeypatch: pytest.MonkeyPatch, background: str
) -> None:
    """NO_COLOR: Textual's greys still reach 3:1, and the states that need a user (failed,
    upstream_failed, up_for_retry) carry an attribute no calm state has."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_dashboard(home.settings)
    styles = {state: drawn(app, MONOCHROME_STYLES[state], background) for state in STATES}
    low = {s: round(ratio(style, ColorSystem.TRUECOLOR), 2) for s, style in styles.items()}
    assert {s: r for s, r in low.items() if r < MINIMUM} == {}
    attention = {"failed", "upstream_failed", "up_for_retry"}
    marks = {s: _emphasis(styles[s]) for s in STATES}
    calm = {marks[s] for s in STATES if s not in attention}
    assert all(marks[s] and marks[s] not in calm for s in attention), marks
    assert len({marks[s] for s in attention}) == len(attention)


def _emphasis(style: Style) -> frozenset[str]:
    return frozenset(a for a in ("bold", "reverse", "underline") if getattr(style, a))


async def test_grid_in_16_colours_at_80x24(home: Home) -> None:
    """The grid's glyphs as a 16-colour terminal gets them: each readable on its cell (the header
    and the cursor were not), failed in red (it was magenta), upstream_failed in yellow."""
    write_pinned_store(home)
    app = make_dashboard(home.settings)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = await _open_grid(pilot)
        seen: dict[str, set[int]] = {}
        glyph_states = {mark: state for state, mark in GLYPHS.items()}
        for line in grid.render_lines(grid.region.reset_offset):
            for text, style, _ in line:
                state = glyph_states.get(text.strip())
                if state is None or style is None or style.color is None:
                    continue
                assert ratio(style, ColorSystem.STANDARD) >= MINIMUM, (state, style)
                number = style.color.downgrade(ColorSystem.STANDARD).number
                seen.setdefault(state, set()).add(number or 0)
    # the header's run states and the cells, bar the cursor's, which is white on blue
    assert seen["failed"] - {15} == {9}  # bright red
    assert seen["upstream_failed"] - {15} == {3}  # yellow
    assert seen["success"] - {15} == {2}  # green


async def _open_grid(pilot: Pilot[Any]) -> RunGrid:
    screen = DagScreen("sales_etl")
    await pilot.app.push_screen(screen)
    for _ in range(100):
        if screen.data is not None and screen.run_grid.selected():
            break
        await pilot.pause(0.05)
    await pilot.pause(0.1)
    return screen.run_grid
