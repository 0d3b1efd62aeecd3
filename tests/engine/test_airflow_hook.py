"""The `airflow` import hook: it lives only where DAG files load (a real `airflow` package stays
everyone else's: here a fake one on PYTHONPATH), and what it does not serve fails the file with
one line in `flowtui dags errors` while the rest of the folder loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FLOWTUI, Home

REFUSED = '"Airflow compatibility"'


@pytest.fixture
def fake_airflow(tmp_path: Path) -> Path:
    """A folder holding an `airflow` package that says it is the installed one."""
    site = tmp_path / "site"
    (site / "airflow").mkdir(parents=True)
    (site / "airflow" / "__init__.py").write_text('MARKER = "installed airflow"\n')
    return site


def _env(home: Home, site: Path) -> dict[str, str]:
    return {**home.env, "PYTHONPATH": str(site)}


def test_an_installed_airflow_wins_in_a_process_that_imports_flowtui(
    home: Home, fake_airflow: Path
) -> None:
    script = (
        "import flowtui, flowtui.loading.dag_file, flowtui.execution.local.server\n"
        "import airflow\n"
        "print(airflow.MARKER)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(home, fake_airflow),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "installed airflow"


def test_the_command_line_process_keeps_the_installed_airflow(
    home: Home, fake_airflow: Path
) -> None:
    home.write_dag("one.py", "from airflow import DAG\nwith DAG('one', schedule=None):\n    pass\n")
    script = (
        "import sys\n"
        "from flowtui.cli.main import main\n"
        "sys.argv = ['flowtui', 'dags', 'list']\n"
        "code = main()\n"
        "from flowtui.loading import airflow_hook\n"
        "import airflow\n"
        "print('hook:', airflow_hook.is_installed(), airflow.MARKER)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(home, fake_airflow),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "one" in done.stdout  # the DAG file itself was loaded, with the shim
    assert done.stdout.splitlines()[-1] == "hook: False installed airflow"


def test_dag_files_get_the_shim_even_where_airflow_is_installed(
    home: Home, fake_airflow: Path
) -> None:
    home.write_dag(
        "shimmed.py",
        """
        import airflow
        from airflow.decorators import dag, task

        assert "MARKER" not in vars(airflow), "the installed airflow reached a DAG file"


        @dag(schedule=None)
        def shimmed():
            @task
            def which():
                import airflow.operators.python as module

                return [type(airflow.__spec__.loader).__name__, module.PythonOperator.__module__]

            which()


        shimmed()
        """,
    )
    done = subprocess.run(
        [FLOWTUI, "dags", "test", "shimmed"],
        env=_env(home, fake_airflow),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    store = home.store()
    try:
        [(value,)] = store.conn.execute(
            "SELECT value FROM xcom WHERE dag_id = 'shimmed' AND task_id = 'which'"
        ).fetchall()
    finally:
        store.close()
    assert json.loads(value) == ["AirflowFinder", "flowtui.authoring.operators.python"]


BAD_FILES = {
    "s3.py": (
        "from airflow import DAG\n\nfrom airflow.providers.amazon.aws.hooks.s3 import S3Hook\n",
        3,
        "flowtui does not support airflow.providers.amazon (S3Hook); see README " + REFUSED,
    ),
    "plain_import.py": (
        "import airflow\nimport airflow.providers.postgres.hooks.postgres  # a dag\n",
        2,
        "flowtui does not support airflow.providers.postgres; see README " + REFUSED,
    ),
    "events_timetable.py": (
        "from airflow import DAG\nfrom airflow.timetables.events import EventsTimetable\n",
        2,
        "flowtui does not support airflow.timetables.events (EventsTimetable); see README "
        + REFUSED,
    ),
    "trigger_timetable.py": (
        "from airflow.timetables.trigger import DeltaTriggerTimetable  # a dag\n",
        1,
        "flowtui does not support airflow.timetables.trigger (DeltaTriggerTimetable); see README "
        + REFUSED,
    ),
    "docker.py": (
        "from airflow.decorators import dag, task\n\n@task.docker(image='python')\n"
        "def f():\n    pass\n",
        3,
        "flowtui does not support airflow.decorators (task.docker); see README " + REFUSED,
    ),
    "mapped.py": (
        "from datetime import datetime\nfrom airflow.sdk import dag, task, task_group\n\n"
        "@dag(schedule=None, start_date=datetime(2024, 1, 1))\ndef mapped():\n"
        "    @task_group\n    def double(x):\n        return x\n\n"
        "    double.expand(x=[1, 2])\n\nmapped()\n",
        10,
        "flowtui does not support .expand() (mapped task groups) yet; see README " + REFUSED,
    ),
    "timetable.py": (
        "from airflow import DAG\nfrom airflow.timetables.interval import "
        "CronDataIntervalTimetable\n\n"
        "with DAG('t', schedule=CronDataIntervalTimetable('0 1 * * *', 'Europe/Paris')):\n"
        "    pass\n",
        4,
        "flowtui does not support airflow.timetables.interval "
        "(CronDataIntervalTimetable(timezone='Europe/Paris')); see README " + REFUSED,
    ),
    "uses_helper.py": (
        "from airflow import DAG\nimport airflow_helper\n",
        2,
        "airflow_helper.py:1: flowtui does not support airflow.hooks (BaseHook); see README "
        + REFUSED,
    ),
}
"""file -> (source, line of the error, its one-line message)."""


def test_what_the_hook_does_not_serve_is_one_line_per_file_and_the_rest_loads(home: Home) -> None:
    home.dags.mkdir(parents=True, exist_ok=True)
    for name, (source, _, _) in BAD_FILES.items():
        (home.dags / name).write_text(source)
    (home.dags / "airflow_helper.py").write_text("from airflow.hooks.base import BaseHook\n")
    home.write_dag(
        "good.py",
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('good', schedule=None):\n    EmptyOperator(task_id='t')\n",
    )
    done = home.run("dags", "errors", "--output", "json", check=True)
    errors = {Path(e["filename"]).name: (e["line"], e["message"]) for e in json.loads(done.stdout)}
    assert errors == {name: (line, message) for name, (_, line, message) in BAD_FILES.items()}
    text = home.run("dags", "errors", check=True).stdout
    assert f"{home.dags / 's3.py'}:3: {BAD_FILES['s3.py'][2]}\n" in text
    listed = json.loads(home.run("dags", "list", "--output", "json", check=True).stdout)
    assert [row["dag_id"] for row in listed] == ["good"]
