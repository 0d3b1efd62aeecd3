"""What every full screen of the dashboard shares: the header bar, the footer, and the live
data contract — `load(conn)` runs on the live thread, `show(data)` on the UI thread. A screen
says when it comes on top (`LiveScreen.Shown`); the App then feeds it. Its settings are the
App's; both DAG screens trigger and pause a DAG through its helpers."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, ClassVar

from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable

from flowtui.commands.model import SetPaused, Trigger
from flowtui.config import Settings
from flowtui.spec import DagSpec
from flowtui.tui.messages import CommandRequested
from flowtui.tui.widgets.header_bar import HeaderBar


class LiveScreen(Screen[None]):
    """A screen fed by the live thread; subclasses implement `load` and `show`."""

    FOOTER_KEYS: ClassVar[tuple[str, ...]] = ()
    """Actions whose keys the footer keeps first when not all fit, most needed first (`?` comes
    right after them); the rest show as room allows, and `?` and the palette list them all."""

    class Shown(Message):
        """The screen came on top (pushed, or back after the one above it was popped)."""

        def __init__(self, screen: LiveScreen) -> None:
            super().__init__()
            self.screen = screen

    @property
    def settings(self) -> Settings:
        """The home's settings (where logs are): the dashboard App's."""
        settings = getattr(self.app, "settings", None)
        if not isinstance(settings, Settings):
            raise TypeError(f"a LiveScreen needs an App with settings, not {self.app!r}")
        return settings

    def load(self, conn: sqlite3.Connection) -> Any:
        """Read what this screen shows (live thread: no widget access here)."""
        raise NotImplementedError

    def show(self, data: Any) -> None:
        """Put freshly read data on screen (UI thread: no I/O here)."""
        raise NotImplementedError

    @property
    def header_bar(self) -> HeaderBar | None:
        """The screen's header; None while the screen is being torn down (the app quitting),
        when its widgets are gone but messages for it may still arrive."""
        return next(iter(self.query(HeaderBar)), None)

    def on_screen_resume(self) -> None:
        self.post_message(self.Shown(self))

    # --- the DAG commands of the DAGs screen and of a DAG's screen ---

    def trigger_dag(self, dag_id: str, params: dict[str, Any]) -> None:
        """Ask for the new run's conf (`TriggerDialog`, prefilled with `params`), then trigger
        `dag_id` with it; cancelling triggers nothing."""

        def done(conf: dict[str, Any] | None) -> None:
            if conf is not None:
                command = Trigger(dag_id, conf=conf or None)
                self.post_message(CommandRequested(command, f"triggered {dag_id}"))

        # Imported on first use: the dialogs module is not needed for the first frame.
        from flowtui.tui.screens.confirm import TriggerDialog

        self.app.push_screen(TriggerDialog(dag_id, params), done)

    def set_paused(self, dag_id: str, pause: bool) -> None:
        summary = f"{dag_id} {'paused' if pause else 'unpaused'}"
        self.post_message(CommandRequested(SetPaused(dag_id, pause), summary))


class SpecCache:
    """A DAG's spec parsed from its stored JSON text, parsed again only when the text changed
    (a refresh reads the text, a primary-key lookup; parsing a big DAG's spec costs more)."""

    def __init__(self) -> None:
        self._text: str | None = None
        self._spec: DagSpec | None = None

    def parse(self, text: str) -> DagSpec:
        if self._spec is None or text != self._text:
            self._text, self._spec = text, DagSpec.from_dict(json.loads(text))
        return self._spec


class KeyTable(DataTable[Any]):
    """A DataTable whose enter opens the row, and that also moves with j/k (`l` is the log
    key elsewhere)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
