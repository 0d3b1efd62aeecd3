"""The dashboard App: its screens, the keys that work everywhere, and the wiring of live
updates (the live thread's `StateLoaded`, a screen's `RefreshRequested`), of commands (a
screen's `CommandRequested`, sent from a worker; the outcome comes back as `CommandDone` or
`CommandFailed`) and of the home's scheduler, a process of its own: probed twice a second
(`SchedulerSeen`, shown in the header), started in the background when none runs, and what
quitting does to it."""

from __future__ import annotations

import gc
import logging
import select
import sys
import time
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from flowtui.commands.model import (
    Command,
    CommandClient,
    SchedulerControl,
    SchedulerState,
    SchedulerStatus,
)
from flowtui.config import Settings, load_dashboard_notify
from flowtui.errors import FlowtuiError
from flowtui.tui.failure_alert import failure_alert
from flowtui.tui.keys import help_rows
from flowtui.tui.live import LiveFeed
from flowtui.tui.messages import (
    CommandDone,
    CommandFailed,
    CommandRequested,
    RefreshRequested,
    SchedulerSeen,
    StateLoaded,
    TasksFailed,
)
from flowtui.tui.palette import FlowtuiCommands
from flowtui.tui.screens.base import LiveScreen
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.screens.quit import QuitChoice, QuitDialog
from flowtui.tui.widgets.state_badge import use_palette

logger = logging.getLogger(__name__)

PROBE_INTERVAL = 0.5
"""Seconds between two probes of the scheduler: the header notices one that died within 2 s."""
START_WAIT = 30.0
"""Seconds `q` waits for a scheduler this dashboard started to answer, to stop it (a first
start parses the DAG folder before it answers)."""
SWITCH_INTERVAL = 0.001
"""Seconds a thread holds the GIL while another waits for it (Python's default is 0.005)."""


