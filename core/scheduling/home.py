"""What only the home's own scheduler does besides driving runs: take over what a killed
predecessor left, create the runs schedules and datasets call for, and reload DAG files that
change. A foreground command (`dags test`, `dags backfill`) drives its own runs without these."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from flowtui.clock import Clock, to_text
from flowtui.config import Settings
from flowtui.loading.loader import DagLoader, is_dag_file
from flowtui.loading.parse import Preload
from flowtui.loading.record import record
from flowtui.loading.watcher import DagFolderWatcher
from flowtui.scheduling import dataset_triggers, recovery
from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.messages import FilesChanged, Message
from flowtui.scheduling.run_book import RunBook
from flowtui.scheduling.run_creation import RunCreator
from flowtui.scheduling.timers import Timers
from flowtui.spec import DagSpec
from flowtui.store import reads, writes

logger = logging.getLogger(__name__)


class HomeDuties:
    """The home scheduler's own run creation, recovery and hot reload."""

    def __init__(
        self,
        settings: Settings,
        book: RunBook,
        loader: DagLoader,
        timers: Timers[Message],
        clock: Clock,
        post: Callable[[Message], None],
    ) -> None:
        self.settings = settings
        self.book = book
        self.loader = loader
        self.clock = clock
        self.creator = RunCreator(book, timers, clock)
        self.watcher = DagFolderWatcher(
            settings.dags_folder, lambda paths: post(FilesChanged(frozenset(paths)))
        )

    def take_over(self, conn: sqlite3.Connection, hostname: str) -> list[tuple[ActiveRun, TI]]:
        """Load every active run; return the attempts an earlier scheduler left unfinished
        (the caller resumes them)."""
        resumed = recovery.unfinished_attempts(conn, self.book, hostname)
        self.book.load_active(conn)
        return resumed

    def start(self, conn: sqlite3.Connection) -> None:
        """Create the runs that are due now, and from now on watch the DAG folder."""
        for spec, is_paused in reads.active_specs(conn):
            self._create_due(conn, spec, is_paused)
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()

    def plan(self, conn: sqlite3.Connection, dag_id: str) -> None:
        """Create the DAG's scheduled and dataset-triggered runs that are due (never fails
        the batch: an error is logged)."""
        found = reads.active_specs(conn, dag_id)
        if not found:
            self.creator.forget(dag_id)
            return
        self._create_due(conn, *found[0])

    def _create_due(self, conn: sqlite3.Connection, spec: DagSpec, is_paused: bool) -> None:
        try:
            self.creator.create_due(conn, spec, is_paused=is_paused)
            if not is_paused:
                dataset_triggers.trigger_if_ready(conn, self.book, spec, self.clock())
        except Exception:
            logger.exception("creating the scheduled runs of %s failed", spec.dag_id)

    def datasets_updated(self, conn: sqlite3.Connection, uris: set[str]) -> None:
        """Runs of DAGs scheduled on datasets that tasks just updated."""
        for spec in dataset_triggers.consumers(conn, uris):
            dataset_triggers.trigger_if_ready(conn, self.book, spec, self.clock())

    def reload(self, conn: sqlite3.Connection, paths: frozenset[str]) -> dict[str, Preload]:
        """Parse the changed DAG files; active runs go on with the new definitions. Returns
        where each file is to be imported before its attempts fork (`Preload`)."""
        folder = self.settings.dags_folder
        present = sorted(Path(p) for p in paths if is_dag_file(Path(p), folder))
        gone = sorted(p for p in paths if Path(p) not in present)
        results = self.loader.parse_files(present)
        specs = record(conn, results, to_text(self.clock()), complete=False, deleted=gone)
        for run in list(self.book.runs.values()):
            if run.dag_id in specs:
                self.book.update_spec(conn, run, specs[run.dag_id])
        for dag_id in _dag_ids_of(conn, paths) | set(specs):
            self.plan(conn, dag_id)
        writes.record_event(
            conn,
            "dags_reloaded",
            ts=to_text(self.clock()),
            actor="scheduler",
            detail=json.dumps({"files": sorted(paths), "dags": sorted(specs)}),
        )
        logger.info("reloaded %s: DAGs %s", sorted(paths), sorted(specs))
        return {r.path: r.preload for r in results}


def _dag_ids_of(conn: sqlite3.Connection, paths: frozenset[str]) -> set[str]:
    marks = ", ".join("?" for _ in paths)
    rows = conn.execute(f"SELECT dag_id FROM dags WHERE fileloc IN ({marks})", tuple(paths))
    return {r[0] for r in rows}
