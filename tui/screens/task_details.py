"""What Airflow's task-instance views show beside the log, one tab each: its XComs (key and
value as pretty JSON), its templated fields as a try rendered them (`[` / `]` other try), and
the task's `doc_md` as Markdown. Everything scrolls."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, NamedTuple

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static, TabbedContent, TabPane

from flowtui.states import instance_name
from flowtui.store import reads
from flowtui.store.details import xcoms
from flowtui.store.summaries import dag_header
from flowtui.tui.format import format_timestamp
from flowtui.tui.screens.base import LiveScreen, SpecCache
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter

TABS = {"xcom": "XCom", "rendered": "Rendered", "doc": "Doc"}
"""Tab id -> its label."""

BASH_FIELDS = ("bash_command",)
"""Fields drawn as shell code."""


class TaskDetails(NamedTuple):
    """One read (live thread): the XCom rows, each try's rendered fields (try -> JSON text or
    None), the task's doc_md (None: the task has none, "": the DAG no longer has the task)."""

    xcoms: list[dict[str, Any]]
    rendered: dict[int, str | None]
    doc_md: str | None


class TaskDetailsScreen(LiveScreen):
    """XCom, rendered fields and doc of one task instance, in tabs."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("x", "tab('xcom')", "XCom"),
        Binding("t", "tab('rendered')", "Rendered"),
        Binding("d", "tab('doc')", "Doc"),
        Binding("left_square_bracket", "other_try(-1)", "Prev try"),
        Binding("right_square_bracket", "other_try(1)", "Next try"),
        Binding("j", "scroll('scroll_down')", "Down", show=False),
        Binding("k", "scroll('scroll_up')", "Up", show=False),
    ]

    def __init__(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        tab: str,
        try_number: int | None = None,
        map_index: int = -1,
    ) -> None:
        super().__init__()
        self.dag_id, self.run_id, self.task_id = dag_id, run_id, task_id
        self.map_index = map_index
        """Which instance of a mapped task; -1 for an unmapped task."""
        self.tab = tab
        self.try_number = try_number
        """The try whose rendered fields show; None: the latest."""
        self.details: TaskDetails | None = None
        self._spec = SpecCache()
        self._doc: str | None = None

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        title = Text(f" {self.dag_id} / {self.run_id} / ", style="dim")
        title.append(instance_name(self.task_id, self.map_index), style="bold")
        yield Static(title, id="details-title")
        with TabbedContent(initial=self.tab, id="task-details"):
            for tab, label in TABS.items():
                with TabPane(label, id=tab), VerticalScroll(id=f"{tab}-view"):
                    yield Markdown(id="doc-text") if tab == "doc" else Static(id=f"{tab}-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(f"#{self.tab}-view").focus()

    def load(self, conn: sqlite3.Connection) -> TaskDetails:
        key = (self.dag_id, self.run_id, self.task_id, self.map_index)
        rendered = {a["try_number"]: a["rendered"] for a in reads.attempts(conn, *key)}
        dag = dag_header(conn, self.dag_id)
        task = self._spec.parse(dag["spec"]).tasks.get(self.task_id) if dag else None
        return TaskDetails(xcoms(conn, *key), rendered, "" if task is None else task.doc_md)

    def show(self, data: TaskDetails) -> None:
        self.details = data
        self.query_one("#xcom-text", Static).update(xcom_view(data.xcoms))
        self.query_one("#rendered-text", Static).update(self._rendered_view(data.rendered))
        doc = data.doc_md or ("*This task has no `doc_md`.*" if data.doc_md is None else "")
        doc = doc or "*The DAG no longer has this task.*"
        if doc != self._doc:
            self._doc = doc
            self.query_one("#doc-text", Markdown).update(doc)

    def _rendered_view(self, tries: dict[int, str | None]) -> RenderableType:
        if not tries:
            return Text("no attempt ran yet: fields are rendered when one starts", style="dim")
        shown = self.try_number if self.try_number in tries else max(tries)
        head = Text(f"try {shown} of {max(tries)}", style="bold")
        if len(tries) > 1:
            head.append("   [ ] other try", style="dim")
        text = tries[shown]
        if text is None:
            return Group(head, Text("nothing rendered in this try (or an older flowtui ran it)"))
        return Group(head, *rendered_view(json.loads(text)))

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(f"#{tab}-view").focus()

    def action_other_try(self, step: int) -> None:
        if self.details is None or not self.details.rendered:
            return
        tries = sorted(self.details.rendered)
        current = self.try_number if self.try_number in tries else tries[-1]
        self.try_number = tries[max(0, min(len(tries) - 1, tries.index(current) + step))]
        self.action_tab("rendered")
        self.show(self.details)

    def action_scroll(self, how: str) -> None:
        active = self.query_one(TabbedContent).active or self.tab
        getattr(self.query_one(f"#{active}-view", VerticalScroll), f"action_{how}")()


def xcom_view(rows: list[dict[str, Any]]) -> RenderableType:
    """Each XCom: its key, when it was pushed, and its value as pretty JSON."""
    if not rows:
        return Text("no XCom: the task pushed nothing (or has not run)", style="dim")
    parts: list[RenderableType] = []
    for row in rows:
        head = Text(row["key"], style="bold")
        head.append(f"  {format_timestamp(row['timestamp'], year=False)}", style="dim")
        parts += [head, JSON(row["value"], indent=2), Text("")]
    return Group(*parts)


def rendered_view(fields: dict[str, Any]) -> list[RenderableType]:
    """Each field: its name, then its value (shell code, plain text, or pretty JSON)."""
    parts: list[RenderableType] = []
    for name, value in fields.items():
        parts.append(Text(name, style="bold"))
        if isinstance(value, str) and name in BASH_FIELDS:
            parts.append(Syntax(value, "bash", theme="ansi_dark", word_wrap=True))
        elif isinstance(value, str):
            parts.append(Text(value))
        else:
            parts.append(JSON(json.dumps(value), indent=2))
        parts.append(Text(""))
    return parts
