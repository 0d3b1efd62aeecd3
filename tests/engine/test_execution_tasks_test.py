"""`flowtui tasks test` on bash tasks, through the real command: a @task.bash function that
raises SkipTask or FailTask ends the test as the scheduler would record the attempt (skipped,
or failed with its one-line cause), and bash's exit code counts as it does for the scheduler;
which map index it runs of a mapped task (in process)."""

from __future__ import annotations

from datetime import datetime

import pytest

from flowtui import DAG, BashOperator
from flowtui.authoring.baseoperator import as_operator
from flowtui.errors import MapIndexRefused
from flowtui.execution.task_test import map_index_to_test
from flowtui.store import reads
from tests.conftest import Home

_DAG = """
from datetime import datetime
from flowtui import DAG, BashOperator, FailTask, SkipTask, task

with DAG("bashy", start_date=datetime(2024, 1, 1)) as dag:

    @task.bash
    def skips() -> str:
        raise SkipTask("nothing to do today")

    @task.bash
    def fails() -> str:
        raise FailTask("bad input, retrying is pointless")

    skips()
    fails()
    BashOperator(task_id="exits_99", bash_command="exit 99")
    BashOperator(task_id="exits_3", bash_command="exit 3")
"""


@pytest.fixture
def bashy(home: Home) -> Home:
    home.write_dag("bashy.py", _DAG)
    return home


def test_a_task_bash_function_raising_skip_task_is_skipped(bashy: Home) -> None:
    done = bashy.run("tasks", "test", "bashy", "skips")
    assert (done.returncode, done.stderr.splitlines()) == (0, ["task skips: skipped"])
    assert "Skipping the task: nothing to do today" in done.stdout


def test_a_task_bash_function_raising_fail_task_fails_with_its_cause(bashy: Home) -> None:
    done = bashy.run("tasks", "test", "bashy", "fails")
    assert done.returncode == 1
    assert "unexpected" not in done.stderr
    assert done.stderr.splitlines()[-2:] == [
        "task fails: FailTask: bad input, retrying is pointless",
        "task fails: failed",
    ]


def test_bash_exit_codes_count_as_for_the_scheduler(bashy: Home) -> None:
    skipped = bashy.run("tasks", "test", "bashy", "exits_99")
    assert (skipped.returncode, skipped.stderr.splitlines()) == (
        0,
        ["task exits_99: bash exited with 99: skipped", "task exits_99: skipped"],
    )
    failed = bashy.run("tasks", "test", "bashy", "exits_3")
    assert (failed.returncode, failed.stderr.splitlines()) == (
        1,
        ["task exits_3: bash exited with code 3", "task exits_3: failed"],
    )


def test_the_scheduler_records_the_same_outcomes(bashy: Home) -> None:
    assert bashy.run("dags", "test", "bashy").returncode == 1
    store = bashy.store()
    try:
        run = reads.run(store.conn, "bashy")
        assert run is not None
        outcomes = {
            task_id: [
                (a["state"], a["cause"])
                for a in reads.attempts(store.conn, "bashy", run["run_id"], task_id)
            ]
            for task_id in ("skips", "fails", "exits_99", "exits_3")
        }
    finally:
        store.close()
    assert outcomes == {
        "skips": [("skipped", None)],
        "fails": [("failed", "FailTask: bad input, retrying is pointless")],
        "exits_99": [("skipped", "bash exited with 99: skipped")],
        "exits_3": [("failed", "bash exited with code 3")],
    }
    logs = bashy.path / "logs" / "bashy"
    skip_log = next(logs.rglob("skips/attempt=1.log")).read_text()
    assert "Skipping the task: nothing to do today" in skip_log
    fail_log = next(logs.rglob("fails/attempt=1.log")).read_text()
    assert "FailTask: bad input, retrying is pointless" in fail_log


@pytest.mark.parametrize(
    ("task_id", "map_index", "refusal"),
    [
        ("echo", 1, None),
        ("plain", None, None),
        ("echo", None, "DAG 'm', task 'echo': is mapped: give --map-index 0 to 1"),
        ("echo", 2, "DAG 'm', task 'echo': has 2 instance(s): give --map-index 0 to 1"),
        ("nothing", 0, "DAG 'm', task 'nothing': maps over nothing: it has no instance"),
        ("plain", 0, "DAG 'm', task 'plain': is not mapped; leave --map-index out"),
    ],
)
def test_the_map_index_tasks_test_runs(
    task_id: str, map_index: int | None, refusal: str | None
) -> None:
    with DAG("m", start_date=datetime(2024, 1, 1)) as dag:
        BashOperator.partial(task_id="echo").expand(bash_command=["echo a", "echo b"])
        BashOperator.partial(task_id="nothing", bash_command="true").expand(env=[])
        BashOperator(task_id="plain", bash_command="true")
    task = as_operator(dag.get_task(task_id))
    if refusal is None:
        assert map_index_to_test("m", task, map_index) == (-1 if map_index is None else map_index)
        return
    with pytest.raises(MapIndexRefused) as raised:
        map_index_to_test("m", task, map_index)
    assert str(raised.value) == refusal
