"""`KeyFooter`: Textual's footer fitted to the terminal's width (issue 13, point 2). Textual's
cuts whatever passes the right edge, and at 80 columns that was half of the DAG screen's keys;
this one shows the keys that fit, the screen's essential ones first (its `FOOTER_KEYS`), and
below `WIDE` columns draws them compact with short names. `?` and the palette list them all."""

from __future__ import annotations

from typing import Any, NamedTuple

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported; Footer is made of them

from flowtui.tui.keys import rank

WIDE = 100
"""Columns from which keys are drawn with their padding and full names."""

SHORT = {
    "Pause/unpause": "Pause",
    "Import errors": "Errors",
    "Start scheduler": "Start",
    "Show/hide value": "Show",
    "Filter by date": "Filter",
    "Next failed": "Failed",
    "Prev failed": "Prev",
    "Next match": "Next",
    "Prev match": "Prev",
}
"""Names shortened below `WIDE` columns."""

PALETTE_WIDTH = {True: 3, False: 13}
"""Columns of the palette's key on the right (its left border included): compact, its key
alone (`^p`), named too when the other keys leave room; wide, `^p palette`."""


class _Key(NamedTuple):
    """One key the footer draws: what its `FooterKey` is made of."""

    key: str
    display: str
    description: str
    action: str
    disabled: bool
    tooltip: str
    classes: str = ""


class KeyFooter(Footer):
    """The screen's keys that fit on one line: the screen's `FOOTER_KEYS` (actions, most
    needed first) and `?` are placed first, then the screen's other keys, its widgets', the
    app's; they are drawn in the order the screen's bindings come.

    Textual's footer rebuilds its keys whenever the screen's bindings may have changed (every
    focus change, every `refresh_bindings`), and mounting a key restyles it: about a dozen
    rebuilds while the first frame is drawn. This one rebuilds only when the keys it would
    draw differ from those it shows."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[_Key] | None = None
        """The keys drawn now; None until the screen's bindings are known."""

    async def recompose(self) -> None:
        if not self.is_attached or self._pruning:
            return
        if self._bindings_ready and self._keys() == self._shown:
            return
        await super().recompose()

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._shown = keys = self._keys()
        is_compact = self.app.size.width < WIDE
        self.set_reactive(Footer.compact, is_compact)
        self.set_class(is_compact, "-compact")
        for key in keys:
            # the palette's key is drawn compact at every width, as Textual's footer draws it
            compact = is_compact or key.classes == "-command-palette"
            footer_key = FooterKey(
                key.key,
                key.display,
                key.description,
                key.action,
                disabled=key.disabled,
                tooltip=key.tooltip,
                classes=f"{key.classes} -compact" if compact else key.classes,
            )
            # Set before mounting, so that mounting restyles the key once (its watcher sets
            # the class it already has); Textual's binds it to the footer's `compact`.
            footer_key.set_reactive(FooterKey.compact, compact)
            yield footer_key

    def _keys(self) -> list[_Key]:
        """The keys to draw at the app's width, in the screen's order."""
        width = self.app.size.width
        is_compact = width < WIDE
        screen = self.screen
        shown: dict[str, tuple[Any, Binding, bool, str]] = {}
        for active in screen.active_bindings.values():
            if active.binding.show and active.binding.action not in shown:
                shown[active.binding.action] = active
        first = (*getattr(screen, "FOOTER_KEYS", ()), "help")

        def priority(action: str) -> tuple[int, int]:
            if action in first:
                return (0, first.index(action))
            node, binding = shown[action][0], shown[action][1]
            return (1 + rank(screen, node, binding), 0)

        room = width - PALETTE_WIDTH[is_compact]
        kept: set[str] = set()
        for action in sorted(shown, key=priority):
            cost = self._width(shown[action][1], is_compact)
            if cost <= room:
                kept.add(action)
                room -= cost
        get_key_display = self.app.get_key_display
        keys = [
            _Key(
                binding.key,
                get_key_display(binding),
                self._description(binding, is_compact),
                binding.action,
                not enabled,
                tooltip,
            )
            for action, (_node, binding, enabled, tooltip) in shown.items()
            if action in kept
        ]
        palette = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if self.app.ENABLE_COMMAND_PALETTE and palette is not None:
            binding = palette.binding
            description = binding.description
            keys.append(
                _Key(
                    binding.key,
                    get_key_display(binding),
                    "" if is_compact and room <= cell_len(description) else description,
                    binding.action,
                    not palette.enabled,
                    binding.tooltip or description,
                    "-command-palette",
                )
            )
        return keys

    def on_resize(self, event: Resize) -> None:
        if self._shown is not None:
            self.call_after_refresh(self.recompose)

    def _description(self, binding: Binding, is_compact: bool) -> str:
        return (
            SHORT.get(binding.description, binding.description)
            if is_compact
            else (binding.description)
        )

    def _width(self, binding: Binding, is_compact: bool) -> int:
        """Columns a key takes: compact, `key name` and a margin; wide, ` key ` and `name `."""
        key = cell_len(self.app.get_key_display(binding))
        name = cell_len(self._description(binding, is_compact))
        return key + (1 + name if name else 0) + 1 if is_compact else key + 2 + name + 1
