"""A store with pinned data (dates, run ids, durations, causes): what the snapshot tests and
the Pilot tests of the failures list, the grid's failed-cell jumps, the import errors and a
mapped task's instances read. Nothing in it moves: no scheduler runs on it."""

from __future__ import annotations

import json
from typing import Any

from flowtui.spec import DagSpec, TaskSpec
from flowtui.store.schema import open_connection
from tests.conftest import Home

CAUSES = {
    "transform": "ValueError: row 42 has no customer_id (orders.csv, line 43)",
    "load": "psycopg.OperationalError: connection refused",
    "each": "ValueError: 20 is not a valid order id",
}
"""The error line of each task's failed attempt."""

EDGES = {
    "extract": ("validate", "transform"),
    "validate": ("load",),
    "transform": ("load",),
    "load": ("report",),
    "report": (),
}
RUNS: list[tuple[str, str, dict[str, tuple[str, int, float | None]]]] = [
    # run_id, run state, {task: (state, try_number, duration)}
    (
        "scheduled__2024-03-01",
        "failed",
        {
            **{t: ("success", 1, 12.0) for t in EDGES},
            "load": ("failed", 1, 2.0),
            "report": ("upstream_failed", 0, None),
        },
    ),
    ("scheduled__2024-03-02", "success", {t: ("success", 1, 14.0) for t in EDGES}),
    (
        "scheduled__2024-03-03",
        "failed",
        {
            "extract": ("success", 1, 11.0),
            "validate": ("success", 2, 3.0),
            "transform": ("failed", 1, 48.0),
            "load": ("upstream_failed", 0, None),
            "report": ("upstream_failed", 0, None),
        },
    ),
]


def _spec() -> DagSpec:
    upstream = {t: tuple(u for u, downs in EDGES.items() if t in downs) for t in EDGES}
    tasks = {
        t: TaskSpec(t, "BashOperator", upstream=upstream[t], downstream=EDGES[t]) for t in EDGES
    }
    return DagSpec("sales_etl", "/dags/sales.py", tasks, schedule="@daily")


def write_pinned_store(home: Home) -> None:
    """The home's store with `sales_etl` (three runs, two with a failed task) and `a_quiet`
    (one successful run: first by id, so a list by id would put it on top)."""
    home.path.mkdir(parents=True, exist_ok=True)
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "INSERT INTO dags (dag_id, fileloc, spec, schedule) VALUES (?, ?, ?, ?)",
        ("sales_etl", "/dags/sales.py", json.dumps(_spec().to_dict()), json.dumps("@daily")),
    )
    for day, (run_id, state, tis) in enumerate(RUNS, start=1):
        start = f"2024-03-0{day + 1}T00:00:00+00:00"
        conn.execute(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, "
            "data_interval_start, data_interval_end, start_date, end_date, conf) "
            "VALUES ('sales_etl', ?, 'scheduled', ?, ?, ?, ?, ?, ?, '{}')",
            (
                run_id,
                state,
                f"2024-03-0{day}T00:00:00+00:00",
                f"2024-03-0{day}T00:00:00+00:00",
                start,
                start,
                f"2024-03-0{day + 1}T00:01:05+00:00",
            ),
        )
        offset = 0
        for task_id, (ti_state, tries, duration) in tis.items():
            write_task_instance(conn, run_id, task_id, ti_state, tries, duration, day, offset)
            offset += 5
    conn.execute(
        "INSERT INTO dags (dag_id, fileloc, spec, schedule) VALUES (?, ?, ?, ?)",
        ("a_quiet", "/dags/quiet.py", json.dumps(_quiet_spec().to_dict()), "null"),
    )
    conn.execute(
        "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, start_date, "
        "end_date, conf) VALUES ('a_quiet', 'manual__2024-03-04', 'manual', 'success', "
        "'2024-03-04T00:00:00+00:00', '2024-03-04T00:00:00+00:00', "
        "'2024-03-04T00:00:02+00:00', '{}')"
    )
    write_task_instance(conn, "manual__2024-03-04", "noop", "success", 1, 1.0, 3, 0, "a_quiet")
    conn.close()


def group_pinned_dag(home: Home) -> None:
    """Put validate and transform of `sales_etl` in a task group `prepare` (made without
    prefix_group_id, so their ids stay) and label the edge extract -> validate."""
    spec = _spec()
    for task_id in ("validate", "transform"):
        spec.tasks[task_id] = spec.tasks[task_id]._replace(task_groups=("prepare",))
    spec.labels["extract"] = {"validate": "checks"}
    conn = open_connection(home.path / "flowtui.db")
    conn.execute(
        "UPDATE dags SET spec = ? WHERE dag_id = 'sales_etl'", (json.dumps(spec.to_dict()),)
    )
    conn.close()


