"""`CellTable`: a DataTable that draws again only the cells that changed. Textual's DataTable
keys every cell and line it caches on its count of updates, so one `update_cell` made it render
every cell on screen again (a 200-task grid: hundreds of cells, tens of ms on the UI thread for
each refresh that changed one of them, issue 13), and it repainted the whole table. Here a
cell is rendered again only when its value (a new object), its place, width or style changed,
an update repaints the lines of that cell only, and new rows are not measured when every width
and height is set."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

SegmentLines = list[list[Segment]]
Cell = TypeVar("Cell")

CELLS_KEPT = 10_000
"""Rendered cells kept (as many as DataTable keeps)."""


class CellTable(DataTable[Cell]):
    """A DataTable whose cells are drawn again only when they change (see the module)."""

    def __init__(self, **kwargs: Any) -> None:
        self._drawn: LRUCache[tuple[Any, ...], tuple[object, SegmentLines]] = LRUCache(CELLS_KEPT)
        """Rendered cells, by place, style and the identity of the value they show (kept in
        the entry, so that a value's id reused after it is gone is no match). Made first:
        DataTable's __init__ clears the caches."""
        super().__init__(**kwargs)

    def notify_style_update(self) -> None:
        self._drawn.clear()
        super().notify_style_update()

    def _clear_caches(self) -> None:
        # DataTable calls this whenever what its cells look like changes (cursor shown or
        # not, fixed columns, padding, cleared): forget the cells drawn as well.
        self._drawn.clear()
        super()._clear_caches()

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Cell,
        *,
        update_width: bool = False,
    ) -> None:
        """DataTable's, but the line the cell is on is repainted, not the whole table."""
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
        else:
            self.update_cells([(row_key, column_key, value)])

    def update_cells(self, cells: Iterable[tuple[RowKey | str, ColumnKey | str, Cell]]) -> None:
        """Put each (row, column, value) of `cells` in its cell; the lines of those cells are
        repainted (column widths stay as they are)."""
        places = []
        for row_key, column_key, value in cells:
            row = RowKey(row_key) if isinstance(row_key, str) else row_key
            column = ColumnKey(column_key) if isinstance(column_key, str) else column_key
            if row not in self.rows or column not in self.columns:
                raise CellDoesNotExist(f"no cell at row {row.value!r}, column {column.value!r}")
            self._data[row][column] = value
            places.append(Coordinate(self.get_row_index(row), self.get_column_index(column)))
        if places:
            # DataTable's lines cached before show the old values (one count for all: each
            # new count makes DataTable order its rows again)
            self._update_count += 1
        for place in places:
            self.refresh_coordinate(place)

    def relabel(self, column_key: ColumnKey | str, label: Any) -> None:
        """Show `label` atop the column; the header row is repainted, not the whole table."""
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        self.columns[column_key].label = label
        self._update_count += 1  # DataTable's cached header line shows the old label
        if self.show_header:  # it stays on top when the table scrolls
            self.refresh(Region(0, 0, self.size.width, self.header_height))

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures each cell of the new rows, for the widths of its auto-width
        # columns and the heights of its auto-height rows (5,000 cells as a 200-task grid is
        # built, tens of ms): with neither, there is nothing to measure.
        rows = [self.rows[key] for key in new_rows if key in self.rows]
        is_measured = any(c.auto_width for c in self.columns.values()) or any(
            row.auto_height or row.label for row in rows
        )
        super()._update_dimensions([row.key for row in rows] if is_measured else [])

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        column_key = self._column_locations.get_key(column_index)
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        if column_key is None or (row_key is None and row_index >= 0):  # row labels, no cell
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        value: object = (
            self.columns[column_key].label
            if row_key is None
            else self._data[row_key].get(column_key)
        )
        key = (
            row_index,
            column_index,
            id(value),
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        drawn = self._drawn.get(key)
        if drawn is not None and drawn[0] is value:
            return drawn[1]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._drawn.set(key, (value, lines))
        return lines
