"""DAG params given as `Param`s on the command line: `dags trigger --conf` and `dags test --conf`
check the conf against each Param's JSON schema and refuse a bad or missing value with one line
and no run; a bad default or a required param on a scheduled DAG fails the file at load; tasks
see plain values."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import Home

PARAMS = """
    from flowtui import DAG, Param, PythonOperator

    def show(params):
        return params

    with DAG("params", schedule=None, params={
        "n": Param(5, type="integer", minimum=1),
        "mode": Param("fast", enum=["fast", "slow"]),
        "who": Param(type="string", minLength=1),
        "note": "plain",
    }):
        PythonOperator(task_id="show", python_callable=show)
"""


def _runs(home: Home) -> int:
    store = home.store()
    try:
        return int(store.conn.execute("SELECT COUNT(*) FROM dag_runs").fetchone()[0])
    finally:
        store.close()


def test_trigger_checks_conf_against_the_params_schemas(home: Home) -> None:
    home.write_dag("params.py", PARAMS)
    bad = home.run("dags", "trigger", "params", "--conf", '{"who": "ann", "n": 0}')
    assert bad.returncode == 1
    assert bad.stderr == (
        "flowtui: error: DAG 'params': param 'n' = 0 is not valid: 0 is less than the minimum "
        "of 1; no run was created\n"
    )
    wrong = home.run("dags", "trigger", "params", "--conf", '{"who": "ann", "mode": "slowly"}')
    assert wrong.returncode == 1
    assert "param 'mode' = 'slowly' is not valid: 'slowly' is not one of" in wrong.stderr
    assert _runs(home) == 0
    ok = home.run("dags", "trigger", "params", "--conf", '{"who": "ann", "n": 7, "mode": "slow"}')
    assert ok.returncode == 0, ok.stderr
    assert _runs(home) == 1


def test_a_required_param_without_a_value_refuses_the_run(home: Home) -> None:
    home.write_dag("params.py", PARAMS)
    done = home.run("dags", "trigger", "params")
    assert done.returncode == 1
    assert done.stderr == (
        "flowtui: error: DAG 'params': param 'who' is required (it has no default); give it in "
        "the conf, e.g. --conf '{\"who\": ...}'; no run was created\n"
    )
    empty = home.run("dags", "test", "params", "--conf", '{"who": ""}')
    assert empty.returncode == 1
    assert "param 'who' = '' is not valid: '' should be non-empty" in empty.stderr
    assert _runs(home) == 0


def test_dags_test_gives_tasks_the_plain_values(home: Home) -> None:
    home.write_dag("params.py", PARAMS)
    done = home.run("dags", "test", "params", "--conf", '{"who": "ann", "n": 2}')
    assert done.returncode == 0, done.stdout + done.stderr
    store = home.store()
    try:
        (value,) = store.conn.execute(
            "SELECT value FROM xcom WHERE dag_id = 'params' AND task_id = 'show'"
        ).fetchone()
    finally:
        store.close()
    assert json.loads(value) == {"n": 2, "mode": "fast", "who": "ann", "note": "plain"}


def test_a_bad_default_and_a_scheduled_required_param_fail_the_file(home: Home) -> None:
    home.write_dag(
        "bad_default.py",
        """
        from flowtui import DAG, Param

        with DAG("bad_default", schedule=None, params={"n": Param(0, type="integer", minimum=1)}):
            pass
        """,
    )
    home.write_dag(
        "scheduled.py",
        """
        from datetime import datetime
        from flowtui import DAG, Param

        with DAG("scheduled", schedule="@daily", start_date=datetime(2024, 1, 1),
                 params={"who": Param(type="string")}):
            pass
        """,
    )
    done = home.run("dags", "errors", "--output", "json", check=True)
    errors = {e["filename"].rsplit("/", 1)[-1]: e["message"] for e in json.loads(done.stdout)}
    assert errors == {
        "bad_default.py": "DAG 'bad_default': param 'n': default 0 is not valid: 0 is less than "
        "the minimum of 1; fix the default or the schema",
        "scheduled.py": "DAG 'scheduled': param 'who' has no default, so the DAG must have "
        "schedule=None (a scheduled run has no conf to give it a value), as in Airflow; give "
        "the param a default or the DAG no schedule",
    }


def test_dags_test_of_a_dag_without_params_does_not_import_jsonschema(home: Home) -> None:
    home.write_dag(
        "one.py",
        """
        from flowtui import DAG, EmptyOperator
        with DAG("one", schedule=None, params={"plain": 1}):
            EmptyOperator(task_id="t")
        """,
    )
    home.run("dags", "list", check=True)
    script = (
        "import sys\n"
        "from flowtui.cli.main import main\n"
        "sys.argv = ['flowtui', 'dags', 'test', 'one']\n"
        "code = main()\n"
        "print('jsonschema loaded:', 'jsonschema' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=home.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "jsonschema loaded: False"
