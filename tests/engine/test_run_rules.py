"""Rules across runs and at trigger time: depends_on_past holds a task until its previous
run's instance succeeded (or was skipped); a trigger's conf must match the params' types."""

from __future__ import annotations

from tests.conftest import Home, wait_until

PAST = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("past", start_date=datetime(2024, 1, 1), max_active_runs=2,
             params={"limit": 10, "ratio": 0.5, "name": "x", "dry": False}) as dag:
        BashOperator(task_id="step", bash_command="test {{ ds }} != 2024-01-01",
                     depends_on_past=True)
"""


def test_depends_on_past_waits_for_the_previous_run(home: Home) -> None:
    home.write_dag("past.py", PAST)
    process = home.start("scheduler")
    assert process.stdout is not None
    assert process.stdout.readline().startswith("flowtui scheduler:")
    try:
        assert home.run("dags", "trigger", "past", "--logical-date", "2024-01-01").returncode == 0
        first = home.runs_show("past")["run_id"]
        wait_until(lambda: home.task_state("past", first, "step") == "failed", what="day 1")
        assert home.run("dags", "trigger", "past", "--logical-date", "2024-01-02").returncode == 0
        second = home.runs_show("past")["run_id"]
        assert second != first
        wait_until(lambda: home.runs_show("past", second)["state"] == "running", what="day 2")
        assert home.task_state("past", second, "step") == "none"  # held, not failed
        assert home.run("tasks", "mark", "past", first, "step", "success").returncode == 0
        wait_until(
            lambda: home.task_state("past", second, "step") == "success",
            what="day 2 released by the mark",
        )
        assert home.runs_show("past", second)["state"] == "success"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_trigger_conf_must_match_param_types(home: Home) -> None:
    home.write_dag("past.py", PAST)
    done = home.run("dags", "trigger", "past", "--conf", '{"limit": "ten"}')
    assert done.returncode == 1
    assert done.stderr == (
        "flowtui: error: DAG 'past': conf 'limit' = 'ten' is of type str, but param 'limit' "
        "is of type int (default 10); give a value of type int or leave it out\n"
    )
    assert home.run("dags", "trigger", "past", "--conf", '{"dry": 1}').returncode == 1
    store = home.store()
    assert store.conn.execute("SELECT COUNT(*) FROM dag_runs").fetchone() == (0,)
    store.close()
    ok = home.run("dags", "trigger", "past", "--conf", '{"limit": 3, "ratio": 1, "extra": []}')
    assert ok.returncode == 0, ok.stderr
