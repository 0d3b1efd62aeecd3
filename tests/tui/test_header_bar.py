"""The header names the executor of the scheduler it probed: "local", or for Dask the cluster's
address and how many workers it has, within its two lines at 80 columns."""

from __future__ import annotations

import os

import pytest

from flowtui.commands.model import SchedulerStatus
from flowtui.tui.screens.dags import DagsScreen
from flowtui.tui.widgets.header_bar import HeaderBar
from tests.conftest import Home
from tests.tui.conftest import in_thread, plain, wait_for

DAG = """
    from datetime import datetime
    from flowtui import DAG, EmptyOperator

    with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
        EmptyOperator(task_id="t")
"""


async def _first_line_at_80_columns(home: Home) -> tuple[str, SchedulerStatus]:
    """The header's first line, once it shows the scheduler (one in a thread of this test)."""
    home.write_dag("d.py", DAG)
    with in_thread(home) as (app, _scheduler):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DagsScreen))
            header = app.screen.query_one(HeaderBar)
            status = await wait_for(
                pilot,
                lambda: isinstance(header.scheduler, SchedulerStatus) and header.scheduler,
                timeout=30,
                what="the header to show the scheduler",
            )
            lines = plain(header.render(), width=80).rstrip("\n").split("\n")
    assert len(lines) == 2, lines
    return lines[0], status


async def test_the_header_says_the_scheduler_runs_attempts_locally(home: Home) -> None:
    line, _status = await _first_line_at_80_columns(home)
    assert line.startswith(f" flowtui  scheduler: pid {os.getpid()}, local  home ")


@pytest.mark.dask
async def test_the_header_shows_the_dask_clusters_address_and_workers(home: Home) -> None:
    pytest.importorskip("distributed")
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "flowtui.toml").write_text(
        'executor = "dask"\n[dask]\nlocal_cluster = { workers = 1 }\n'
    )
    line, status = await _first_line_at_80_columns(home)
    assert status.dask_address is not None
    assert status.dask_address.startswith("tcp://")
    shown = f" flowtui  scheduler: pid {os.getpid()}, dask at {status.dask_address}, 1 worker(s)"
    assert line.startswith(shown)
    assert len(line) <= 80
