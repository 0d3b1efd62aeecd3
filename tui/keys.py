"""How the dashboard names and ranks key bindings, for the help screen (`?`) and the command
palette: flowtui's own bindings (declared by a flowtui class) come before Textual's generic
ones, the screen's before the app's."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen


def is_flowtuis(node: DOMNode, binding: Binding) -> bool:
    """Whether `binding` is declared in the `BINDINGS` of a flowtui class that `node` is (not
    one Textual's widget or App brings along)."""
    for cls in type(node).__mro__:
        if not cls.__module__.startswith("flowtui."):
            continue
        for declared in cls.__dict__.get("BINDINGS", ()):
            if isinstance(declared, Binding):
                keys = declared.key.split(",")
                if binding.key in keys and declared.action == binding.action:
                    return True
    return False


def rank(screen: Screen[Any], node: DOMNode, binding: Binding) -> int:
    """Where a binding active on `screen` comes: 0 the screen's own, 1 its widgets', 2 the
    app's, 3 Textual's generic ones."""
    if not is_flowtuis(node, binding):
        return 3
    if node is screen:
        return 0
    return 2 if node is screen.app else 1


def help_rows(screen: Screen[Any], display: Any) -> list[tuple[str, str]]:
    """(keys, what they do) of every binding active on `screen`: the screen's own actions first,
    then its widgets', then the app's, then Textual's generic ones; keys written as a user
    types them (`[`, `?`, `Esc`) by `display(binding)`, several keys of one action together."""
    ranked: dict[str, tuple[int, list[str]]] = {}
    for active in screen.active_bindings.values():
        node, binding = active.node, active.binding
        name = binding.description or binding.action
        where = rank(screen, node, binding)
        was_rank, keys = ranked.get(name, (where, []))
        key = display(binding)
        if key not in keys:
            keys.append(key)
        ranked[name] = (min(where, was_rank), keys)
    rows = sorted(ranked.items(), key=lambda item: item[1][0])
    return [(", ".join(keys), name) for name, (_, keys) in rows]