def terminal_gone(fd: int) -> bool:
    """Whether the terminal at `fd` hung up (the other side of its pty closed)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return any(mask & (select.POLLHUP | select.POLLNVAL) for _fd, mask in poller.poll(0))


class Dashboard(App[int]):
    """flowtui's terminal dashboard over one home's store."""

    CSS_PATH = "app.tcss"
    TITLE = "flowtui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {FlowtuiCommands}
    BINDINGS = [
        Binding("q", "quit_dashboard", "Quit"),
        Binding("ctrl+q", "quit_dashboard", "Quit", show=False, priority=True),
        Binding("ctrl+d", "detach", "Detach (quit, scheduler goes on)", show=False),
        Binding("S", "start_scheduler", "Start scheduler"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(
        self,
        settings: Settings,
        commands: CommandClient,
        scheduler: SchedulerControl,
        *,
        starts_scheduler: bool = False,
    ) -> None:
        super().__init__()
        use_palette(monochrome=self.no_color)
        self.settings = settings
        self.commands = commands
        self.scheduler = scheduler
        self.starts_scheduler = starts_scheduler
        """Start a scheduler in the background at once if none runs (`flowtui` does)."""
        self.feed = LiveFeed(settings.db_path, self.post_message)
        self.is_alerting = load_dashboard_notify(settings.home)
        """Ring the bell and send a desktop notification for each failed attempt
        (`[dashboard] notify` in flowtui.toml)."""
        self._counts: dict[str, int] = {}
        self._seen: SchedulerStatus | SchedulerState = SchedulerState.STARTING
        self._starter: Worker[None] | None = None
        """The worker starting a scheduler, if one was asked for."""

    def on_mount(self) -> None:
        self.feed.start()
        self.push_screen(DagsScreen())
        self.set_interval(PROBE_INTERVAL, self.probe_scheduler)
        if not self.is_headless and sys.__stdin__ is not None and sys.__stdin__.isatty():
            self.set_interval(PROBE_INTERVAL, self._exit_if_terminal_gone)
        if self.starts_scheduler:
            self.action_start_scheduler()
        else:
            self.probe_scheduler()
        # What exists after start-up (modules, styles, the first screen) lives as long as the
        # app: keep full collections from walking it again every few seconds (100+ ms pauses),
        # and make them rarer: the young generations still go at the usual pace, and
        # reference counting frees a refresh's rows anyway.
        self.call_after_refresh(gc.freeze)
        gc.set_threshold(*gc.get_threshold()[:2], 200)
        # The live thread lets go of the GIL at every SQLite step, and gets it back from a busy
        # UI thread only when the switch interval forces it: 5 ms by default, 1 ms here, so a
        # refresh's dozen steps wait a few ms rather than tens (issue 13, point 9).
        sys.setswitchinterval(SWITCH_INTERVAL)

    def on_unmount(self) -> None:
        self.feed.stop()

    def _exit_if_terminal_gone(self) -> None:
        """A terminal can vanish without a SIGHUP (its pty's master closed by a program that
        never made it the controlling terminal): Textual then reads end-of-file in a busy loop
        at 100% CPU for good. Quit as a hang-up would, the scheduler going on."""
        if terminal_gone(sys.__stdin__.fileno() if sys.__stdin__ else -1):
            logger.warning("the terminal went away: the dashboard quits, the scheduler goes on")
            self.exit()

    @on(LiveScreen.Shown)
    def _screen_shown(self, message: LiveScreen.Shown) -> None:
        """Feed the screen that came on top from now on; its header shows where it is."""
        screen = message.screen
        if not self.screen_stack or screen is not self.screen:
            return  # popped or covered since (the next `Shown` is newer), or the app is closing
        header = screen.header_bar
        if header is None:
            return
        header.home = str(self.settings.home)
        header.dags_folder = f"{self.settings.dags_folder} ({self.settings.dags_folder_source})"
        header.scheduler = self._seen
        header.counts = self._counts
        self.feed.show(screen, screen.load)

    # --- live data ---

    @on(StateLoaded)
    def _state_loaded(self, message: StateLoaded) -> None:
        self._counts = message.counts
        if not self.screen_stack:
            return  # the app is quitting: a read may arrive after its last screen went
        screen = self.screen
        if message.target is screen and isinstance(screen, LiveScreen):
            header = screen.header_bar
            if header is None:
                return  # the app is quitting
            header.counts = message.counts
            screen.show(message.data)

    @on(TasksFailed)
    def _tasks_failed(self, message: TasksFailed) -> None:
        driver = self._driver
        if not self.is_alerting or driver is None:
            return
        driver.write("".join(failure_alert(failure) for failure in message.failures))
        driver.flush()

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
        from flowtui.tui.screens.help import HelpScreen  # imported on first use, as below

        self.push_screen(HelpScreen(self.binding_list(self.screen)))

    def binding_list(self, screen: Screen[Any]) -> list[tuple[str, str]]:
        """(keys, description) for every binding active on `screen`, its own first."""
        return help_rows(screen, self.get_key_display)

    def get_key_display(self, binding: Binding) -> str:
        """Keys as a user types them: `[`, `?`, `Esc` (Textual writes `esc`)."""
        shown = super().get_key_display(binding)
        return "Esc" if shown == "esc" else shown

    def action_open(self, name: str) -> None:
        """Open one of the screens that work from anywhere (the palette's `Open ...`)."""
        if name == "dags":
            while len(self.screen_stack) > 2:  # the default screen, then the DAG list
                self.pop_screen()
            return
        # Imported when first opened: the first frame imports the DAG list alone.
        from flowtui.tui.screens.failures import FailuresScreen
        from flowtui.tui.screens.import_errors import ImportErrorsScreen
        from flowtui.tui.screens.pools import PoolsScreen
        from flowtui.tui.screens.variables import VariablesScreen

        screens: dict[str, Callable[[], Screen[Any]]] = {
            "failures": FailuresScreen,
            "variables": VariablesScreen,
            "pools": PoolsScreen,
            "import_errors": ImportErrorsScreen,
        }
        if type(self.screen) is not screens[name]:
            self.push_screen(screens[name]())

    def action_open_dag(self, dag_id: str) -> None:
        from flowtui.tui.screens.dag_runs import DagScreen  # imported on first use, as above

        self.push_screen(DagScreen(dag_id))

    def action_start_scheduler(self) -> None:
        self._starter = self.start_scheduler()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`S` is offered only while no scheduler runs."""
        if action == "start_scheduler":
            return self._seen is SchedulerState.NOT_RUNNING
        return True

    def action_quit_dashboard(self) -> None:
        if not isinstance(self.screen, QuitDialog):
            self._quit_after_probe()

    def action_detach(self) -> None:
        """Quit and leave the scheduler running, even one this dashboard started."""
        self.exit()

    # --- the scheduler ---

    @work(thread=True, exclusive=True, group="scheduler-probe")
    def probe_scheduler(self) -> None:
        self.post_message(SchedulerSeen(self.scheduler.probe()))

    @work(thread=True, exclusive=True, group="scheduler-start")
    def start_scheduler(self) -> None:
        """Start one in the background unless one runs; the probes show how it goes."""
        try:
            self.scheduler.ensure_running()
        except FlowtuiError as exc:
            self.post_message(CommandFailed(str(exc)))
        self.post_message(SchedulerSeen(self.scheduler.probe()))

    @on(SchedulerSeen)
    def _scheduler_seen(self, message: SchedulerSeen) -> None:
        seen = message.seen
        if seen is SchedulerState.NOT_RUNNING and self._start_under_way():
            seen = SchedulerState.STARTING  # its process may not exist yet
        if seen == self._seen:
            return
        self._seen = seen
        for screen in self.screen_stack:
            header = screen.header_bar if isinstance(screen, LiveScreen) else None
            if header is not None:
                header.scheduler = seen
        if self.screen_stack:  # a probe answered after the last screen closed: nothing to show
            self.refresh_bindings()

    @work(thread=True, exclusive=True, group="quit")
    def _quit_after_probe(self) -> None:
        """Ask the scheduler how many attempts it runs now (not as of the last probe); one
        this dashboard is still starting is waited for (a while) to answer, so that quitting
        at once stops it as quitting later would, rather than leave it running unseen."""
        seen = self.scheduler.probe()
        deadline = time.monotonic() + START_WAIT
        if self._is_starting(seen):
            self.call_from_thread(
                self.notify, "waiting for the scheduler this dashboard started to answer"
            )
        while self._is_starting(seen) and time.monotonic() < deadline:
            time.sleep(PROBE_INTERVAL / 5)
            seen = self.scheduler.probe()
        self.call_from_thread(self._quit, seen)

    def _is_starting(self, seen: SchedulerStatus | SchedulerState) -> bool:
        """Whether `seen` is a scheduler this dashboard started that does not answer yet."""
        if seen is SchedulerState.NOT_RUNNING:  # its process may not exist yet
            return self._start_under_way()
        return seen is SchedulerState.STARTING and self.scheduler.started_here

    def _start_under_way(self) -> bool:
        """A scheduler start this dashboard asked for has not finished."""
        return self._starter is not None and not self._starter.is_finished

    def _quit(self, seen: SchedulerStatus | SchedulerState) -> None:
        """With attempts running, ask; with none, stop the scheduler if this dashboard started
        it (nothing is lost), and leave anyone else's alone. One that does not answer (still
        starting after `START_WAIT`: it may be adopting attempts) is left running."""
        if not isinstance(seen, SchedulerStatus):
            self.exit()
        elif seen.running_attempts:
            self.push_screen(QuitDialog(seen.running_attempts, seen.pid), self._quit_chosen)
        elif self.scheduler.started_here:
            self._stop_scheduler_and_exit()
        else:
            self.exit()

    def _quit_chosen(self, choice: QuitChoice | None) -> None:
        if choice is QuitChoice.KEEP:
            self.exit()
        elif choice is QuitChoice.STOP:
            self._stop_scheduler_and_exit()

    @work(thread=True, exclusive=True, group="scheduler-stop")
    def _stop_scheduler_and_exit(self) -> None:
        self.post_message(SchedulerSeen(SchedulerState.STOPPING))
        try:
            self.scheduler.stop()
        except FlowtuiError as exc:  # the command line says on exit what still runs
            logger.warning("the dashboard could not stop the scheduler: %s", exc)
        self.call_from_thread(self.exit)
