"""Variables: every stored variable with its value (masked for secret-looking keys until `s`
shows it), description and environment override; add, edit and delete them. Changes are
commands (`SetVariable`, `DeleteVariable`), sent like every other; the live feed then shows
them."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from flowtui.commands.model import DeleteVariable, SetVariable
from flowtui.errors import FlowtuiError
from flowtui.store.variables import VariableRow, check_key, is_secret_key, overview
from flowtui.tui.format import one_line
from flowtui.tui.messages import CommandRequested
from flowtui.tui.screens.base import KeyTable, LiveScreen
from flowtui.tui.screens.confirm import ConfirmDialog
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter

COLUMNS = ("key", "value", "description", "environment override")
_WIDTH = 60
"""Characters of a value shown in the table; the edit dialog has all of it."""


@dataclass(frozen=True)
class VariableEdit:
    """What the dialog gives back: the variable to store."""

    key: str
    value: str
    description: str


class VariablesScreen(LiveScreen):
    """One row per stored variable; secret values read `***` until `s` shows them."""

    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("s", "reveal", "Show/hide value"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[VariableRow] = []
        """The stored variables, as last read."""
        self.revealed: set[str] = set()
        """Keys of secret variables whose value the user chose to see."""

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static(Text(" Variables ", style="bold reverse"), id="variables-title")
        yield KeyTable(id="variables", cursor_type="row", zebra_stripes=True)
        yield Static("no variables yet: press a to add one", id="variables-empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.variable_table
        for column in COLUMNS:
            table.add_column(column, key=column)
        table.focus()

    @property
    def variable_table(self) -> KeyTable:
        return self.query_one("#variables", KeyTable)

    # --- data ---

    def load(self, conn: sqlite3.Connection) -> Any:
        return overview(conn, os.environ)

    def show(self, data: Any) -> None:
        self.rows = data
        self._fill()

    def _fill(self) -> None:
        table = self.variable_table
        current = self.selected_key()
        table.clear()
        for row in self.rows:
            table.add_row(*_cells(row, row.key in self.revealed), key=row.key)
        self.query_one("#variables-empty", Static).display = not self.rows
        if current is not None and any(r.key == current for r in self.rows):
            table.move_cursor(row=table.get_row_index(current), animate=False)

    def selected_key(self) -> str | None:
        table = self.variable_table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    def selected_row(self) -> VariableRow | None:
        key = self.selected_key()
        return next((r for r in self.rows if r.key == key), None)

    # --- keys ---

    def action_reveal(self) -> None:
        row = self.selected_row()
        if row is not None and row.is_secret:
            self.revealed ^= {row.key}
            self._fill()

    def action_add(self) -> None:
        self.app.push_screen(VariableDialog(None), self._save)

    def action_edit(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.app.push_screen(VariableDialog(row), self._save)

    def action_delete(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        key = row.key
        detail = "Tasks that read it fail from now on, unless they give a default."
        if row.env_override:
            detail += f" {row.env_override} still sets it where it is defined."

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(key)

        self.app.push_screen(ConfirmDialog(f"Delete variable {key}?", detail), answered)

    # --- writes: commands ---

    def _save(self, edit: VariableEdit | None) -> None:
        if edit is not None:
            command = SetVariable(edit.key, edit.value, edit.description)
            self.post_message(CommandRequested(command, f"variable {edit.key} saved"))

    def _delete(self, key: str) -> None:
        self.post_message(CommandRequested(DeleteVariable(key), f"variable {key} deleted"))


def _cells(row: VariableRow, revealed: bool) -> list[Any]:
    line = one_line(row.shown_value(revealed), _WIDTH)
    secret_style = "yellow" if revealed else "dim"
    return [
        Text(row.key, style="bold"),
        Text(line, style=secret_style) if row.is_secret else line,
        Text(row.description, style="dim"),
        Text(row.env_override or "", style="yellow"),
    ]


class VariableDialog(ModalScreen[VariableEdit | None]):
    """Add a variable (`row` None) or edit one; enter saves, esc cancels. With "JSON" on,
    the value must be valid JSON."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, row: VariableRow | None) -> None:
        super().__init__()
        self.row = row
        """The variable being edited; None to add one."""

    def compose(self) -> ComposeResult:
        row = self.row or VariableRow("", "", "", False, None)
        title = f"Edit variable {row.key}" if self.row else "Add a variable"
        with Vertical(classes="dialog"):
            yield Label(title, classes="dialog--title")
            yield Input(row.key, placeholder="key", id="variable-key", disabled=bool(self.row))
            yield Input(row.val, placeholder="value", id="variable-value")
            yield Input(row.description, placeholder="description", id="variable-description")
            yield Checkbox("JSON (validate the value)", id="variable-json")
            yield Static("", id="variable-error", classes="dialog--error")
            with Horizontal(classes="dialog--buttons"):
                yield Button("Save (enter)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self._mask_value()
        self.query_one("#variable-value" if self.row else "#variable-key", Input).focus()

    @on(Input.Changed, "#variable-key")
    def _mask_value(self) -> None:
        """A secret-looking key hides what is typed as its value."""
        key = self.query_one("#variable-key", Input).value
        self.query_one("#variable-value", Input).password = is_secret_key(key)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        key = self.query_one("#variable-key", Input).value.strip()
        value = self.query_one("#variable-value", Input).value
        error = self.query_one("#variable-error", Static)
        try:
            check_key(key)
        except FlowtuiError as exc:
            error.update(str(exc))
            return
        if self.query_one("#variable-json", Checkbox).value:
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                error.update(f"the value is not valid JSON: {exc.msg} (line {exc.lineno})")
                return
        description = self.query_one("#variable-description", Input).value
        self.dismiss(VariableEdit(key, value, description))

    def action_cancel(self) -> None:
        self.dismiss(None)
