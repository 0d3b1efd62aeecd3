"""The command line of issue 13: `latest` as a run id (runs show, logs, tasks state|mark|clear),
`tasks list`, `tasks mark ... skipped`, `tasks clear` of every run (shows, asks on a terminal,
refuses without one unless --yes, --dry-run only lists), `logs --try 0`, `dags test --conf`
types, the ids '.' and '..', and a DAG folder that is missing or empty. All through the real
`flowtui` command."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from flowtui.store import reads
from tests.conftest import FLOWTUI, Home

PIPELINE = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator

    with DAG("pipeline", start_date=datetime(2024, 1, 1), params={"n": 1}) as dag:
        e = PythonOperator(task_id="extract", python_callable=lambda: print("extracting"))
        s = BashOperator(task_id="say", bash_command="echo said {{ ds }}", retries=2)
        e >> s
"""
OLDER, LATEST = "test__2024-03-01T00:00:00+00:00", "test__2024-03-02T00:00:00+00:00"


@pytest.fixture
def two_runs(home: Home) -> Home:
    """`pipeline` tested on 2024-03-02, then on 2024-03-01: the latest by logical date is not
    the last one made."""
    home.write_dag("pipeline.py", PIPELINE)
    for day in ("2024-03-02", "2024-03-01"):
        home.run("dags", "test", "pipeline", "--logical-date", day, check=True)
    return home


def _states(home: Home, run_id: str) -> dict[str, str]:
    store = home.store()
    try:
        return {
            t["task_id"]: t["state"] for t in reads.task_instances(store.conn, "pipeline", run_id)
        }
    finally:
        store.close()


