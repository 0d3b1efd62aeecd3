"""The `flowtui` command line: exit codes, one-line errors on stderr, `runs show` JSON with
DESIGN.md's keys and all the text shows, `dags test` streaming, `tasks test`, `logs`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flowtui.clock import parse_datetime
from tests.conftest import Home, wait_until

PIPELINE = """
    from datetime import datetime
    from flowtui import DAG, BashOperator, PythonOperator

    def extract(ds, ti):
        print(f"extracting {ds}")
        ti.xcom_push("rows", 3)
        return "extracted"

    with DAG("pipeline", start_date=datetime(2024, 1, 1), params={"who": "world"}) as dag:
        e = PythonOperator(task_id="extract", python_callable=extract)
        s = BashOperator(task_id="say", bash_command="echo hello {{ params.who }} on {{ ds }}")
        e >> s
"""


@pytest.fixture
def pipeline(home: Home) -> Home:
    home.write_dag("pipeline.py", PIPELINE)
    return home


def test_dags_test_streams_states_and_logs_and_exits_zero(pipeline: Home) -> None:
    done = pipeline.run(
        "dags", "test", "pipeline", "--logical-date", "2024-03-01", "--conf", '{"who": "flowtui"}'
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    order = [line.split()[1:5] for line in lines if "->" in line]
    assert ["extract", "queued", "->", "running"] in order
    assert order.index(["extract", "running", "->", "success"]) < order.index(
        ["say", "none", "->", "scheduled"]
    )
    assert "  [extract] extracting 2024-03-01" in lines
    assert any(line.startswith("  [say] hello flowtui on 2024-03-01") for line in lines)
    assert lines[-1].endswith(": success")


def test_runs_show_json_keeps_the_documented_keys_and_carries_the_text(pipeline: Home) -> None:
    """DESIGN.md's keys, and all the text form shows: run type, data interval, start, end,
    duration, conf, triggering updates; per task start, end, duration and try."""
    done = pipeline.run(
        "dags", "test", "pipeline", "--logical-date", "2024-03-01", "--conf", '{"who": "you"}'
    )
    assert done.returncode == 0, done.stderr
    shown = pipeline.runs_show("pipeline")
    assert list(shown) == [
        "dag_id",
        "run_id",
        "state",
        "logical_date",
        "run_type",
        "data_interval_start",
        "data_interval_end",
        "start_date",
        "end_date",
        "duration",
        "conf",
        "triggered_by",
        "tasks",
    ]
    assert (shown["dag_id"], shown["state"], shown["run_type"]) == ("pipeline", "success", "test")
    assert shown["logical_date"].startswith("2024-03-01T00:00:00")
    assert shown["data_interval_start"] == shown["data_interval_end"] == shown["logical_date"]
    start, end = parse_datetime(shown["start_date"]), parse_datetime(shown["end_date"])
    assert shown["duration"] == round((end - start).total_seconds(), 3) > 0
    assert (shown["conf"], shown["triggered_by"]) == ({"who": "you"}, [])
    assert list(shown["tasks"]) == ["extract", "say"]
    for task in shown["tasks"].values():
        assert list(task) == ["state", "try_number", "start_date", "end_date", "duration"]
        assert (task["state"], task["try_number"]) == ("success", 1)
        assert start <= parse_datetime(task["start_date"]) <= parse_datetime(task["end_date"])
        assert task["duration"] > 0
    text = pipeline.run("runs", "show", "pipeline", check=True).stdout
    assert f"started       {shown['start_date']}   ended {shown['end_date']}" in text
    listed = json.loads(pipeline.run("runs", "list", "pipeline", "--output", "json").stdout)
    assert [r["run_id"] for r in listed] == [shown["run_id"]]
    by_id = pipeline.runs_show("pipeline", shown["run_id"])
    assert by_id == shown


def test_dags_test_names_the_run_after_its_logical_date_and_replaces_it(pipeline: Home) -> None:
    for _ in range(2):  # testing the same date again replaces the earlier test run
        done = pipeline.run("dags", "test", "pipeline", "--logical-date", "2024-03-01T06:00+02:00")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == "run test__2024-03-01T06:00:00+02:00: success"
    listed = json.loads(pipeline.run("runs", "list", "pipeline", "--output", "json").stdout)
    assert [(r["run_id"], r["run_type"], r["logical_date"]) for r in listed] == [
        ("test__2024-03-01T06:00:00+02:00", "test", "2024-03-01T04:00:00.000000+00:00")
    ]


def test_a_failed_run_exits_one(home: Home) -> None:
    home.write_dag(
        "fails.py",
        """
        from datetime import datetime
        from flowtui import DAG, BashOperator
        with DAG("fails", start_date=datetime(2024, 1, 1)) as dag:
            BashOperator(task_id="boom", bash_command="exit 4")
    """,
    )
    done = home.run("dags", "test", "fails")
    assert done.returncode == 1
    assert "boom" in done.stdout
    assert "running -> failed  (bash exited with code 4)" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dags", "test", "nope"], "DAG 'nope' not found"),
        (["dags", "trigger", "nope"], "DAG 'nope' not found"),
        (["dags", "test", "pipeline", "--conf", "[1, 2]"], "--conf '[1, 2]' is not valid"),
        (["dags", "test", "pipeline", "--conf", "{bad"], "must be a JSON object"),
        (["dags", "test", "pipeline", "--logical-date", "yesterday"], "logical date"),
        (["runs", "show", "pipeline", "no_such_run"], "has no run 'no_such_run'"),
        (["runs", "list", "nope"], "DAG 'nope' not found"),
        (["tasks", "mark", "pipeline", "no_such_run", "extract", "success"], "no_such_run"),
        (["tasks", "clear", "pipeline", "--task", "("], "--task regex '('"),
        (["tasks", "clear", "pipeline", "--task", "zzz"], "no task matching 'zzz'"),
        (["tasks", "test", "pipeline", "zzz"], "has no task 'zzz'"),
        (["logs", "pipeline", "no_such_run", "extract"], "no task instance 'extract'"),
    ],
)
def test_user_errors_are_one_line_on_stderr(pipeline: Home, args: list[str], message: str) -> None:
    pipeline.run("dags", "reserialize", check=True)  # the store knows it, as a scheduler leaves it
    done = pipeline.run(*args)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("flowtui: error: ")
    assert done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list", "nope"],
        ["runs", "show", "nope"],
        ["logs", "nope", "some_run", "some_task"],
    ],
)
def test_reads_on_a_fresh_home_name_the_missing_dag(home: Home, args: list[str]) -> None:
    assert not home.path.exists()
    fresh = home.run(*args)
    assert (fresh.returncode, fresh.stdout) == (1, ""), fresh.stderr
    assert fresh.stderr.startswith("flowtui: error: DAG 'nope' not found")
    assert fresh.stderr.count("\n") == 1, fresh.stderr
    again = home.run(*args)  # the home exists now, its store empty
    assert (again.returncode, again.stderr) == (1, fresh.stderr)


def test_usage_errors_exit_two(home: Home) -> None:
    done = home.run("tasks", "mark", "a", "b", "c", "maybe")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_tasks_test_runs_one_task_without_recording_it(pipeline: Home) -> None:
    done = pipeline.run("tasks", "test", "pipeline", "say", "--logical-date", "2024-05-06")
    assert done.returncode == 0, done.stderr
    assert "hello world on 2024-05-06" in done.stdout
    store = pipeline.store()
    assert store.conn.execute("SELECT COUNT(*) FROM task_instances").fetchone() == (0,)
    store.close()


def test_logs_prints_and_follows_an_attempt(home: Home) -> None:
    home.write_dag(
        "talk.py",
        """
        from datetime import datetime
        from flowtui import DAG, BashOperator
        with DAG("talk", start_date=datetime(2024, 1, 1)) as dag:
            BashOperator(task_id="talk", bash_command="echo one; sleep 1; echo two")
    """,
    )
    runner = subprocess.Popen(
        [sys.executable, "-m", "flowtui", "dags", "test", "talk"],
        env=home.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def run_id() -> str | None:
            if not (home.path / "flowtui.db").exists():
                return None
            store = home.store()
            row = store.conn.execute(
                "SELECT run_id FROM task_instances WHERE state = 'running'"
            ).fetchone()
            store.close()
            return None if row is None else str(row[0])

        rid = wait_until(run_id, what="the task to run")
        follow = home.run("logs", "talk", rid, "talk", "--follow", timeout=20)
        assert follow.returncode == 0
        assert "one\n" in follow.stdout
        assert "two\n" in follow.stdout
    finally:
        runner.wait(timeout=20)
    printed = home.run("logs", "talk", rid, "talk", "--try", "1")
    assert "two" in printed.stdout
    assert home.run("logs", "talk", rid, "talk", "--try", "2").returncode == 1
