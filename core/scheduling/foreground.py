"""Foreground runs, one mechanism for `dags test` and `dags backfill`: a scheduler of this
process's own that creates its runs through commands (marked as driven by this process) and
drives just those, paused DAGs included. Ctrl-C or SIGTERM stops it and fails what is
unfinished; if the process is killed, the home's scheduler takes its runs over."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from typing import Any

from flowtui.commands.model import Command
from flowtui.config import Settings
from flowtui.errors import DagNotFound, RunNotFound
from flowtui.execution.local.executor import LocalExecutor
from flowtui.loading.record import register
from flowtui.scheduling.active_run import RunKey
from flowtui.scheduling.changes import Listener
from flowtui.scheduling.service import Scheduler
from flowtui.spec import DagSpec
from flowtui.states import RunState
from flowtui.store import Store, reads


class ForegroundRuns:
    """Runs a foreground command drives in this process; `open`, `apply`, then `drive`."""

    def __init__(self, settings: Settings, actor: str, executor: LocalExecutor | None = None):
        executor = executor or LocalExecutor(settings)
        self.settings = settings
        self.actor = actor
        self.pid = os.getpid()
        """The process that drives the runs (`Trigger.runner_pid`, `Clear.runner_pid`)."""
        self.scheduler = Scheduler(settings, executor, executor, watches_home=False, actor=actor)

    def open(self, dag_id: str) -> DagSpec:
        """Start the fork server, parse the DAG folder and store `dag_id` as it defines it now,
        and only that DAG: the home's record of the folder its scheduler serves stays as it
        is, whatever folder this command was given (issue 9, point 7).

        Raises:
            DagNotFound: the folder does not define it (any more).
            DagDefinedElsewhere: the home's scheduler has a DAG of that id from another file.
        """
        found: list[DagSpec | None] = []
        self.scheduler.open(
            lambda conn, results, now: found.append(
                register(conn, results, dag_id, self.settings, now)
            )
        )
        spec = found[0]
        if spec is None:
            raise DagNotFound(dag_id, self.settings.dags_folder)
        return spec

    def apply(self, commands: Iterable[Command]) -> list[dict[str, Any]]:
        """Create or clear the runs to drive, in one transaction."""
        return self.scheduler.apply_now(commands, self.actor)

    def drive(self, runs: set[RunKey], listener: Listener | None = None) -> None:
        """Run `runs` to their end (or until SIGINT/SIGTERM), calling `listener` with the
        state changes as they happen."""
        scheduler = self.scheduler
        if listener is not None:
            scheduler.add_listener(listener)
        previous = {
            signum: signal.signal(signum, lambda *_: scheduler.request_stop())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            scheduler.start()
            scheduler.serve(until=lambda: all(scheduler.is_done(run) for run in runs))
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def close(self) -> None:
        """Stop the fork server when nothing is driven after all (an error, nothing to do)."""
        self.scheduler.executor.stop()
        if self.scheduler.store is not None:
            self.scheduler.store.close()

    def final_state(self, run: RunKey) -> RunState:
        """The run's state as the store has it now."""
        store = Store(self.settings.db_path)
        try:
            row = reads.run(store.conn, *run)
        finally:
            store.close()
        if row is None:
            raise RunNotFound(*run)
        return RunState(row["state"])
