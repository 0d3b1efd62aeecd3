"""How the command line prints: JSON for `--output json`, aligned tables otherwise, long
values cut to one line. Errors go to stderr elsewhere; stdout stays clean for pipes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def print_json(value: Any) -> int:
    print(json.dumps(value, indent=2))
    return 0


def print_table(
    rows: list[dict[str, Any]],
    columns: list[str],
    formats: dict[str, Callable[[Any], str]] | None = None,
) -> None:
    formats = formats or {}
    cells = [[formats.get(c, _cell)(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def one_line(text: str | None, width: int) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
