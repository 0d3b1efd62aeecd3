"""One DAG: the grid of its recent runs by tasks (or its graph, `g`), the details and timeline of
the run under the cursor, and the keys that act on it (trigger, pause) and on the task instance
under the cursor (open, log, clear, retry, mark). The widgets draw; this screen reads the store
on the live thread and decides what each widget shows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher

from flowtui.clock import utcnow
from flowtui.spec import DagSpec
from flowtui.store.summaries import dag_header
from flowtui.tui.format import schedule_text
from flowtui.tui.messages import RefreshRequested
from flowtui.tui.screens.base import SpecCache
from flowtui.tui.screens.grid_reader import GridColumns, GridReader, GridRows
from flowtui.tui.screens.mapped_instances import MappedInstancesScreen
from flowtui.tui.screens.runs import RunsScreen
from flowtui.tui.screens.source import SourceScreen
from flowtui.tui.screens.task_actions import RunActionsScreen, SelectedRun, SelectedTaskInstance
from flowtui.tui.screens.task_history import TaskHistoryScreen
from flowtui.tui.screens.task_instance import TaskInstanceScreen
from flowtui.tui.widgets.duration_sparklines import WIDTH as SPARK_WIDTH
from flowtui.tui.widgets.graph_view import GraphView
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.run_details import RunDetails
from flowtui.tui.widgets.run_grid import RunGrid, runs_that_fit
from flowtui.tui.widgets.task_groups import group_of, group_state
from flowtui.tui.widgets.text_panel import TextPanel
from flowtui.tui.widgets.timeline import Timeline

NEEDS_ATTENTION = ("failed", "upstream_failed", "up_for_retry")
"""States the cursor starts on, in the latest run, so that a fix is one key away."""

NARROW = 80
"""Columns below which the side panel (run details, timeline) is hidden."""

SIDE = (0.4, 34, 72)
"""The side panel's width: its share of the screen, least and most (app.tcss, #dag-side)."""

FAILED = ("failed", "up_for_retry")
"""States of the cells `]f` / `[f` jump to (an upstream_failed cell is a consequence)."""


@dataclass(frozen=True)
class DagScreenData:
    """One consistent read of everything the screen shows (built on the live thread)."""

    dag: dict[str, Any]
    spec: DagSpec
    runs: list[dict[str, Any]]
    """Oldest first."""
    cells: dict[str, dict[str, dict[str, Any]]]
    """run_id -> task_id -> task instance."""
    task_ids: list[str]
    """The grid's rows: the spec's tasks in order, then tasks the DAG no longer has that have
    task instances in these runs (Airflow's removed)."""
    recent: int
    """How many runs were asked for (fewer came: there are no more)."""
    attempts_run_id: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)


