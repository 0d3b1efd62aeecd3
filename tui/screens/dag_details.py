"""A DAG's details, as Airflow's DAG Details and Docs show them: description, owners, tags,
schedule, start, catchup, limits, params, file, and its `doc_md` rendered as Markdown; `s`
opens the file's source."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from flowtui.spec import DagSpec
from flowtui.store.summaries import dag_header
from flowtui.tui.format import format_timestamp, schedule_text
from flowtui.tui.screens.base import LiveScreen, SpecCache
from flowtui.tui.screens.source import SourceScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter

NO_DOC = "*This DAG has no `doc_md`.*"


class DagDetails(NamedTuple):
    """What the screen shows (read on the live thread)."""

    dag: dict[str, Any]
    spec: DagSpec


class DagDetailsScreen(LiveScreen):
    """One DAG's settings and documentation; scrolls as one page."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "source", "Source"),
        Binding("j", "scroll('scroll_down')", "Down", show=False),
        Binding("k", "scroll('scroll_up')", "Up", show=False),
    ]

    def __init__(self, dag_id: str) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.details: DagDetails | None = None
        self._spec = SpecCache()
        self._doc: str | None = None

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(Text(f" {self.dag_id} ", style="bold reverse"), id="details-title")
        with VerticalScroll(id="details-view"):
            yield Static(id="dag-facts")
            yield Markdown(id="dag-doc")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#details-view").focus()

    def load(self, conn: sqlite3.Connection) -> DagDetails | None:
        dag = dag_header(conn, self.dag_id)
        return None if dag is None else DagDetails(dag, self._spec.parse(dag.pop("spec")))

    def show(self, data: DagDetails | None) -> None:
        self.details = data
        facts = self.query_one("#dag-facts", Static)
        if data is None:
            facts.update(Text(f"DAG {self.dag_id} is not in the store (any more)"))
            return
        facts.update(facts_text(data.dag, data.spec))
        doc = data.spec.doc_md or NO_DOC
        if doc != self._doc:  # parsing Markdown again on every refresh would be wasted work
            self._doc = doc
            self.query_one("#dag-doc", Markdown).update(doc)

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one("#details-view", VerticalScroll), f"action_{how}")()

    def action_source(self) -> None:
        if self.details is not None:
            self.app.push_screen(SourceScreen(self.details.dag["fileloc"]))


def facts_text(dag: dict[str, Any], spec: DagSpec) -> Text:
    """The DAG's settings, one per line, names in a column."""
    owners = sorted({task.owner for task in spec.tasks.values()}) or ["-"]
    rows = [
        ("description", spec.description or "-"),
        ("owner", ", ".join(owners)),
        ("tags", ", ".join(spec.tags) or "-"),
        ("schedule", schedule_text(dag["schedule"])),
        ("paused", "yes" if dag["is_paused"] else "no"),
        ("start", format_timestamp(spec.start_date) or "-"),
        ("next run", format_timestamp(dag.get("next_run_at")) or "-"),
        ("catchup", "yes" if spec.catchup else "no"),
        ("max runs", f"{spec.max_active_runs} active, {spec.max_active_tasks} tasks at once"),
        ("tasks", str(len(spec.tasks))),
        ("params", json.dumps(spec.params) if spec.params else "-"),
        ("file", dag["fileloc"]),
        ("parsed", format_timestamp(dag.get("last_parsed")) or "-"),
    ]
    text = Text()
    for name, value in rows:
        text.append(f"{name:<12}", style="dim")
        text.append(f"{value}\n")
    return text
