"""A wrong `--dags-folder` changes nothing (issue 9, point 7): on a home whose scheduler serves
folder A, commands given folder B show or run B's DAGs, never deactivate A's, and read-only
commands never write to the `dags` or `import_errors` tables."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from tests.conftest import Home

DAG = """
    from datetime import datetime
    from flowtui import DAG, BashOperator

    with DAG("{dag_id}", start_date=datetime(2024, 1, 1), schedule="@daily") as dag:
        BashOperator(task_id="t", bash_command="echo {dag_id} of {folder}")
"""


@pytest.fixture
def other(home: Home, tmp_path: Path) -> Path:
    """Folder B: its own DAG `beta`, a DAG `shared` with the id of one of folder A's, and a
    file that fails to load. Folder A (the home's) holds `alpha` and `shared`."""
    for dag_id in ("alpha", "shared"):
        home.write_dag(f"{dag_id}.py", DAG.format(dag_id=dag_id, folder="A"))
    folder = tmp_path / "other"
    folder.mkdir()
    for dag_id in ("beta", "shared"):
        (folder / f"{dag_id}.py").write_text(dedent(DAG.format(dag_id=dag_id, folder="B")))
    (folder / "broken.py").write_text("from flowtui import DAG\nraise RuntimeError('broken')\n")
    return folder


def _tables(home: Home) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the home keeps about its DAG files."""
    conn = sqlite3.connect(home.path / "flowtui.db")
    try:
        return {
            "dags": conn.execute("SELECT * FROM dags ORDER BY dag_id").fetchall(),
            "import_errors": conn.execute("SELECT * FROM import_errors").fetchall(),
        }
    finally:
        conn.close()


def _active(home: Home) -> dict[str, str]:
    """Active DAGs of the store, with the folder name of their file."""
    conn = sqlite3.connect(home.path / "flowtui.db")
    try:
        rows = conn.execute("SELECT dag_id, fileloc FROM dags WHERE is_active = 1").fetchall()
    finally:
        conn.close()
    return {dag_id: Path(fileloc).parent.name for dag_id, fileloc in rows}


def _in(folder: Path, home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    return home.run("--dags-folder", str(folder), *args)


def _read_only_commands_change_nothing(home: Home, other: Path) -> None:
    before = _tables(home)
    listed = _in(other, home, "dags", "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    assert {d["dag_id"]: Path(d["fileloc"]).parent for d in json.loads(listed.stdout)} == {
        "beta": other,
        "shared": other,
    }
    errors = _in(other, home, "dags", "errors", "--output", "json")
    assert [e["filename"] for e in json.loads(errors.stdout)] == [str(other / "broken.py")]
    assert _in(other, home, "runs", "list", "alpha").returncode == 0
    tested = _in(other, home, "tasks", "test", "shared", "t")
    assert tested.returncode == 0, tested.stderr
    assert "shared of B" in tested.stdout  # the folder it was given, not the store's file
    assert _tables(home) == before


def test_with_no_scheduler_running_reads_of_another_folder_change_nothing(
    home: Home, other: Path
) -> None:
    home.run("dags", "reserialize", check=True)  # the store as the home's scheduler leaves it
    assert _active(home) == {"alpha": "dags", "shared": "dags"}
    _read_only_commands_change_nothing(home, other)


def test_with_the_scheduler_running_another_folder_changes_nothing_of_its_dags(
    home: Home, other: Path, scheduler: subprocess.Popen[str]
) -> None:
    _read_only_commands_change_nothing(home, other)
    before = _tables(home)["dags"]
    tested = _in(other, home, "dags", "test", "beta", "--logical-date", "2024-03-01")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "beta of B" in tested.stdout
    after = _tables(home)
    assert [row for row in after["dags"] if row[0] != "beta"] == before  # only beta registered
    assert after["import_errors"] == []  # B's broken file is not the home's
    assert _active(home) == {"alpha": "dags", "shared": "dags", "beta": "other"}
    assert scheduler.poll() is None


def test_dags_test_of_another_folder_never_replaces_the_homes_dag_of_that_id(
    home: Home, other: Path
) -> None:
    home.run("dags", "reserialize", check=True)
    before = _tables(home)
    refused = _in(other, home, "dags", "test", "shared")
    assert refused.returncode == 1
    assert refused.stderr == (
        f"flowtui: error: DAG 'shared' of {other / 'shared.py'} has the id of {home.path}'s DAG "
        f"of {home.dags / 'shared.py'}, which this command must not replace; run it on a home "
        f"of its own (--home DIR), or give the --dags-folder that holds "
        f"{home.dags / 'shared.py'}\n"
    )
    assert _tables(home) == before
    tested = home.run("dags", "test", "shared")  # the home's own folder: its DAG is tested
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "shared of A" in tested.stdout


def test_a_command_on_a_new_dag_of_another_folder_registers_only_that_dag(
    home: Home, other: Path
) -> None:
    home.run("dags", "reserialize", check=True)
    before = _tables(home)
    assert _in(other, home, "dags", "pause", "beta").returncode == 0
    after = _tables(home)
    assert [row for row in after["dags"] if row[0] != "beta"] == before["dags"]
    assert after["import_errors"] == before["import_errors"]
    assert _active(home) == {"alpha": "dags", "shared": "dags", "beta": "other"}


def test_reserialize_stores_the_folder_and_refuses_while_a_scheduler_runs(
    home: Home, other: Path
) -> None:
    stored = _in(other, home, "dags", "reserialize")
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout == f"stored 2 DAG(s) of {other}: beta, shared\n"
    assert _active(home) == {"beta": "other", "shared": "other"}
    assert [row[0] for row in _tables(home)["import_errors"]] == [str(other / "broken.py")]
    process = home.start("scheduler")  # serves folder A again, as the environment says
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("flowtui scheduler:")
        assert _active(home) == {"alpha": "dags", "shared": "dags"}
        refused = _in(other, home, "dags", "reserialize")
        assert refused.returncode == 1
        assert refused.stderr.startswith(
            f"flowtui: error: a scheduler already runs on {home.path} (pid {process.pid})"
        )
        assert _active(home) == {"alpha": "dags", "shared": "dags"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_dag_the_folder_defines_but_the_store_never_saw_is_named_as_such(home: Home) -> None:
    home.write_dag("alpha.py", DAG.format(dag_id="alpha", folder="A"))
    assert "alpha" in home.run("dags", "list", check=True).stdout
    done = home.run("runs", "list", "alpha")
    assert done.returncode == 1
    assert done.stderr == (
        f"flowtui: error: DAG 'alpha' not found in the store of {home.path}: it has not run "
        f"there; `flowtui dags list` shows the DAG folder's DAGs, `flowtui dags trigger alpha` "
        f"runs one\n"
    )
