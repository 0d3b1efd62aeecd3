"""The detail views' reads: a task's history sums up a mapped task's instances per run (the
state that stands for them, the most tries, the longest duration), and XComs are the unmapped
instance's."""

from __future__ import annotations

from pathlib import Path

from flowtui.store.details import task_runs, xcoms
from flowtui.store.schema import open_connection


def test_a_mapped_tasks_instances_are_summed_up_per_run(tmp_path: Path) -> None:
    conn = open_connection(tmp_path / "flowtui.db")
    for run_id, day in (("r1", "01"), ("r2", "02")):
        conn.execute(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date) "
            "VALUES ('d', ?, 'manual', 'failed', ?)",
            (run_id, f"2024-03-{day}T00:00:00+00:00"),
        )
    rows = [
        ("r1", -1, "success", 1, 4.0),
        ("r2", 0, "success", 1, 2.0),
        ("r2", 1, "failed", 3, 9.0),
        ("r2", 2, "running", 1, None),
    ]
    conn.executemany(
        "INSERT INTO task_instances (dag_id, run_id, task_id, map_index, state, try_number, "
        "duration) VALUES ('d', ?, 't', ?, ?, ?, ?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value, timestamp) "
        "VALUES ('d', 'r2', 't', ?, 'return_value', ?, 'ts')",
        [(0, "1"), (1, "2")],
    )
    found = [
        (r["run_id"], r["state"], r["try_number"], r["duration"]) for r in task_runs(conn, "d", "t")
    ]
    assert found == [("r2", "failed", 3, 9.0), ("r1", "success", 1, 4.0)]
    assert xcoms(conn, "d", "r2", "t") == []  # the instances' own, not the task's
    conn.close()
