"""The DAG screen's run details: the run under the grid's cursor (dates, type, conf, the dataset
updates that triggered it) and its task instance there (state, try, time taken, SLA; a group's
state; a mapped task's instances), narrow enough for the side panel at 80 columns."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from flowtui.store import reads
from flowtui.tui.format import format_duration, format_elapsed, format_timestamp
from flowtui.tui.widgets.state_badge import badge, tally
from flowtui.tui.widgets.task_groups import group_of
from flowtui.tui.widgets.text_panel import TextPanel


class RunDetails(TextPanel):
    """The run and the task instance under the grid's cursor."""

    def show_cell(
        self, run: dict[str, Any] | None, task_id: str | None, ti: dict[str, Any] | None
    ) -> None:
        """Describe `run` and `ti`, the task instance of `task_id` in it (None: it has none;
        for a group's row, its state and how many tasks it has)."""
        self.show(_text(run, task_id, ti))


def _text(run: dict[str, Any] | None, task_id: str | None, ti: dict[str, Any] | None) -> Text:
    """The run under the cursor, then its task instance under the cursor; narrow enough for
    the side panel at 80 columns."""
    if run is None:
        return Text("no runs yet: t triggers one", style="dim")
    text = Text(run["run_id"], style="bold", overflow="fold")
    text.append("\n")
    text.append_text(badge(run["state"]))
    text.append(f"  {run.get('run_type') or ''}\n", style="dim")
    rows = [
        ("logical", format_timestamp(run["logical_date"])),
        ("interval", format_timestamp(run.get("data_interval_start"))),
        ("", f"→ {format_timestamp(run.get('data_interval_end'))}"),
        ("started", format_timestamp(run.get("start_date")) or "not yet"),
        ("took", _took(run.get("start_date"), run.get("end_date"))),
        ("conf", json.dumps(run.get("conf") or {})),
    ]
    for update in reads.triggering_updates(run.get("triggered_by")):
        rows.append(("updated", f"{update.uri} by {update.dag_id}.{update.task_id}"))
    for name, value in rows:
        text.append(f"{name:<9}", style="dim")
        text.append(f"{value}\n")
    group_id = group_of(task_id or "")
    if group_id is not None and ti is not None:
        text.append(f"group {group_id} ", style="bold")
        text.append_text(badge(ti["state"]))
        text.append(f"  {ti['tasks']} tasks", style="dim")
    elif task_id is not None:
        text.append(f"{task_id} ", style="bold")
        if ti is None:
            text.append("has no task instance in this run", style="dim")
        elif ti.get("mapped"):
            text.append_text(badge(ti["state"]))
            text.append(f"\n{len(ti['mapped'])} mapped  ", style="dim")
            text.append_text(tally(ti["mapped"]))
            text.append("  enter lists them", style="dim")
        else:
            text.append_text(badge(ti["state"]))
            took = format_duration(ti.get("duration"))
            text.append(f"  try {ti['try_number']}/{ti['max_tries'] + 1}  {took}", style="dim")
            if ti.get("sla_missed"):
                text.append("\n! missed its SLA", style="bold magenta")
    return text


def _took(start: str | None, end: str | None) -> str:
    if not start:
        return "-"
    return format_elapsed(start, end) if end else "running"