class DagScreen(RunActionsScreen):
    """A DAG's runs by tasks; enter opens the task instance under the cursor."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "open_task(True)", "Log"),
        Binding("g", "toggle_graph", "Graph"),
        Binding("t", "trigger", "Trigger"),
        Binding("p", "pause", "Pause/unpause"),
        Binding("enter", "open_task", "Open"),
        Binding("right_square_bracket", "jump_prefix(1)", "Next failed", key_display="]f"),
        Binding("left_square_bracket", "jump_prefix(-1)", "Prev failed", key_display="[f"),
        Binding("i", "details", "DAG details", show=False),
        Binding("s", "source", "DAG source", show=False),
        Binding("h", "history", "Task history", show=False),
        Binding("a", "all_runs", "All runs", show=False),
    ]
    FOOTER_KEYS = (
        "select_cursor",  # the grid's enter; the graph's is the screen's open_task
        "open_task",
        "open_task(True)",
        "retry_task",
        "clear_task",
        "mark_task",
        "jump_prefix(1)",
        "toggle_graph",
        "app.pop_screen",
    )

    def __init__(self, dag_id: str) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.data: DagScreenData | None = None
        """The last read; None until the first one arrives or when the DAG is gone."""
        self._recent = 2 * SPARK_WIDTH
        """How many runs `load` reads: those that fit, and enough for the sparklines."""
        self._grid_width = 0
        """The grid's width as `show` last saw it (before that, what it will be, as the CSS
        says): the first read brings as many runs as fit in it."""
        self._first_fit = 0
        """Live thread only: how many runs fitted at the first read (see `load`)."""
        self._run_id: str | None = None
        """The run under the cursor, read by `load` (live thread) for the timeline."""
        self._placed = False
        self._spec = SpecCache()
        self._reader = GridReader(dag_id)
        """Live thread only: the grid as last read, so that a refresh reads what changed."""
        self._columns = GridColumns()
        self._rows: GridRows | None = None
        self._jump_step = 0
        """`]` or `[` was pressed (1 or -1): an `f` next jumps to a failed cell."""

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield TextPanel(id="dag-title")
        with Horizontal(id="dag-body"):
            with ContentSwitcher(id="dag-views", initial="run-grid"):
                yield RunGrid(id="run-grid")
                yield GraphView(id="graph")
            with Vertical(id="dag-side"):
                yield RunDetails(id="run-details")
                yield Timeline(id="timeline")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title_panel.show(Text(f" {self.dag_id}", style="bold"))
        self.run_grid.focus()
        self._grid_width = _grid_width(self.app.size.width)

    def on_resize(self) -> None:
        # Below 80 columns the grid keeps the width: the details and timeline step aside.
        self.query_one("#dag-side").display = self.size.width >= NARROW
        self.call_after_refresh(self._refit)

    @property
    def run_grid(self) -> RunGrid:
        return self.query_one("#run-grid", RunGrid)

    @property
    def title_panel(self) -> TextPanel:
        return self.query_one("#dag-title", TextPanel)

    @property
    def details_panel(self) -> RunDetails:
        return self.query_one("#run-details", RunDetails)

    @property
    def graph_view(self) -> GraphView:
        return self.query_one("#graph", GraphView)

    @property
    def timeline(self) -> Timeline:
        return self.query_one("#timeline", Timeline)

    @property
    def is_graph_shown(self) -> bool:
        return self.query_one("#dag-views", ContentSwitcher).current == "graph"

    # --- data: `load` on the live thread, `show` on the UI thread ---

    def load(self, conn: sqlite3.Connection) -> DagScreenData | None:
        dag = dag_header(conn, self.dag_id)
        if dag is None:
            return None
        spec = self._spec.parse(dag.pop("spec"))
        if not self._first_fit:
            # As many runs as fit from the first read on: a second read with more of them
            # built the grid twice as the screen opened (~100 ms each on a 200-task DAG,
            # issue 13). `show` still asks for more when more fit (a wider screen).
            shown = GridRows.of(spec, list(spec.tasks)).shown
            self._first_fit = runs_that_fit(shown, self._grid_width)
        recent = max(self._recent, self._first_fit)
        grid = self._reader.read(conn, recent, self._run_id)
        return DagScreenData(
            dag,
            spec,
            grid.runs,
            grid.cells,
            _task_ids(spec, grid.cells),
            recent,
            grid.attempts_run_id,
            grid.attempts,
            utcnow(),
        )

    def show(self, data: DagScreenData | None) -> None:
        if data is None:
            self.data = None
            self.title_panel.show(
                Text(f" DAG {self.dag_id} is not in the store (any more); esc goes back")
            )
            return
        was_on_newest = (
            self.data is not None
            and bool(self.data.runs)
            and (self._run_id == self.data.runs[-1]["run_id"])
        )
        self.data = data
        grid = self.run_grid
        rows = self._rows
        if rows is None or rows.spec is not data.spec or rows.task_ids != data.task_ids:
            rows = self._rows = GridRows.of(data.spec, data.task_ids)
        self._grid_width = grid.size.width or _grid_width(self.app.size.width)
        visible = runs_that_fit(rows.shown, self._grid_width)
        grid.set_data(
            self._columns.grid_data(
                data.runs,
                data.cells,
                data.task_ids,
                rows.sensing,
                visible,
                rows.names,
                rows.groups,
            )
        )
        newest = data.runs[-1]["run_id"] if data.runs else None
        if newest is not None and not self._placed:
            self._placed = True
            grid.select(newest, _first_to_fix(data.task_ids, data.cells[newest]))
        elif newest is not None and was_on_newest and newest != self._run_id:
            grid.select(newest, None)  # follow new runs, as `tail -f` does
        self._refresh_panels()
        self._recent = max(self._recent, data.recent)
        if len(data.runs) == data.recent and visible > data.recent:
            self._recent = visible
            self.post_message(RefreshRequested())

    def _refit(self) -> None:
        if self.data is not None:
            self.show(self.data)

    def _refresh_panels(self) -> None:
        """Title, run details, graph and timeline for the cell under the cursor."""
        data = self.data
        if data is None:
            return
        selected = self.run_grid.selected()
        run_id, task_id = selected if selected else (None, None)
        if run_id != self._run_id:
            self._run_id = run_id
            if run_id != data.attempts_run_id:
                self.post_message(RefreshRequested())  # the timeline needs this run's attempts
        self.title_panel.show(_title(data, len(self.run_grid.marked)))
        run = next((r for r in data.runs if r["run_id"] == run_id), None)
        cells = data.cells.get(run_id or "", {})
        ti = cells.get(task_id or "")
        group_id = group_of(task_id or "")
        if group_id is not None:
            tasks = self.run_grid.tasks_of(task_id or "")
            in_run = [cells[t]["state"] for t in tasks if t in cells]
            ti = {"state": group_state(in_run) or "none", "tasks": len(tasks)}
        self.details_panel.show_cell(run, task_id, ti)
        if self.is_graph_shown:
            states = {t: i["state"] for t, i in data.cells.get(run_id or "", {}).items()}
            self.graph_view.show_graph(data.spec, states, task_id)
        attempts = data.attempts if data.attempts_run_id == run_id else None
        self.timeline.show_attempts(run_id, attempts, task_id, data.now)

    # --- the widgets' messages ---

    @on(RunGrid.CellMoved)
    def _cell_moved(self) -> None:
        self._refresh_panels()

    @on(RunGrid.MarksChanged)
    def _marks_changed(self) -> None:
        if self.data is not None:
            self.title_panel.show(_title(self.data, len(self.run_grid.marked)))

    @on(RunGrid.TaskChosen)
    def _task_chosen(self) -> None:
        self.action_open_task()

    @on(GraphView.TaskPicked)
    def _task_picked(self, message: GraphView.TaskPicked) -> None:
        self.run_grid.select(None, message.task_id)

    @on(GraphView.RunStepped)
    def _run_stepped(self, message: GraphView.RunStepped) -> None:
        grid = self.run_grid
        grid.move_cursor(column=grid.cursor_column + message.delta, animate=False)

    # --- keys ---

    def on_key(self, event: events.Key) -> None:
        """The second key of `]f` / `[f` (Textual binds single keys; the first one set
        `_jump_step`); any other key ends the sequence."""
        step, self._jump_step = self._jump_step, 0
        if step and event.key == "f":
            event.stop()
            event.prevent_default()
            if not self.run_grid.jump(FAILED, step):
                self.notify("no failed task instance in the runs shown", timeout=3)

    def action_jump_prefix(self, step: int) -> None:
        self._jump_step = step

    def selected_task_instance(self) -> SelectedTaskInstance | None:
        selected, data = self.run_grid.selected(), self.data
        if selected is None or data is None or group_of(selected[1]) is not None:
            return None
        return _selected(self.dag_id, data, *selected)

    def group_task_instances(self) -> tuple[str, list[SelectedTaskInstance]] | None:
        selected, data = self.run_grid.selected(), self.data
        group_id = group_of(selected[1]) if selected else None
        if selected is None or data is None or group_id is None:
            return None
        run_id, cells = selected[0], data.cells.get(selected[0], {})
        tasks = [t for t in self.run_grid.tasks_of(selected[1]) if t in cells]
        return group_id, [_selected(self.dag_id, data, run_id, t) for t in tasks]

    def marked_task_instances(self) -> list[SelectedTaskInstance]:
        data = self.data
        if data is None:
            return []
        return [
            _selected(self.dag_id, data, run_id, task_id)
            for run_id, task_id in self.run_grid.marked
        ]

    def marks_done(self) -> None:
        self.run_grid.clear_marks()

    def selected_run(self) -> SelectedRun | None:
        selected, data = self.run_grid.selected(), self.data
        if selected is None or data is None:
            return None
        cells = data.cells.get(selected[0], {})
        return SelectedRun(self.dag_id, selected[0], {t: ti["state"] for t, ti in cells.items()})

    def clear_markers(self) -> dict[str, tuple[str, str]]:
        return self.data.spec.markers() if self.data is not None else {}

    def action_details(self) -> None:
        # Imported on first use: Markdown (markdown-it) would add ~70 ms to the first frame.
        from flowtui.tui.screens.dag_details import DagDetailsScreen

        self.app.push_screen(DagDetailsScreen(self.dag_id))

    def action_source(self) -> None:
        if self.data is not None:
            self.app.push_screen(SourceScreen(self.data.dag["fileloc"]))

    def action_history(self) -> None:
        selected = self.run_grid.selected()
        if selected is not None and not self._is_on_group():
            self.app.push_screen(TaskHistoryScreen(self.dag_id, selected[1]))

    def action_all_runs(self) -> None:
        self.app.push_screen(RunsScreen(self.dag_id))

    def action_open_task(self, focus_log: bool = False) -> None:
        """The task instance under the cursor; an expanded mapped task's list of instances."""
        ti = self.selected_task_instance()
        if ti is None:
            self._is_on_group()
        elif ti.mapped:
            self.app.push_screen(MappedInstancesScreen(ti.dag_id, ti.run_id, ti.task_id))
        else:
            screen = TaskInstanceScreen(ti.dag_id, ti.run_id, ti.task_id, focus_log=focus_log)
            self.app.push_screen(screen)

    def _is_on_group(self) -> bool:
        """Whether the cursor is on a group row (said in a toast: the key wants a task)."""
        selected = self.run_grid.selected()
        if selected is None or group_of(selected[1]) is None:
            return False
        self.notify(
            f"group {group_of(selected[1])}: z or enter folds it; c, m, r act on its tasks",
            timeout=3,
        )
        return True

    def action_toggle_graph(self) -> None:
        switcher = self.query_one("#dag-views", ContentSwitcher)
        switcher.current = "run-grid" if self.is_graph_shown else "graph"
        (self.graph_view if self.is_graph_shown else self.run_grid).focus()
        self._refresh_panels()

    def action_trigger(self) -> None:
        if self.data is not None:
            self.trigger_dag(self.dag_id, self.data.spec.params)

    def action_pause(self) -> None:
        if self.data is not None:
            self.set_paused(self.dag_id, not self.data.dag["is_paused"])