def _quiet_spec() -> DagSpec:
    return DagSpec("a_quiet", "/dags/quiet.py", {"noop": TaskSpec("noop", "EmptyOperator")})


def write_task_instance(
    conn: Any,
    run_id: str,
    task_id: str,
    state: str,
    tries: int,
    duration: float | None,
    day: int,
    offset: int,
    dag_id: str = "sales_etl",
    map_index: int = -1,
) -> None:
    """One task instance and its attempts, the last one failed with a cause when it failed."""

    def at(seconds: float) -> str:
        return f"2024-03-0{day + 1}T00:00:{seconds:06.3f}+00:00"

    conn.execute(
        "INSERT INTO task_instances (dag_id, run_id, task_id, map_index, state, try_number, "
        "max_tries, duration, start_date, end_date) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        (
            dag_id,
            run_id,
            task_id,
            map_index,
            state,
            tries,
            duration,
            at(offset + 4 * tries - 3) if tries else None,
            at(offset + 4 * tries) if tries else None,
        ),
    )
    for try_number in range(1, tries + 1):
        begin = offset + (try_number - 1) * 4
        conn.execute(
            "INSERT INTO attempts (dag_id, run_id, task_id, map_index, try_number, state, "
            "queued_at, start_date, end_date, exit_code, cause) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dag_id,
                run_id,
                task_id,
                map_index,
                try_number,
                state if try_number == tries else "failed",
                at(begin),
                at(begin + 1),
                at(min(begin + 1 + (duration or 1), 59)),
                1 if state == "failed" else 0,
                CAUSES.get(task_id) if state == "failed" and try_number == tries else None,
            ),
        )


MAPPED_RUN = "manual__2024-03-05"
MAPPED_EDGES = {"make": ("each",), "each": ("join",), "join": ()}


def write_mapped_store(home: Home) -> None:
    """`fan_out` (make >> each, mapped over make's list [10, 20, 30], >> join) with one failed
    run: each[0] and each[2] succeeded (returning 11 and 31), each[1] failed (with a failure
    event, as the scheduler writes it), join is upstream_failed. Adds to a store
    `write_pinned_store` wrote, or makes one."""
    home.path.mkdir(parents=True, exist_ok=True)
    conn = open_connection(home.path / "flowtui.db")
    upstream = {
        t: tuple(u for u, downs in MAPPED_EDGES.items() if t in downs) for t in MAPPED_EDGES
    }
    tasks = {
        t: TaskSpec(
            t,
            "PythonOperator",
            upstream=upstream[t],
            downstream=MAPPED_EDGES[t],
            map_over=(("make", "return_value"),) if t == "each" else None,
        )
        for t in MAPPED_EDGES
    }
    spec = DagSpec("fan_out", "/dags/fan_out.py", tasks)
    conn.execute(
        "INSERT INTO dags (dag_id, fileloc, spec, schedule) VALUES (?, ?, ?, 'null')",
        ("fan_out", "/dags/fan_out.py", json.dumps(spec.to_dict())),
    )
    conn.execute(
        "INSERT INTO dag_runs (dag_id, run_id, run_type, state, logical_date, start_date, "
        "end_date, conf) VALUES ('fan_out', ?, 'manual', 'failed', '2024-03-05T00:00:00+00:00', "
        "'2024-03-06T00:00:00+00:00', '2024-03-06T00:00:40+00:00', '{}')",
        (MAPPED_RUN,),
    )
    for task_id, index, value in (
        ("make", -1, "[10, 20, 30]"),
        ("each", 0, "11"),
        ("each", 2, "31"),
    ):
        conn.execute(
            "INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value, timestamp) "
            "VALUES ('fan_out', ?, ?, ?, 'return_value', ?, '2024-03-06T00:00:04+00:00')",
            (MAPPED_RUN, task_id, index, value),
        )

    def write(
        task_id: str, state: str, duration: float | None, offset: int, index: int = -1
    ) -> None:
        tries = 0 if duration is None else 1
        write_task_instance(
            conn, MAPPED_RUN, task_id, state, tries, duration, 5, offset, "fan_out", index
        )

    write("make", "success", 2.0, 0)
    for index, state in enumerate(("success", "failed", "success")):
        write("each", state, 3.0 + index, 5 + 5 * index, index)
    write("join", "upstream_failed", None, 30)
    conn.execute(
        "INSERT INTO events (ts, kind, dag_id, run_id, task_id, map_index, try_number, "
        "old_state, new_state, actor, detail) VALUES ('2024-03-06T00:00:14+00:00', "
        "'task_state', 'fan_out', ?, 'each', 1, 1, 'running', 'failed', 'scheduler', ?)",
        (MAPPED_RUN, CAUSES["each"]),
    )
    conn.close()
