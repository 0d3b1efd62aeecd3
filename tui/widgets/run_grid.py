"""The grid of a DAG's recent runs, as in Airflow's Grid view: one row per task in DAG order, one
column per run (oldest left, newest right, headed by the run's state), each cell the task
instance's state glyph, and a durations sparkline per task. It owns the cursor; the screen
decides which runs and tasks to show. Tasks of a task group are under the group's row, which
shows the group's state in each run; `z` folds or unfolds it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from flowtui.tui.widgets.cell_table import CellTable
from flowtui.tui.widgets.duration_sparklines import WIDTH as SPARK_WIDTH
from flowtui.tui.widgets.duration_sparklines import sparkline
from flowtui.tui.widgets.state_badge import GLYPHS, STYLES, glyph
from flowtui.tui.widgets.task_groups import group_key, group_of, group_state, members, rows

FIXED = 2
"""Columns left of the runs: the task id and its durations."""

RUN_WIDTH = 2
"""Cells per run column: a space, then the glyph."""

SPARK_COLUMN = SPARK_WIDTH + 7
"""Blocks, a space, the latest duration (5), a space."""

NAME_MAX = 28


@dataclass(frozen=True)
class GridData:
    """What the grid shows: rows, columns, cells; plain data built by the screen."""

    task_ids: list[str]
    runs: list[dict[str, Any]]
    """Oldest first: each has at least run_id and state."""
    states: dict[tuple[str, str], str] = field(default_factory=dict)
    """(run_id, task_id) -> state; a missing key is an empty cell (no task instance)."""
    durations: dict[str, list[float | None]] = field(default_factory=dict)
    """task_id -> seconds per recent run, oldest first."""
    sla_missed: frozenset[tuple[str, str]] = frozenset()
    """(run_id, task_id) of the cells that missed their SLA: marked `!`."""
    sensing: frozenset[str] = frozenset()
    """Tasks that are sensors in poke mode: running, they are waiting (shown `⏲`)."""
    names: dict[str, str] = field(default_factory=dict)
    """task_id -> the name its row shows (its display name), for the tasks that have one."""
    changed_runs: frozenset[str] | None = None
    """The runs whose cells may differ from the data shown before (None: any of them)."""
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """task_id -> its task groups, outermost first (`TaskSpec.task_groups`)."""

    @property
    def shape(self) -> tuple[Any, ...]:
        """Rows and columns: while it stays the same, the grid updates cells in place."""
        rows = tuple((self.names.get(t, t), self.groups.get(t, ())) for t in self.task_ids)
        return (tuple(self.task_ids), rows, tuple(r["run_id"] for r in self.runs))

    @property
    def run_states(self) -> dict[str, str]:
        """run_id -> state: each column's header."""
        return {r["run_id"]: r["state"] for r in self.runs}


class _CellMessage(Message):
    """A message about one cell of a `RunGrid`: which run and which task."""

    def __init__(self, grid: RunGrid, run_id: str, task_id: str) -> None:
        super().__init__()
        self.grid, self.run_id, self.task_id = grid, run_id, task_id

    @property
    def control(self) -> RunGrid:
        return self.grid