def _fails_in_one_line(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("flowtui: error: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr, done.stderr


def test_latest_is_the_latest_run_in_every_command(two_runs: Home) -> None:
    home = two_runs
    assert home.runs_show("pipeline", "latest")["run_id"] == LATEST
    assert home.run("logs", "pipeline", "latest", "say", check=True).stdout.endswith(
        "said 2024-03-02\n"
    )
    state = home.run("tasks", "state", "pipeline", "latest", "say", check=True)
    assert state.stdout == "success\n"
    marked = home.run("tasks", "mark", "pipeline", "latest", "say", "skipped", check=True)
    assert marked.stdout == "say: success -> skipped\n"
    assert _states(home, LATEST) == {"extract": "success", "say": "skipped"}
    assert home.latest_run_id("pipeline") == LATEST
    assert _states(home, OLDER) == {"extract": "success", "say": "success"}
    cleared = home.run("tasks", "clear", "pipeline", "--run", "latest", "--task", "say", check=True)
    assert cleared.stdout == f"cleared 1 task instance(s) in 1 run(s)\n  {LATEST}: say\n"
    assert _states(home, OLDER) == {"extract": "success", "say": "success"}

    _fails_in_one_line(
        home.run("logs", "pipeline", "latest", "extract", "--try", "0"), "--try 0 is not valid"
    )
    _fails_in_one_line(home.run("tasks", "state", "nope", "latest", "x"), "DAG 'nope' not found")
    _fails_in_one_line(
        home.run("tasks", "state", "pipeline", "latest", "zzz"), "no task instance 'zzz'"
    )


def test_latest_of_a_dag_without_runs_is_one_line(home: Home) -> None:
    home.write_dag("pipeline.py", PIPELINE)
    home.run("dags", "reserialize", check=True)
    for args in (
        ["logs", "pipeline", "latest", "say"],
        ["tasks", "mark", "pipeline", "latest", "say", "failed"],
        ["runs", "show", "pipeline", "latest"],
    ):
        _fails_in_one_line(home.run(*args), "DAG 'pipeline' has no runs yet")


def _clear_on_a_terminal(home: Home, answer: str) -> subprocess.CompletedProcess[str]:
    """`tasks clear pipeline` with a pseudo-terminal for stdin, typed `answer` then Enter."""
    controller, terminal = os.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())
        return subprocess.run(
            [FLOWTUI, "tasks", "clear", "pipeline"],
            env=home.env,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_clear_of_every_run_shows_what_it_clears_and_asks(two_runs: Home) -> None:
    home = two_runs
    runs = f"  {LATEST}: extract, say\n  {OLDER}: extract, say\n"
    listing = f"would clear 4 task instance(s) in 2 run(s)\n{runs}"
    dry = home.run("tasks", "clear", "pipeline", "--dry-run", check=True)
    assert dry.stdout == listing

    refused = home.run("tasks", "clear", "pipeline")  # stdin is not a terminal
    _fails_in_one_line(refused, "clears every run of DAG 'pipeline' (2 run(s)); add --yes")
    assert refused.stdout == ""

    said_no = _clear_on_a_terminal(home, "n")
    assert (said_no.returncode, said_no.stdout) == (0, listing + "clear them? [y/N] ")
    assert _states(home, LATEST) == _states(home, OLDER) == {"extract": "success", "say": "success"}
    assert not [
        e for e in home.events(dag_id="pipeline") if '"command": "clear"' in str(e["detail"])
    ]

    said_yes = _clear_on_a_terminal(home, "y")
    assert said_yes.returncode == 0, said_yes.stderr
    assert (
        said_yes.stdout
        == f"{listing}clear them? [y/N] cleared 4 task instance(s) in 2 run(s)\n{runs}"
    )
    assert _states(home, OLDER) == {"extract": "none", "say": "none"}

    nothing = home.run("tasks", "clear", "pipeline", "--only-failed", "--dry-run", check=True)
    assert nothing.stdout == "would clear 0 task instance(s) in 0 run(s)\n"
    forced = home.run("tasks", "clear", "pipeline", "--yes", check=True)
    assert forced.stdout.startswith("cleared 4 task instance(s) in 2 run(s)\n")


def test_tasks_list_shows_the_folders_definition(home: Home) -> None:
    home.write_dag("pipeline.py", PIPELINE)
    table = home.run("tasks", "list", "pipeline", check=True).stdout.splitlines()
    assert table[0].split() == [
        "task_id",
        "operator",
        "upstream",
        "trigger_rule",
        "retries",
        "pool",
    ]
    assert table[1].split() == ["extract", "PythonOperator", "all_success", "0", "default_pool"]
    assert table[2].split() == [
        "say",
        "BashOperator",
        "extract",
        "all_success",
        "2",
        "default_pool",
    ]
    listed = json.loads(
        home.run("tasks", "list", "pipeline", "--output", "json", check=True).stdout
    )
    assert [(t["task_id"], t["upstream"]) for t in listed] == [
        ("extract", []),
        ("say", ["extract"]),
    ]
    _fails_in_one_line(home.run("tasks", "list", "nope"), "DAG 'nope' not found in")


def test_dags_test_checks_conf_types_as_trigger_does(home: Home) -> None:
    home.write_dag("pipeline.py", PIPELINE)
    done = home.run("dags", "test", "pipeline", "--conf", '{"n": "one"}')
    _fails_in_one_line(done, "conf 'n' = 'one' is of type str, but param 'n' is of type int")
    store = home.store()
    assert store.conn.execute("SELECT COUNT(*) FROM dag_runs").fetchone() == (0,)
    store.close()


def test_the_ids_dot_and_dot_dot_are_refused_when_the_file_loads(home: Home) -> None:
    for name, dag_id, task_id in (("dot.py", ".", "t"), ("dotdot.py", "ok", "..")):
        home.write_dag(
            name,
            f"""
            from flowtui import DAG, EmptyOperator
            with DAG({dag_id!r}):
                EmptyOperator(task_id={task_id!r})
            """,
        )
    errors = json.loads(home.run("dags", "errors", "--output", "json", check=True).stdout)
    messages = {e["filename"].rsplit("/", 1)[1]: e["message"] for e in errors}
    assert "dag_id '.' is not valid" in messages["dot.py"]
    assert "DAG 'ok': task_id '..' is not valid" in messages["dotdot.py"]
    assert "not '.' or '..'" in messages["dotdot.py"]
    assert home.run("dags", "list", "--output", "json", check=True).stdout == "[]\n"


def test_a_missing_or_empty_dag_folder_is_one_warning(home: Home) -> None:
    missing = home.run("--dags-folder", str(home.dags / "nope"), "dags", "list")
    assert missing.returncode == 0
    assert missing.stderr == (
        f"flowtui: warning: DAG folder {home.dags / 'nope'} does not exist; create it, or point "
        "--dags-folder, FLOWTUI_DAGS_FOLDER or dags_folder in flowtui.toml at your DAGs\n"
    )
    empty = home.run("dags", "test", "x")  # home.dags exists and holds nothing
    assert empty.stderr.splitlines()[0] == (
        f"flowtui: warning: DAG folder {home.dags} holds no .py file; add DAG files, or point "
        "--dags-folder, FLOWTUI_DAGS_FOLDER or dags_folder in flowtui.toml elsewhere"
    )
    home.write_dag("pipeline.py", PIPELINE)
    assert home.run("dags", "list", check=True).stderr == ""
