"""Pools through the real command: `flowtui pools set|list|delete` (output, exit codes,
one-line errors, the audit), a change applied by a running scheduler without a restart, and
real attempts in real processes (`dags test`): a pool of 2 never runs more than 2 at once,
judged from the stored start and end of each attempt; a task holding both slots runs alone;
a task of a pool nobody created fails with the one-line cause while the run goes on; and a
bad `pool_slots` refused when the file loads."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from flowtui.store import reads
from tests.conftest import Home, wait_until


def _pools(home: Home) -> dict[str, dict[str, Any]]:
    done = home.run("pools", "list", "--output", "json", check=True)
    return {row["name"]: row for row in json.loads(done.stdout)}


def test_set_list_delete(home: Home) -> None:
    done = home.run("pools", "set", "etl", "4", "--description", "the warehouse")
    assert (done.returncode, done.stdout, done.stderr) == (0, "pool etl set to 4 slots\n", "")
    home.run("pools", "set", "etl", "2", check=True)  # the description stays
    listed = home.run("pools", "list", check=True)
    assert listed.stdout.splitlines() == [
        "name          slots  used  queued  description",
        "default_pool  32     0     0       slots follow parallelism until set",
        "etl           2      0     0       the warehouse",
    ]
    done = home.run("pools", "delete", "etl")
    assert (done.returncode, done.stdout) == (0, "pool etl deleted\n")
    assert list(_pools(home)) == ["default_pool"]
    commands = [e for e in home.events() if e["kind"] == "command"]
    assert [json.loads(e["detail"])["command"] for e in commands] == [
        "set_pool",
        "set_pool",
        "delete_pool",
    ]
    assert all(e["actor"].startswith("cli:") for e in commands)


def test_default_pool_has_parallelism_slots_unless_set(home: Home) -> None:
    home.configure(parallelism=5)
    assert _pools(home)["default_pool"]["slots"] == 5
    home.run("pools", "set", "default_pool", "3", check=True)
    assert _pools(home)["default_pool"]["slots"] == 3


def test_bad_input_is_one_line_and_a_nonzero_exit(home: Home) -> None:
    cases = [
        (("set", "etl", "-1"), 1, "pool slots -1 is not valid; give a whole number >= 0"),
        (("set", "etl", "many"), 1, "pool slots 'many' is not valid; give a whole number >= 0"),
        (
            ("delete", "default_pool"),
            1,
            "default_pool cannot be deleted; change its slots with "
            "`flowtui pools set default_pool SLOTS`",
        ),
        (("delete", "nope"), 1, "pool 'nope' does not exist; `flowtui pools list` shows the pools"),
    ]
    for args, code, message in cases:
        done = home.run("pools", *args)
        assert (done.returncode, done.stdout, done.stderr) == (
            code,
            "",
            f"flowtui: error: {message}\n",
        )
    done = home.run("pools", "set", "etl")
    assert done.returncode == 2
    assert "the following arguments are required: SLOTS" in done.stderr
    assert list(_pools(home)) == ["default_pool"]


GATED = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("gated", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator(task_id="work", bash_command="sleep 2", pool="gate")
"""


def test_a_running_scheduler_applies_a_change_at_once(
    home: Home, scheduler: subprocess.Popen[str]
) -> None:
    """A pool of 0 slots holds the task `scheduled` (queued 1); given a slot, the running
    scheduler starts it (used 1) and it succeeds; deleting the pool meanwhile is allowed."""
    home.write_dag("gated.py", GATED)
    home.run("pools", "set", "gate", "0", check=True)
    wait_until(lambda: home.run("dags", "trigger", "gated").returncode == 0, what="the DAG to load")
    wait_until(lambda: _pools(home)["gate"]["queued"] == 1, what="the task to wait")
    run_id = home.latest_run_id("gated")
    assert home.task_state("gated", run_id, "work") == "scheduled"
    home.run("pools", "set", "gate", "1", check=True)
    wait_until(lambda: _pools(home)["gate"]["used"] == 1, what="the task to run")
    assert _pools(home)["gate"]["queued"] == 0
    home.run("pools", "delete", "gate", check=True)  # the running attempt finishes
    wait_until(lambda: home.task_state("gated", run_id, "work") == "success", what="success")


