"""The closing table the benchmark commands print: one row per figure, with its value, its
target and whether it was met, and indented detail lines under it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    target: str
    status: str
    detail: str = ""


def figures_table(rows: list[Row]) -> str:
    if not rows:
        return "(nothing measured)"
    width = max(len(row.label) for row in rows)
    value_width = max(len(row.value) for row in rows)
    target_width = max(len("target"), *(len(row.target) for row in rows))
    header = f"{'figure':<{width}}  {'value':>{value_width}}  {'target':>{target_width}}  status"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.label:<{width}}  {row.value:>{value_width}}  "
            f"{row.target:>{target_width}}  {row.status}"
        )
        lines += [f"{'':<6}{line}" for line in row.detail.splitlines()]
    return "\n".join(lines)
