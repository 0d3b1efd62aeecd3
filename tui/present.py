"""`PresentCounts`: task instances per state of the present runs (active and latest), by DAG,
kept between reads on the live thread so that each read counts again only the runs that may
have changed since the last `events.id` it saw (issue 13, point 9: the header's counts were
re-read whole four times a second)."""

from __future__ import annotations

import sqlite3

from flowtui.store.summaries import present_run_counts


class PresentCounts:
    """The header's and the DAG list's counts of now; live thread only."""

    def __init__(self) -> None:
        self.newest_event: int | None = None
        """The newest event at the last read; None before the first."""
        self._by_run: dict[tuple[str, str], dict[str, int]] = {}

    def read(self, conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
        """dag_id -> state -> task instances of its present runs, in the caller's
        transaction."""
        read = present_run_counts(conn, self.newest_event, list(self._by_run))
        self.newest_event = read.newest_event
        self._by_run = {
            key: read.counts[key] if key in read.counts else self._by_run[key]
            for key in read.present
        }
        by_dag: dict[str, dict[str, int]] = {}
        for (dag_id, _run_id), counts in self._by_run.items():
            totals = by_dag.setdefault(dag_id, {})
            for state, count in counts.items():
                totals[state] = totals.get(state, 0) + count
        return by_dag