POOLED = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("pooled", start_date=datetime(2024, 1, 1), max_active_tasks=16) as dag:
        for i in range(4):
            BashOperator(task_id=f"nap{i}", bash_command="sleep 0.6", pool="two")

    with DAG("heavy", start_date=datetime(2024, 1, 1), max_active_tasks=16) as heavy:
        BashOperator(task_id="big", bash_command="sleep 0.6", pool="two", pool_slots=2,
                     priority_weight=10)
        for i in range(2):
            BashOperator(task_id=f"small{i}", bash_command="sleep 0.6", pool="two")
"""


def _most_at_once(home: Home, dag_id: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """The largest number of the run's attempts that overlapped, from their stored start and
    end times, and those times by task."""
    store = home.store()
    try:
        run = reads.run(store.conn, dag_id)
        assert run is not None
        rows = reads.attempts(store.conn, dag_id, run["run_id"])
    finally:
        store.close()
    spans = {row["task_id"]: (row["start_date"], row["end_date"]) for row in rows}
    edges = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    most = now = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        now += step
        most = max(most, now)
    return most, spans


def test_a_pool_of_two_runs_two_at_a_time(home: Home) -> None:
    home.write_dag("pooled.py", POOLED)
    home.run("pools", "set", "two", "2", check=True)
    done = home.run("dags", "test", "pooled")
    assert done.returncode == 0, done.stdout + done.stderr
    most, spans = _most_at_once(home, "pooled")
    assert (most, len(spans)) == (2, 4)
    done = home.run("dags", "test", "heavy")
    assert done.returncode == 0, done.stdout + done.stderr
    most, spans = _most_at_once(home, "heavy")
    assert most == 2
    big_start, big_end = spans.pop("big")
    assert all(end <= big_start or start >= big_end for start, end in spans.values()), spans


UNKNOWN = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("lost", start_date=datetime(2024, 1, 1)) as dag:
        load = BashOperator(task_id="load", bash_command="echo loaded", pool="etl", retries=2)
        report = BashOperator(task_id="report", bash_command="echo report")
        cleanup = BashOperator(task_id="cleanup", bash_command="echo clean",
                               trigger_rule="all_done")
        beside = BashOperator(task_id="beside", bash_command="echo beside")
        load >> [report, cleanup]
"""


def test_an_unknown_pool_fails_the_task_and_the_run_goes_on(home: Home) -> None:
    home.write_dag("lost.py", UNKNOWN)
    done = home.run("dags", "test", "lost")
    assert done.returncode == 1
    cause = "pool 'etl' does not exist; create it with: flowtui pools set etl SLOTS"
    shown = home.runs_show("lost")
    assert shown["state"] == "failed"
    assert {t: (ti["state"], ti["try_number"]) for t, ti in shown["tasks"].items()} == {
        "load": ("failed", 0),
        "report": ("upstream_failed", 0),
        "cleanup": ("success", 1),
        "beside": ("success", 1),
    }
    (failed,) = [e for e in home.events(task_id="load") if e["new_state"] == "failed"]
    assert failed["detail"] == cause
    assert cause in done.stdout


BAD_SLOTS = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("greedy", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator(task_id="hog", bash_command="true", pool_slots=0)
"""


def test_a_bad_pool_slots_is_refused_when_the_file_loads(home: Home) -> None:
    path = home.write_dag("greedy.py", BAD_SLOTS)
    done = home.run("dags", "errors")
    assert done.stdout == (
        f"{path}:6: DAG 'greedy', task 'hog': pool_slots must be a whole number >= 1, got 0\n"
    )
