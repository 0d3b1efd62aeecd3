"""`flowtui dags backfill`: the runs of a range, at most max_active_runs at a time, a progress
report, exit 1 if any failed; a second backfill skips what succeeded unless told otherwise."""

from __future__ import annotations

import json

from flowtui.store import reads
from tests.conftest import Home

DAILY = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("daily", schedule="@daily", start_date=datetime(2024, 1, 1), max_active_runs=2) as d:
        BashOperator(task_id="load", bash_command="{command}")
"""
FAILS_ON_THE_3RD = "test {{ ds }} != 2024-03-03 || test -e {{ params.marker }}"


def _runs(home: Home) -> list[dict[str, object]]:
    store = home.store()
    try:
        return sorted(reads.runs(store.conn, "daily"), key=lambda r: str(r["logical_date"]))
    finally:
        store.close()


def test_backfill_runs_the_range_and_reports_failures(home: Home) -> None:
    marker = home.path.parent / "fixed"
    command = FAILS_ON_THE_3RD.replace("{{ params.marker }}", str(marker))
    home.write_dag("daily.py", DAILY.format(command=command))
    done = home.run("dags", "backfill", "daily", "--start", "2024-03-01", "--end", "2024-03-05")
    assert done.returncode == 1, done.stderr
    assert "5 interval(s); 4 succeeded, 1 failed, 0 skipped" in done.stderr
    runs = _runs(home)
    assert [str(r["logical_date"])[:10] for r in runs] == [
        "2024-03-01",
        "2024-03-02",
        "2024-03-03",
        "2024-03-04",
        "2024-03-05",
    ]
    assert [r["state"] for r in runs] == ["success", "success", "failed", "success", "success"]
    assert {r["run_type"] for r in runs} == {"backfill"}
    first = runs[0]
    assert str(first["data_interval_start"])[:10] == "2024-03-01"
    assert str(first["data_interval_end"])[:10] == "2024-03-02"
    starts = sorted((str(r["start_date"]), str(r["end_date"])) for r in runs)
    for i, (begin, _end) in enumerate(starts):
        running = sum(1 for b, e in starts if b <= begin < e)
        assert running <= 2, (i, starts)  # max_active_runs

    again = home.run("dags", "backfill", "daily", "--start", "2024-03-01", "--end", "2024-03-05")
    assert again.returncode == 1
    assert "0 succeeded, 0 failed, 4 skipped (had succeeded), 1 left failed" in again.stderr
    assert "--rerun-failed" in again.stderr

    marker.write_text("fixed")
    rerun = home.run(
        "dags",
        "backfill",
        "daily",
        "--start",
        "2024-03-01",
        "--end",
        "2024-03-05",
        "--rerun-failed",
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "1 succeeded, 0 failed, 4 skipped" in rerun.stderr
    assert [r["state"] for r in _runs(home)] == ["success"] * 5
    third = home.runs_show("daily", str(_runs(home)[2]["run_id"]))
    load = third["tasks"]["load"]
    assert (load["state"], load["try_number"]) == ("success", 2)


def test_reset_reruns_everything_and_bad_ranges_are_refused(home: Home) -> None:
    home.write_dag("daily.py", DAILY.format(command="true"))
    assert (
        home.run(
            "dags", "backfill", "daily", "--start", "2024-03-01", "--end", "2024-03-02"
        ).returncode
        == 0
    )
    reset = home.run(
        "dags", "backfill", "daily", "--start", "2024-03-01", "--end", "2024-03-02", "--reset"
    )
    assert reset.returncode == 0
    assert "2 succeeded" in reset.stderr
    tries = [
        home.runs_show("daily", str(r["run_id"]))["tasks"]["load"]["try_number"]
        for r in _runs(home)
    ]
    assert tries == [2, 2]
    backwards = home.run(
        "dags", "backfill", "daily", "--start", "2024-03-05", "--end", "2024-03-01"
    )
    assert backwards.returncode == 1
    assert backwards.stderr.startswith("flowtui: error: --end")
    unknown = home.run("dags", "backfill", "nope", "--start", "2024-03-01", "--end", "2024-03-02")
    assert unknown.returncode == 1
    assert "DAG 'nope' not found" in unknown.stderr
    events = [
        json.loads(str(e["detail"]))
        for e in home.events(dag_id="daily")
        if e["kind"] == "run_created"
    ]
    assert {e["run_type"] for e in events} == {"backfill"}