class RunGrid(CellTable[Text]):
    """Runs by tasks of one DAG, one glyph per task instance; the cursor is on a run column."""

    BINDINGS = [
        Binding("up", "cursor_up", "Move", key_display="↑↓←→ jk"),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("enter", "select_cursor", "Open"),
        Binding("space", "toggle_mark", "Select (c, m act on all)", show=False),
        Binding("z", "fold", "Fold/unfold group", show=False),
        Binding("Z", "fold_all", "Fold/unfold all groups", show=False),
    ]

    class CellMoved(_CellMessage):
        """The cursor is on another task instance (or the one under it changed place)."""

    class TaskChosen(_CellMessage):
        """Enter was pressed on a cell."""

    class MarksChanged(Message):
        """A cell was selected or unselected (`space`), or the selection was cleared."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", cell_padding=0, zebra_stripes=False)
        self.fixed_columns = FIXED
        self._shape: tuple[Any, ...] = ()
        self._run_states: dict[str, str] = {}
        self._states: dict[tuple[str, str], str] = {}
        self._missed: frozenset[tuple[str, str]] = frozenset()
        self._sensing: frozenset[str] = frozenset()
        self._durations: dict[str, list[float | None]] = {}
        self._scale = 0.0
        self._announced: tuple[str, str] | None = None
        self._marked: set[tuple[str, str]] = set()
        """(run_id, task_id) of the cells selected with `space`."""
        self._grid = GridData([], [])
        self._members: dict[str, list[str]] = {}
        """group id -> its tasks (those of its groups too)."""
        self._folded: set[str] = set()
        """The groups whose rows are folded away (kept while the grid lives)."""
        self._cells_made: dict[tuple[str | None, bool, bool], Text] = {}
        """A task instance's cell by (state, SLA missed, sensing), shared by the cells that
        look the same (never changed once made)."""

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        event.stop()
        self._announce()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        selected = self.selected()
        if selected is not None and group_of(selected[1]) is not None:
            self.action_fold()  # enter on a group opens or closes it, as a click in Airflow's
        elif selected is not None:
            self.post_message(self.TaskChosen(self, *selected))

    def validate_cursor_coordinate(self, value: Coordinate) -> Coordinate:
        row, column = super().validate_cursor_coordinate(value)
        if len(self.columns) > FIXED:
            column = max(column, FIXED)  # the name and sparkline columns are not task instances
        return Coordinate(row, column)

    def action_toggle_mark(self) -> None:
        """Select or unselect the cell under the cursor; on a group row, all its tasks'."""
        selected = self.selected()
        if selected is None:
            return
        run_id, row = selected
        keys = {(run_id, t) for t in self.tasks_of(row)}
        self._marked = self._marked - keys if keys <= self._marked else self._marked | keys
        self._show_cells(keys)
        self.post_message(self.MarksChanged())

    def action_fold(self) -> None:
        """Fold the group under the cursor (or the one of the task under it), or unfold it."""
        selected = self.selected()
        if selected is None:
            return
        run_id, row = selected
        group_id = group_of(row) or next(reversed(self._grid.groups.get(row, ())), None)
        if group_id is None:
            self.notify(f"{row} is in no task group; z folds a group", timeout=3)
            return
        self._folded ^= {group_id}
        self._rebuild(self._grid)
        self.select(run_id, group_key(group_id))

    def action_fold_all(self) -> None:
        """Fold every group, or unfold them all when some are folded already."""
        selected = self.selected()
        self._folded = set() if self._folded else set(self._members)
        self._rebuild(self._grid)
        if selected is not None:
            self.select(*selected)

    # --- public ---

    @property
    def marked(self) -> list[tuple[str, str]]:
        """(run_id, task_id) of the selected cells, in the grid's reading order (those in
        folded groups too)."""
        if not self._marked:  # the usual case, asked at each cursor move
            return []
        run_ids = [str(key.value) for key in list(self.columns)[FIXED:]]
        return [(r, t) for r in run_ids for t in self._grid.task_ids if (r, t) in self._marked]

    def tasks_of(self, row: str) -> list[str]:
        """The tasks a row stands for: a group's (DAG order), or the task itself."""
        group_id = group_of(row)
        return [row] if group_id is None else list(self._members.get(group_id, []))

    def clear_marks(self) -> None:
        """Unselect every cell."""
        marked, self._marked = self._marked, set()
        self._show_cells(marked)
        self.post_message(self.MarksChanged())

    def selected(self) -> tuple[str, str] | None:
        """(run_id, task_id) under the cursor, or None when the grid is empty."""
        if len(self.columns) <= FIXED or self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate)
        return str(key.column_key.value), str(key.row_key.value)

    def select(self, run_id: str | None, task_id: str | None) -> None:
        """Put the cursor on a cell (a task in a folded group: on that group's row); an unknown
        run or task keeps that axis where it is."""
        row = column = None
        folded = [g for g in self._grid.groups.get(task_id or "", ()) if g in self._folded]
        if folded:
            task_id = group_key(folded[0])
        if task_id is not None and task_id in self.rows:
            row = self.get_row_index(task_id)
        if run_id is not None and run_id in self.columns:
            column = self.get_column_index(run_id)
        self.move_cursor(row=row, column=column, animate=False)

    def jump(self, states: Sequence[str], step: int) -> bool:
        """Move the cursor to the next (`step` 1) or previous (-1) cell in one of `states`, in
        reading order of the runs (column by column, oldest first; tasks top down), wrapping
        around; False when no cell is in one of them."""
        run_ids = [str(key.value) for key in list(self.columns)[FIXED:]]
        task_ids = [str(key.value) for key in self.rows]
        cells = [(r, t) for r in run_ids for t in task_ids]
        wanted = {i for i, key in enumerate(cells) if self._states.get(key) in states}
        if not wanted:
            return False
        selected = self.selected()
        here = cells.index(selected) if selected in cells else -1
        for offset in range(1, len(cells) + 1):
            index = (here + step * offset) % len(cells)
            if index in wanted:
                self.select(*cells[index])
                return True
        return False

    def set_data(self, data: GridData) -> None:
        """Show `data`; same rows and columns as before updates only the changed cells."""
        if data.shape != self._shape:
            self._rebuild(data)
        else:
            self._relabel(data)
            self._update(data)
        self._announce()

    # --- private ---

    def _rebuild(self, data: GridData) -> None:
        kept = self.selected()
        self.clear(columns=True)
        self._shape, self._states, self._durations = data.shape, dict(data.states), {}
        self._run_states = data.run_states
        self._missed, self._sensing = data.sla_missed, data.sensing
        self._grid, self._members = data, members(data.task_ids, data.groups)
        names = row_names(data.task_ids, data.groups, data.names, self._folded)
        self.add_column(Text("task", style="bold"), width=_name_width(names), key="task")
        self.add_column(Text("durations", style="bold"), width=SPARK_COLUMN, key="durations")
        for run in data.runs:
            self.add_column(_run_cell(run["state"]), width=RUN_WIDTH, key=run["run_id"])
        scale = self._scale = _scale(data.durations)
        for task_id in data.task_ids:
            self._durations[task_id] = list(data.durations.get(task_id, []))
        for row, name in zip(rows(data.task_ids, data.groups, self._folded), names, strict=True):
            label = Text(name, overflow="ellipsis", no_wrap=True)
            if row.group_id is not None:
                label.stylize("bold")
            self.add_row(
                label,
                Text() if row.group_id else sparkline(self._durations[row.key], scale),
                *(self._cell((r["run_id"], row.key)) for r in data.runs),
                key=row.key,
            )
        # clear() left the cursor at (0, 0), on the name column: put it back on a task instance
        self.select(*(kept or (None, None)))

    def _relabel(self, data: GridData) -> None:
        """A run's state changed: its header only (rebuilding a 200-task grid for it took
        hundreds of ms on the UI thread, issue 13, point 9)."""
        states = data.run_states
        changed = [r for r, state in states.items() if self._run_states.get(r) != state]
        self._run_states = states
        for run_id in changed:
            self.relabel(run_id, _run_cell(states[run_id]))

    def _update(self, data: GridData) -> None:
        missed, old_missed, old_states = data.sla_missed, self._missed, self._states
        if data.changed_runs is None:
            keys: Iterable[tuple[str, str]] = data.states.keys() | old_states.keys()
        else:  # only the columns read again: a refresh of a 200-task DAG has thousands of cells
            keys = [(r, t) for r in data.changed_runs for t in data.task_ids]
        changed = [
            key
            for key in keys
            if data.states.get(key) != old_states.get(key) or (key in missed) != (key in old_missed)
        ]
        self._states, self._missed, self._grid = data.states, missed, data
        self._show_cells(changed)
        if data.durations == self._durations:
            return
        scale = _scale(data.durations)
        rescaled = scale != self._scale
        self._scale = scale
        sparklines = []
        for task_id in data.task_ids:
            values = list(data.durations.get(task_id, []))
            if rescaled or values != self._durations.get(task_id):
                # only the rows whose durations changed, unless the common scale moved
                self._durations[task_id] = values
                if task_id in self.rows:  # else in a folded group
                    sparklines.append((task_id, "durations", sparkline(values, scale)))
        self.update_cells(sparklines)

    def _show_cells(self, keys: Iterable[tuple[str, str]]) -> None:
        """Redraw the cells of (run_id, task_id) `keys` and of their groups, those shown."""
        cells = set(keys)
        groups = self._grid.groups
        cells |= {(r, group_key(g)) for r, t in list(cells) for g in groups.get(t, ())}
        self.update_cells(
            (row, run_id, self._cell((run_id, row)))
            for run_id, row in cells
            if run_id in self.columns and row in self.rows
        )

    def _cell(self, key: tuple[str, str]) -> Text:
        """The cell of (run_id, task_id) as the grid's data and selection say; a group's
        shows its state in the run (`group_state`), marked when all its tasks are."""
        group_id = group_of(key[1])
        if group_id is not None:
            keys = [(key[0], t) for t in self._members.get(group_id, [])]
            state = group_state(self._states.get(k) for k in keys)
            is_marked = bool(keys) and all(k in self._marked for k in keys)
            return (Text("•", style="bold") if is_marked else Text(" ")) + glyph(state)
        if key in self._marked:
            return Text("•", style="bold") + glyph(self._states.get(key))
        looks = (self._states.get(key), key in self._missed, key[1] in self._sensing)
        cell = self._cells_made.get(looks)
        if cell is None:  # one Text per look: a 200-task grid has thousands of cells
            cell = self._cells_made[looks] = _run_cell(*looks)
        return cell

    def _announce(self) -> None:
        selected = self.selected()
        if selected is not None and selected != self._announced:
            self._announced = selected
            self.post_message(self.CellMoved(self, *selected))


