"""The first screen: every DAG with the state of its last run, its recent runs as coloured
glyphs, its failed and running task instances now, paused flag, next run and its schedule in
words; DAGs that need attention (latest run failed, a task failed or up for retry now) first;
a filter by text and `tag:`; a banner for files that failed to load."""

from __future__ import annotations

import sqlite3
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from flowtui.commands.model import SchedulerStatus
from flowtui.config import Settings, dags_folder_problem
from flowtui.store import reads
from flowtui.store.summaries import dag_overview
from flowtui.tui.format import format_timestamp, schedule_text
from flowtui.tui.present import PresentCounts
from flowtui.tui.screens.base import KeyTable, LiveScreen
from flowtui.tui.screens.import_errors import load_warnings
from flowtui.tui.widgets.header_bar import HeaderBar
from flowtui.tui.widgets.key_footer import KeyFooter
from flowtui.tui.widgets.state_badge import STYLES, badge, glyph

RECENT = 10
COLUMNS = (
    "DAG",
    "last run",
    "recent runs",
    "failed now",
    "running",
    "paused",
    "next run",
    "schedule",
)
"""Most needed first (at 80 columns what is cut is on the right); the schedule comes last: its
words are the widest cell."""

ATTENTION = ("failed", "up_for_retry")
"""States of a task instance now that put its DAG on top of the list."""


