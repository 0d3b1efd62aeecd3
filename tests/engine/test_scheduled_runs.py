"""Scheduled runs in real time: a `timedelta(seconds=1)` schedule across a scheduler restart
creates every interval exactly once (catchup), or only the latest (no catchup); at most
`max_active_runs` run at once; bad cron strings are import errors naming the field."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from datetime import UTC, datetime, timedelta

from flowtui.store import reads
from tests.conftest import Home, wait_until

EVERY_SECOND = """
    from datetime import datetime, timedelta, timezone
    from flowtui import DAG, BashOperator

    with DAG("tick", schedule=timedelta(seconds=1), catchup={catchup}, max_active_runs={mar},
             start_date=datetime.fromisoformat("{start}")) as dag:
        BashOperator(task_id="work", bash_command="sleep {sleep}")
"""


def _runs(home: Home) -> list[dict[str, object]]:
    store = home.store()
    try:
        return sorted(reads.runs(store.conn, "tick"), key=lambda r: str(r["logical_date"]))
    finally:
        store.close()


_running: dict[Home, subprocess.Popen[str]] = {}


def _start(home: Home) -> None:
    process = home.start("scheduler")
    assert process.stdout is not None
    assert process.stdout.readline().startswith("flowtui scheduler:")
    _running[home] = process


def _stop(home: Home) -> None:
    process = _running.pop(home)
    process.terminate()
    assert process.wait(timeout=20) == 0


def _write(home: Home, catchup: bool, mar: int = 16, sleep: float = 0) -> datetime:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=3)
    home.write_dag(
        "tick.py",
        EVERY_SECOND.format(catchup=catchup, mar=mar, sleep=sleep, start=start.isoformat()),
    )
    return start


def test_catchup_creates_every_interval_once_across_a_restart(home: Home) -> None:
    start = _write(home, catchup=True)
    _start(home)
    time.sleep(2.5)
    _stop(home)
    stopped = len(_runs(home))
    time.sleep(2)  # intervals pass while no scheduler runs
    _start(home)
    wait_until(lambda: len(_runs(home)) >= stopped + 4, what="the missed intervals")
    _stop(home)
    runs = _runs(home)
    logical = [datetime.fromisoformat(str(r["logical_date"])) for r in runs]
    assert logical[0] == start
    assert logical == [start + timedelta(seconds=i) for i in range(len(logical))]  # no gap
    assert len(set(logical)) == len(logical)  # no double
    for run in runs:
        begin = datetime.fromisoformat(str(run["data_interval_start"]))
        end = datetime.fromisoformat(str(run["data_interval_end"]))
        assert (begin, end) == (
            datetime.fromisoformat(str(run["logical_date"])),
            begin + timedelta(seconds=1),
        )
        assert run["run_type"] == "scheduled"
        assert datetime.fromisoformat(str(run["queued_at"])) >= end  # runs after its interval


def test_without_catchup_only_the_latest_interval_runs(home: Home) -> None:
    start = _write(home, catchup=False)
    _start(home)
    first = wait_until(lambda: _runs(home), what="the first run")
    _stop(home)
    # the latest interval complete at start-up, not the 3 s of history before it
    assert datetime.fromisoformat(str(first[0]["logical_date"])) >= start + timedelta(seconds=2)
    time.sleep(3)
    before = len(_runs(home))
    _start(home)
    wait_until(lambda: len(_runs(home)) > before, what="a run after the restart")
    _stop(home)
    logical = [datetime.fromisoformat(str(r["logical_date"])) for r in _runs(home)]
    assert len(set(logical)) == len(logical)
    gap = logical[before] - logical[before - 1]
    assert gap >= timedelta(seconds=3)  # the downtime's intervals were skipped


def test_max_active_runs_bounds_running_runs(home: Home) -> None:
    _write(home, catchup=True, mar=1, sleep=0.4)
    _start(home)
    wait_until(lambda: len(_runs(home)) >= 4, what="four runs")
    _stop(home)
    spans = [(str(r["start_date"]), str(r["end_date"])) for r in _runs(home) if r["end_date"]]
    for (_, end), (begin, _) in itertools.pairwise(spans):
        assert begin >= end  # the next run started only once the previous one ended


def test_next_run_is_recorded_and_bad_cron_names_the_field(home: Home) -> None:
    home.write_dag(
        "daily.py",
        """
        from datetime import datetime
        from flowtui import DAG, EmptyOperator
        with DAG("daily", schedule="30 4 * * MON-FRI", start_date=datetime(2024, 1, 1)) as d:
            EmptyOperator(task_id="x")
        with DAG("broken_cron", schedule="61 * * * *", start_date=datetime(2024, 1, 1)) as b:
            EmptyOperator(task_id="x")
    """,
    )
    errors = json.loads(home.run("dags", "errors", "--output", "json", check=True).stdout)
    assert len(errors) == 1
    assert "'broken_cron'" in errors[0]["message"]
    assert "minute" in errors[0]["message"]
    home.write_dag(
        "daily.py",
        """
        from datetime import datetime
        from flowtui import DAG, EmptyOperator
        with DAG("daily", schedule="30 4 * * MON-FRI", start_date=datetime(2024, 1, 1)) as d:
            EmptyOperator(task_id="x")
    """,
    )
    _start(home)
    _stop(home)
    store = home.store()
    row = reads.dag(store.conn, "daily")
    runs = reads.runs(store.conn, "daily")
    store.close()
    assert row is not None
    upcoming = datetime.fromisoformat(str(row["next_run_at"]))
    assert upcoming > datetime.now(UTC) - timedelta(days=1)
    assert (upcoming.hour, upcoming.minute) == (4, 30)
    assert len(runs) == 1  # catchup=False: only the latest weekday interval
