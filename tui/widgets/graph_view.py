"""The DAG's dependencies in text, as in Airflow's Graph view: tasks in layers by longest path
from the roots, each with the state glyph of the selected run, and every edge drawn with box
characters from a task to each of its downstream tasks, with the edge's `Label` on it; the
tasks of a task group under a header line with the group's name, indented. Reads the same at 80
columns and with many tasks, since it grows downwards only."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.message import Message
from textual.widgets import Static

from flowtui.spec import DagSpec
from flowtui.tui.widgets.state_badge import glyph
from flowtui.tui.widgets.task_groups import rows, short_name

EDGE = "──▶"
"""The edge marker: every `a ──▶ b` (or `├─▶` / `└─▶` for further downstream tasks) is an edge;
one with a label reads `a ─ label ─▶ b`."""


class GraphView(VerticalScroll, can_focus=True):
    """The DAG as layers of tasks with their downstream edges; one task is highlighted."""

    BINDINGS = [
        Binding("up", "step(-1)", "Move", key_display="↑↓←→ jk"),
        Binding("down", "step(1)", "Down", show=False),
        Binding("k", "step(-1)", "Up", show=False),
        Binding("j", "step(1)", "Down", show=False),
        Binding("left", "run(-1)", "Older run", show=False),
        Binding("right", "run(1)", "Newer run", show=False),
    ]

    class TaskPicked(Message):
        """The user moved to another task in the graph."""

        def __init__(self, graph: GraphView, task_id: str) -> None:
            super().__init__()
            self.graph, self.task_id = graph, task_id

        @property
        def control(self) -> GraphView:
            return self.graph

    class RunStepped(Message):
        """The user asked for an older (-1) or newer (+1) run."""

        def __init__(self, graph: GraphView, delta: int) -> None:
            super().__init__()
            self.graph, self.delta = graph, delta

        @property
        def control(self) -> GraphView:
            return self.graph

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._order: list[str] = []
        self._selected: str | None = None
        self.text = Text()
        """What the graph shows now, as plain rich text."""

    def compose(self) -> ComposeResult:
        yield Static(id="graph-text")

    def action_step(self, delta: int) -> None:
        if not self._order:
            return
        index = self._order.index(self._selected) if self._selected in self._order else -delta
        index = max(0, min(len(self._order) - 1, index + delta))
        self.post_message(self.TaskPicked(self, self._order[index]))

    def action_run(self, delta: int) -> None:
        self.post_message(self.RunStepped(self, delta))

    def show_graph(self, spec: DagSpec, states: Mapping[str, str], selected: str | None) -> None:
        """Draw `spec` with the task states of one run, task `selected` highlighted."""
        width = self.scrollable_content_region.width or None
        text, lines = render_graph(spec, states, selected, width)
        title = Text("graph", style="bold")
        title.append("  states of the run under the cursor; ←→ older/newer", style="dim")
        self.text = Text("\n").join([title, text])
        self.query_one("#graph-text", Static).update(self.text)
        self._order = [t for layer in layers(spec) for t in layer]
        self._selected = selected
        if selected in lines:
            y = lines[selected] + 1  # + the title line
            self.call_after_refresh(self.scroll_to_region, Region(0, y, 1, 1), animate=False)


def layers(spec: DagSpec) -> list[list[str]]:
    """Task ids by layer: a task's layer is its longest path from a root; within one, the tasks
    of a group together, in DAG order otherwise."""
    depth: dict[str, int] = {}
    waiting = {
        t.task_id: len([u for u in t.upstream if u in spec.tasks]) for t in spec.tasks.values()
    }
    ready = [task_id for task_id, count in waiting.items() if count == 0]
    while ready:
        task_id = ready.pop()
        task = spec.tasks[task_id]
        depth[task_id] = max((depth[u] + 1 for u in task.upstream if u in depth), default=0)
        for down in task.downstream:
            if down in waiting:
                waiting[down] -= 1
                if waiting[down] == 0:
                    ready.append(down)
    # a cycle cannot load, but a spec from an older flowtui might hold one: show it last
    bottom = max(depth.values(), default=-1) + 1
    result: list[list[str]] = [[] for _ in range(bottom + 1)]
    groups = {t: task.task_groups for t, task in spec.tasks.items()}
    for row in rows(list(spec.tasks), groups):
        if row.group_id is None:
            result[depth.get(row.key, bottom)].append(row.key)
    return [layer for layer in result if layer]


def render_graph(
    spec: DagSpec,
    states: Mapping[str, str],
    selected: str | None = None,
    width: int | None = None,
) -> tuple[Text, dict[str, int]]:
    """The graph as text, and the line each task is on. A task whose edges do not fit in
    `width` beside it has them on the lines below it instead."""
    lines: list[Text] = []
    where: dict[str, int] = {}
    for number, layer in enumerate(layers(spec), start=1):
        lines.append(Text(f"── layer {number} " + "─" * 20, style="dim"))
        above: tuple[str, ...] = ()
        for task_id in layer:
            groups = spec.tasks[task_id].task_groups
            for depth, group_id in enumerate(groups):
                if above[depth : depth + 1] != (group_id,):  # a group starts: its header
                    parent = groups[depth - 1] if depth else None
                    header = Text("  " * (depth + 1) + "▣ ", style="dim")
                    header.append(short_name(group_id, parent), style="bold")
                    lines.append(header)
                    above = groups[: depth + 1]
            above = groups
            where[task_id] = len(lines)
            lines.extend(_node_lines(spec, task_id, states, task_id == selected, width))
    if not lines:
        lines.append(Text("this DAG has no tasks", style="dim"))
    text = Text("\n").join(lines)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text, where


def _node_lines(
    spec: DagSpec, task_id: str, states: Mapping[str, str], is_selected: bool, width: int | None
) -> list[Text]:
    task = spec.tasks[task_id]
    margin = 2 * (len(task.task_groups) + 1)
    node = Text(" " * margin)
    parent = task.task_groups[-1] if task.task_groups else None
    node.append_text(_label(task_id, states, short_name(task_id, parent)))
    if is_selected:
        node.stylize("reverse", margin)
    downstream = [d for d in task.downstream if d in spec.tasks]
    if not downstream:
        return [node]
    labels = spec.labels.get(task_id, {})
    widest = max(len(d) + len(labels.get(d, "")) for d in downstream) + 2
    if width is not None and node.cell_len + 6 + widest > width:
        return [node] + [  # the edges under the task: narrower
            _edge(" " * (margin + 2), _last(d, downstream), d, states, labels) for d in downstream
        ]
    first = node.copy()
    mark = "─┬─▶" if len(downstream) > 1 else EDGE
    first.append_text(_mark(f" {mark} ", labels.get(downstream[0])))
    first.append_text(_label(downstream[0], states))
    indent = " " * (node.cell_len + 2)  # under the ┬
    return [first] + [
        _edge(indent, _last(d, downstream), d, states, labels) for d in downstream[1:]
    ]


def _last(task_id: str, downstream: list[str]) -> str:
    return "└─▶ " if task_id == downstream[-1] else "├─▶ "


def _mark(mark: str, label: str | None) -> Text:
    """An edge's arrow, with its label on it (`─ label ─▶`) when it has one."""
    if label is None:
        return Text(mark, style="dim")
    arrow = mark.rstrip()
    text = Text(arrow[:-1] + " ", style="dim")
    text.append(label, style="italic")
    text.append(" ─▶" + mark[len(arrow) :], style="dim")
    return text


def _edge(
    indent: str, mark: str, task_id: str, states: Mapping[str, str], labels: Mapping[str, str]
) -> Text:
    line = Text(indent)
    line.append_text(_mark(mark, labels.get(task_id)))
    line.append_text(_label(task_id, states))
    return line


def _label(task_id: str, states: Mapping[str, str], name: str | None = None) -> Text:
    text = glyph(states.get(task_id, "none"))
    text.append(f" {name or task_id}")
    return text