def row_names(
    task_ids: Sequence[str],
    groups: dict[str, tuple[str, ...]],
    names: dict[str, str],
    folded: Iterable[str] = (),
) -> list[str]:
    """What the name column shows on each row: indented by depth, a group's name after `▾`
    (`▸` when folded), a task's display name or its id without its group's prefix."""
    hidden = set(folded)
    shown = []
    for row in rows(task_ids, groups, hidden):
        indent = "  " * row.depth
        if row.group_id is None:
            shown.append(indent + names.get(row.key, row.label))
        else:
            shown.append(f"{indent}{'▸' if row.group_id in hidden else '▾'} {row.label}")
    return shown


def runs_that_fit(names: Sequence[str], width: int) -> int:
    """How many run columns fit beside the task names (what the rows show) in a grid `width`
    wide (at least 1)."""
    room = width - _name_width(names) - SPARK_COLUMN - 2  # 2: the vertical scrollbar
    return max(1, room // RUN_WIDTH)


def _name_width(names: Sequence[str]) -> int:
    return min(NAME_MAX, max([len("task"), *(len(t) for t in names)])) + 1


def _run_cell(state: str | None, sla_missed: bool = False, sensing: bool = False) -> Text:
    """A space (or `!` for a missed SLA), then the state's glyph (a running poke-mode sensor's
    is the waiting glyph, in the running colour: it waits between pokes)."""
    mark = Text("!", style="bold magenta") if sla_missed else Text(" ")
    if sensing and state == "running":
        return mark + Text(GLYPHS["up_for_reschedule"], style=STYLES["running"])
    return mark + glyph(state)


def _scale(durations: dict[str, list[float | None]]) -> float:
    # filter(None, ...) drops zeros too, which cannot be the largest but when all are
    return max(filter(None, chain.from_iterable(durations.values())), default=0.0)