class DagsScreen(LiveScreen):
    """All DAGs; enter opens one."""

    BINDINGS = [
        Binding("f", "failures", "Failures"),
        Binding("slash", "filter", "Filter"),
        Binding("t", "trigger", "Trigger"),
        Binding("p", "pause", "Pause/unpause"),
        Binding("e", "errors", "Import errors"),
        Binding("v", "variables", "Variables"),
        Binding("o", "pools", "Pools"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    FOOTER_KEYS = (
        "select_cursor",
        "failures",
        "filter",
        "trigger",
        "pause",
        "errors",
        "quit_dashboard",
    )

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.filter_text = ""
        self.folder_problem: str | None = None
        """Why the DAG folder has nothing to load (missing, no .py file), while no DAG shows."""
        self.is_loaded = False
        self.home_settings: Settings | None = None
        """The App's settings, kept on mount for `load` (the live thread cannot reach the App)."""
        self._present = PresentCounts()
        """Live thread only: the counts as last read, so that a refresh counts what changed."""

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield Static("", id="errors-banner")
        yield Input(
            placeholder="filter: text, or tag:NAME (enter to apply, esc to clear)", id="filter"
        )
        yield KeyTable(id="dags", cursor_type="row", zebra_stripes=True)
        yield Static("reading the DAG list…", id="empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.home_settings = self.settings
        table = self.dag_table
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.query_one("#filter", Input).display = False
        self.query_one("#errors-banner", Static).display = False
        header = self.header_bar
        if header is not None:  # the scheduler answering means it has loaded the DAG folder
            self.watch(header, "scheduler", lambda _seen: self._fill(), init=False)
        table.focus()

    @property
    def dag_table(self) -> KeyTable:
        return self.query_one("#dags", KeyTable)

    # --- data ---

    def load(self, conn: sqlite3.Connection) -> Any:
        dags = _attention_first(dag_overview(conn, RECENT), self._present.read(conn))
        settings = self.home_settings
        return {
            "dags": dags,
            "errors": reads.import_errors(conn),
            "warnings": load_warnings(conn, settings),
            "folder_problem": (
                dags_folder_problem(settings.dags_folder) if settings and not dags else None
            ),
        }

    def show(self, data: Any) -> None:
        self.rows, self.errors = data["dags"], data["errors"]
        self.folder_problem, self.is_loaded = data["folder_problem"], True
        warnings = data["warnings"]
        banner = self.query_one("#errors-banner", Static)
        banner.display = bool(self.errors or warnings)
        parts = [f"✘ {len(self.errors)} DAG file(s) failed to load"] if self.errors else []
        if warnings:
            parts.append(f"⚠ {len(warnings)} DAG(s) ask for email but no [smtp] host is set")
        if parts:
            style = "bold white on red" if self.errors else "bold black on yellow"
            banner.update(Text(f" {'; '.join(parts)} — press e to see why ", style=style))
        self._fill()

    def _fill(self) -> None:
        table = self.dag_table
        current = self.selected_dag_id()
        table.clear()
        shown = [r for r in self.rows if _matches(r, self.filter_text)]
        for dag in shown:
            table.add_row(*_cells(dag), key=dag["dag_id"])
        empty = self.query_one("#empty", Static)
        empty.display = not shown
        if not shown and self.is_loaded:
            empty.update(self._empty_text())
        if current is not None and current in {d["dag_id"] for d in shown}:
            table.move_cursor(row=table.get_row_index(current), animate=False)

    def _empty_text(self) -> str:
        """What an empty list means: no match for the filter, a DAG folder with nothing to
        load, files that all failed, the scheduler still loading, or no DAG in the folder."""
        if self.rows:
            return f"no DAG matches {self.filter_text!r}; esc clears the filter"
        if self.folder_problem:
            return f"⚠ {self.folder_problem}"
        if self.errors:
            return f"no DAG loaded: {len(self.errors)} file(s) failed to load; press e to see why"
        folder = self.home_settings.dags_folder if self.home_settings else "the DAG folder"
        header = self.header_bar
        if header is None or not isinstance(header.scheduler, SchedulerStatus):
            return f"no DAGs yet: the scheduler is loading {folder}"
        return (
            f"no DAGs in {folder}: a DAG file is a .py file that mentions 'dag' and "
            f"'flowtui' or 'airflow' (README: A tour of writing a DAG)"
        )

    def selected_dag_id(self) -> str | None:
        table = self.dag_table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return None if key.value is None else str(key.value)

    def selected_dag(self) -> dict[str, Any] | None:
        dag_id = self.selected_dag_id()
        return next((r for r in self.rows if r["dag_id"] == dag_id), None)

    # --- keys ---

    @on(DataTable.RowSelected, "#dags")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        dag_id = self.selected_dag_id()
        if dag_id is not None:
            # The screens this one opens are imported when first opened: the first frame
            # imports the DAG list alone (the DAG screen and its grid, about 150 ms).
            from flowtui.tui.screens.dag_runs import DagScreen

            self.app.push_screen(DagScreen(dag_id))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.dag_table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._fill()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.filter_text = ""
        self._fill()
        self.dag_table.focus()

    def action_trigger(self) -> None:
        dag = self.selected_dag()
        if dag is not None:
            self.trigger_dag(dag["dag_id"], dag["params"])

    def action_pause(self) -> None:
        dag = self.selected_dag()
        if dag is not None:
            self.set_paused(dag["dag_id"], not dag["is_paused"])

    def action_failures(self) -> None:
        from flowtui.tui.screens.failures import FailuresScreen

        self.app.push_screen(FailuresScreen())

    def action_errors(self) -> None:
        """The import errors, the cursor on the selected DAG's file when it has one."""
        from flowtui.tui.screens.import_errors import ImportErrorsScreen

        dag = self.selected_dag()
        self.app.push_screen(ImportErrorsScreen(dag["fileloc"] if dag else None))

    def action_variables(self) -> None:
        from flowtui.tui.screens.variables import VariablesScreen

        self.app.push_screen(VariablesScreen())

    def action_pools(self) -> None:
        from flowtui.tui.screens.pools import PoolsScreen

        self.app.push_screen(PoolsScreen())


def _attention_first(
    dags: list[dict[str, Any]], present: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """`dags` with each one's task counts of now (`PresentCounts`), those needing attention
    first, the one whose latest run started last on top; the rest by id."""
    for dag in dags:
        dag["task_counts"] = present.get(dag["dag_id"], {})
        last = dag["recent_runs"][0] if dag["recent_runs"] else None
        dag["needs_attention"] = bool(
            (last is not None and last["state"] == "failed")
            or any(dag["task_counts"].get(state) for state in ATTENTION)
        )
    ranked = sorted(
        (d for d in dags if d["needs_attention"]),
        key=lambda d: d["recent_runs"][0]["start_date"] or "" if d["recent_runs"] else "",
        reverse=True,
    )
    return ranked + [d for d in dags if not d["needs_attention"]]


def _matches(dag: dict[str, Any], text: str) -> bool:
    for word in text.lower().split():
        if word.startswith("tag:"):
            if not any(word[4:] in tag.lower() for tag in dag["tags"]):
                return False
        elif not any(
            word in (text or "").lower()
            for text in (dag["dag_id"], dag["display_name"], dag["description"])
        ):
            return False
    return True


def _cells(dag: dict[str, Any]) -> list[Any]:
    runs = dag["recent_runs"]
    strip = Text()
    for run in reversed(runs):  # oldest left, newest right
        strip.append_text(glyph(run["state"]))
    last = runs[0] if runs else None
    counts = dag["task_counts"]
    running = counts.get("running", 0) + counts.get("queued", 0)
    failed = counts.get("failed", 0) + counts.get("upstream_failed", 0)
    name = Text(dag["display_name"] or dag["dag_id"], style="bold")  # the id stays the key
    if dag.get("sla_missed"):
        name.append(f" !SLA {dag['sla_missed']}", style="bold magenta")
    return [
        name,
        badge(last["state"]) if last else Text("never", style="dim"),
        strip,
        Text(str(failed), style=STYLES["failed"] if failed else "dim"),
        Text(str(running), style=STYLES["running"] if running else "dim"),
        Text("paused", style="yellow") if dag["is_paused"] else Text("no", style="dim"),
        format_timestamp(dag["next_run_at"], seconds=False),
        schedule_text(dag["schedule"]),
    ]
