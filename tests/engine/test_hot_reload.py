"""Hot reload: a running scheduler sees a DAG file created, edited or deleted (within about a
second: the tests allow more, for a loaded machine); removed tasks leave their not-yet-run
instances `removed`; a deleted file's DAG stops being scheduled but keeps its history."""

from __future__ import annotations

import subprocess

from tests.conftest import Home, wait_until

TWO_STEPS = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("{dag_id}", start_date=datetime(2024, 1, 1)) as dag:
        first = BashOperator(task_id="first", bash_command="sleep {sleep}")
        {more}
"""


def _dag_ids(home: Home) -> set[str]:
    store = home.store()
    try:
        rows = store.conn.execute("SELECT dag_id FROM dags WHERE is_active = 1").fetchall()
    finally:
        store.close()
    return {r[0] for r in rows}


def test_created_edited_and_deleted_files_are_seen_by_the_running_scheduler(
    home: Home, scheduler: subprocess.Popen[str]
) -> None:
    path = home.write_dag("late.py", TWO_STEPS.format(dag_id="late", sleep=0, more=""))
    wait_until(lambda: "late" in _dag_ids(home), timeout=10, what="the new DAG")
    assert home.run("dags", "trigger", "late").returncode == 0
    wait_until(lambda: home.runs_show("late")["state"] == "success", what="its run")

    (home.dags / "broken.py").write_text("from flowtui import DAG\nraise RuntimeError('x')\n")
    wait_until(lambda: _errors(home), timeout=10, what="the import error")

    path.write_text(path.read_text().replace('"late"', '"renamed"'))
    wait_until(lambda: _dag_ids(home) == {"renamed"}, timeout=10, what="the edit")

    path.unlink()
    wait_until(lambda: _dag_ids(home) == set(), timeout=10, what="the deletion")
    assert home.runs_show("late")["state"] == "success"  # its history stays


def _errors(home: Home) -> list[str]:
    store = home.store()
    try:
        return [r[0] for r in store.conn.execute("SELECT filename FROM import_errors")]
    finally:
        store.close()


def test_a_task_removed_from_the_dag_is_removed_in_the_running_run(
    home: Home, scheduler: subprocess.Popen[str]
) -> None:
    go = home.path / "go"  # first runs until the test says so
    held = f"; until [ -e {go} ]; do sleep 0.05; done"
    more = 'second = BashOperator(task_id="second", bash_command="true")\n        first >> second'
    path = home.write_dag("grow.py", TWO_STEPS.format(dag_id="grow", sleep=f"0{held}", more=more))
    wait_until(lambda: "grow" in _dag_ids(home), timeout=10, what="the DAG")
    assert home.run("dags", "trigger", "grow").returncode == 0
    run_id = wait_until(
        lambda: (
            home.runs_show("grow")["tasks"]["first"]["state"] == "running"
            and home.runs_show("grow")["run_id"]
        ),
        what="first to run",
    )
    home.write_dag(path.name, TWO_STEPS.format(dag_id="grow", sleep=f"0{held}", more=""))
    wait_until(
        lambda: home.task_state("grow", run_id, "second") == "removed", what="second to be removed"
    )
    go.touch()
    wait_until(lambda: home.runs_show("grow", run_id)["state"] == "success", what="the run")
    assert home.task_state("grow", run_id, "first") == "success"
