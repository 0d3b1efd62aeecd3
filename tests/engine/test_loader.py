"""The loader: every broken-file case becomes an import error with file, line and message, and
every other file still loads."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Home

GOOD = """
from datetime import datetime
from flowtui import DAG, EmptyOperator
with DAG("good", start_date=datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="only")
"""

BROKEN = {
    "syntax.py": ("from flowtui import DAG\n\ndef broken(:\n    pass\n", 3, "SyntaxError"),
    "missing_import.py": (
        "from flowtui import DAG\nimport no_such_module_here\n",
        2,
        "No module named 'no_such_module_here'",
    ),
    "cycle.py": (
        """from datetime import datetime
from flowtui import DAG, EmptyOperator
with DAG("cyclic", start_date=datetime(2024, 1, 1)) as dag:
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    a >> b >> c >> a
""",
        None,
        "cycle",
    ),
    "duplicate.py": (
        """from datetime import datetime
from flowtui import DAG, EmptyOperator
with DAG("dup", start_date=datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="same")
    EmptyOperator(task_id="same")
""",
        5,
        "'same'",
    ),
    "rule.py": (
        """from datetime import datetime
from flowtui import DAG, EmptyOperator
with DAG("rules", start_date=datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="t", trigger_rule="all_sucess")
""",
        4,
        "all_sucess",
    ),
    "bad_id.py": (
        """from datetime import datetime
from flowtui import DAG, EmptyOperator
with DAG("ids", start_date=datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="no spaces/allowed")
""",
        4,
        "no spaces/allowed",
    ),
    "exits.py": ("from flowtui import DAG\nimport sys\nsys.exit(3)\n", 3, "sys.exit(3)"),
    "hangs.py": ("from flowtui import DAG\nimport time\ntime.sleep(60)\n", None, "longer than 1 s"),
}


@pytest.fixture
def folder(home: Home) -> Home:
    home.configure(dag_file_import_timeout=1)
    home.write_dag("good.py", GOOD)
    for name, (source, _line, _text) in BROKEN.items():
        (home.dags / name).write_text(source)
    return home


def test_each_broken_file_is_an_import_error_with_its_line(folder: Home) -> None:
    done = folder.run("dags", "errors", "--output", "json", check=True)
    errors = {e["filename"].rsplit("/", 1)[-1]: e for e in json.loads(done.stdout)}
    assert set(errors) == set(BROKEN)
    for name, (_source, line, text) in BROKEN.items():
        assert text in errors[name]["message"], (name, errors[name])
        assert "\n" not in errors[name]["message"]
        if line is not None:
            assert errors[name]["line"] == line, (name, errors[name])


def test_cycle_error_names_the_cycle(folder: Home) -> None:
    done = folder.run("dags", "errors", check=True)
    line = next(x for x in done.stdout.splitlines() if "cycle.py" in x)
    for task_id in ("a", "b", "c"):
        assert f"'{task_id}'" in line or f" {task_id} " in line or f"{task_id} >>" in line, line


def test_broken_files_do_not_stop_the_good_one(folder: Home) -> None:
    done = folder.run("dags", "list", "--output", "json", check=True)
    assert [d["dag_id"] for d in json.loads(done.stdout)] == ["good"]
    assert folder.run("dags", "test", "good").returncode == 0


def test_a_fixed_file_loses_its_error(folder: Home) -> None:
    folder.run("dags", "errors", check=True)
    (folder.dags / "syntax.py").write_text(GOOD.replace('"good"', '"fixed"'))
    done = folder.run("dags", "errors", "--output", "json", check=True)
    assert "syntax.py" not in done.stdout
    listed = json.loads(folder.run("dags", "list", "--output", "json", check=True).stdout)
    assert {d["dag_id"] for d in listed} == {"good", "fixed"}


def test_same_dag_id_in_two_files(home: Home) -> None:
    home.write_dag("one.py", GOOD)
    home.write_dag("two.py", GOOD)
    errors = json.loads(home.run("dags", "errors", "--output", "json", check=True).stdout)
    assert len(errors) == 1
    assert errors[0]["filename"].endswith("two.py")
    assert "one.py" in errors[0]["message"]


def test_a_file_that_kills_the_fork_server_does_not_hang_the_loader(home: Home) -> None:
    home.write_dag("good.py", GOOD)
    (home.dags / "assassin.py").write_text(
        "import os, signal\nfrom flowtui import DAG\nos.kill(os.getppid(), signal.SIGKILL)\n"
    )
    done = home.run("dags", "errors", "--output", "json", timeout=30)
    assert done.returncode == 0, done.stderr
    errors = {e["filename"].rsplit("/", 1)[-1]: e["message"] for e in json.loads(done.stdout)}
    assert "fork server" in errors["assassin.py"]