def _task_ids(spec: DagSpec, cells: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """`DagScreenData.task_ids` (live thread: this walks every cell read)."""
    task_ids = list(spec.tasks)
    known = set(task_ids)
    for run_cells in cells.values():
        task_ids += [t for t in run_cells if t not in known]
        known.update(run_cells)
    return task_ids


def _grid_width(screen_width: int) -> int:
    """The grid's width on a screen `screen_width` wide, before it is laid out."""
    if screen_width < NARROW:
        return screen_width
    share, least, most = SIDE
    return screen_width - min(max(int(screen_width * share), least), most)


def _first_to_fix(task_ids: list[str], cells: dict[str, dict[str, Any]]) -> str | None:
    for task_id in task_ids:
        if cells.get(task_id, {}).get("state") in NEEDS_ATTENTION:
            return task_id
    return task_ids[0] if task_ids else None


def _selected(dag_id: str, data: DagScreenData, run_id: str, task_id: str) -> SelectedTaskInstance:
    cells = data.cells.get(run_id, {})
    return SelectedTaskInstance(
        dag_id,
        run_id,
        task_id,
        cells.get(task_id, {}).get("state", "none"),
        downstream=data.spec.relatives([task_id], "downstream"),
        upstream=data.spec.relatives([task_id], "upstream"),
        states={t: ti["state"] for t, ti in cells.items()},
        mapped=len(cells.get(task_id, {}).get("mapped", ())),
    )


def _title(data: DagScreenData, marked: int = 0) -> Text:
    dag = data.dag
    text = Text(f" {data.spec.display_name or dag['dag_id']}", style="bold")
    if data.spec.display_name:
        text.append(f" ({dag['dag_id']})", style="dim")
    text.append(f"  schedule {schedule_text(dag['schedule'])}", style="dim")
    if dag["is_paused"]:
        text.append("  ⏸ paused", style="yellow")
    text.append(f"  {len(data.spec.tasks)} tasks  {len(data.runs)} recent runs", style="dim")
    if marked:
        text.append(f"  {marked} selected (c, m act on them)", style="bold")
    return text
