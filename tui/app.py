"""The dashboard App: its screens, the keys that work everywhere, and the wiring of live
updates (the live thread's `StateLoaded`, the embedded scheduler's `StoreChanged`, a screen's
`RefreshRequested`) and of commands (a screen's `CommandRequested`, sent from a worker;
the outcome comes back as `CommandDone` or `CommandFailed`)."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from flowtui.commands.model import Command, CommandClient
from flowtui.config import Settings
from flowtui.errors import FlowtuiError
from flowtui.tui.live import LiveFeed
from flowtui.tui.messages import (
    CommandDone,
    CommandFailed,
    CommandRequested,
    RefreshRequested,
    StateLoaded,
    StoreChanged,
)
from flowtui.tui.screens.base import LiveScreen
from flowtui.tui.screens.confirm import ConfirmDialog
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.help import HelpScreen


class Dashboard(App[int]):
    """flowtui's terminal dashboard over one home's store."""

    CSS_PATH = "app.tcss"
    TITLE = "flowtui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit_dashboard", "Quit"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        settings: Settings,
        commands: CommandClient,
        *,
        mode: str,
        running_attempts: Any = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.commands = commands
        self.mode = mode
        """"embedded", "attached (pid N)" or "not running"."""
        self.running_attempts = running_attempts
        """With an embedded scheduler: a callable giving how many attempts it runs now."""
        self.feed = LiveFeed(settings.db_path, self.post_message)
        self._counts: dict[str, int] = {}

    def on_mount(self) -> None:
        self.feed.start()
        self.push_screen(DagsScreen())
        # What exists after start-up (modules, styles, the first screen) lives as long as the
        # app: keep full collections from walking it again every few seconds (100+ ms pauses),
        # and make them rarer: the young generations still go at the usual pace, and
        # reference counting frees a refresh's rows anyway.
        self.call_after_refresh(gc.freeze)
        gc.set_threshold(*gc.get_threshold()[:2], 200)

    def on_unmount(self) -> None:
        self.feed.stop()

    @on(LiveScreen.Shown)
    def _screen_shown(self, message: LiveScreen.Shown) -> None:
        """Feed the screen that came on top from now on; its header shows where it is."""
        screen = message.screen
        if screen is not self.screen:  # popped or covered since: the next `Shown` is newer
            return
        header = screen.header_bar
        header.home = str(self.settings.home)
        header.dags_folder = f"{self.settings.dags_folder} ({self.settings.dags_folder_source})"
        header.scheduler = self.mode
        header.counts = self._counts
        self.feed.show(screen, screen.load)

    # --- live data ---

    @on(StateLoaded)
    def _state_loaded(self, message: StateLoaded) -> None:
        self._counts = message.counts
        screen = self.screen
        if message.target is screen and isinstance(screen, LiveScreen):
            screen.header_bar.counts = message.counts
            screen.show(message.data)

    def store_changed(self) -> None:
        """The store changed (thread-safe; the embedded scheduler's listener calls it)."""
        self.post_message(StoreChanged())

    @on(StoreChanged)
    @on(RefreshRequested)
    def _reread(self) -> None:
        self.feed.nudge()

    # --- commands ---

    @on(CommandRequested)
    def _command_requested(self, message: CommandRequested) -> None:
        self.send(message.command, message.summary)

    @work(thread=True, group="commands")
    def send(self, command: Command, summary: str) -> None:
        """Send a command from a worker thread; the outcome comes back as a message."""
        try:
            self.commands.send(command)
        except FlowtuiError as exc:
            self.post_message(CommandFailed(str(exc)))
        except Exception as exc:
            self.post_message(CommandFailed(f"the command failed: {exc}"))
        else:
            self.post_message(CommandDone(summary))
            self.feed.nudge()

    @on(CommandFailed)
    def _command_failed(self, message: CommandFailed) -> None:
        self.notify(message.error, severity="error", timeout=8)

    @on(CommandDone)
    def _command_done(self, message: CommandDone) -> None:
        self.notify(message.summary, timeout=3)

    # --- keys that work everywhere ---

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.binding_list(self.screen)))

    def binding_list(self, screen: Screen[Any]) -> list[tuple[str, str]]:
        """(keys, description) for every binding active on `screen`, the app's included."""
        seen: dict[str, str] = {}
        for key, active in screen.active_bindings.items():
            name = active.binding.description or active.binding.action
            seen.setdefault(name, "")
            seen[name] = f"{seen[name]}, {key}" if seen[name] else key
        return [(keys, name) for name, keys in seen.items()]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key action of the screen is in the command palette too."""
        yield from super().get_system_commands(screen)
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in ("command_palette",):
                continue
            node, action = active.node, binding.action
            yield SystemCommand(
                f"{binding.description} ({key})",
                f"the {key} key",
                lambda node=node, action=action: self.run_action(action, node),
            )

    def action_quit_dashboard(self) -> None:
        running = self.running_attempts() if self.running_attempts else 0
        if not running:
            self.exit(0)
            return
        detail = (
            f"{running} task attempt(s) are running in this dashboard's scheduler. "
            f"Quitting stops them: each becomes failed, or up_for_retry if it has "
            f"retries left, with the cause 'the scheduler stopped'. To keep tasks "
            f"running, run `flowtui scheduler` separately and attach dashboards to it."
        )
        self.push_screen(
            ConfirmDialog("Quit and stop the running tasks?", detail),
            lambda yes: self.exit(0) if yes else None,
        )
