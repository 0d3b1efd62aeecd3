"""Which files of a DAG folder are DAG files: Airflow's safe mode (a file mentioning "dag" and
"flowtui" or "airflow"), and `.flowtuiignore` / `.airflowignore` with regexp and glob lines,
in the folder and in subfolders; the real `flowtui dags list` agrees."""

from __future__ import annotations

import json
from pathlib import Path

from flowtui.loading.loader import discover, is_dag_file
from tests.conftest import Home

AIRFLOW_DAG = "from airflow import DAG\nwith DAG('{name}', schedule=None):\n    pass\n"


def _write(folder: Path, relative: str, text: str = "") -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text or AIRFLOW_DAG.format(name=path.stem))
    return path


def _found(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in discover(folder)]


def test_safe_mode_reads_files_that_mention_dag_and_flowtui_or_airflow(tmp_path: Path) -> None:
    _write(tmp_path, "airflow_style.py")
    _write(tmp_path, "flowtui_style.py", "from flowtui import DAG\n")
    _write(tmp_path, "shouting.py", "# An AIRFLOW Dag, in capitals\n")
    _write(tmp_path, "helper.py", "def dag_helper():\n    return 1\n")
    _write(tmp_path, "airflow_notes.py", "# airflow, but no d-a-g word\n")
    assert _found(tmp_path) == ["airflow_style.py", "flowtui_style.py", "shouting.py"]


def test_airflowignore_lines_are_regular_expressions_by_default(tmp_path: Path) -> None:
    _write(tmp_path, ".airflowignore", "# comment\nscratch_.*\nold/\n^legacy\n")
    for name in ("keep.py", "scratch_1.py", "old/a.py", "legacy_b.py", "sub/legacy_c.py"):
        _write(tmp_path, name)
    assert _found(tmp_path) == ["keep.py", "sub/legacy_c.py"]


def test_flowtuiignore_lines_are_globs_by_default(tmp_path: Path) -> None:
    _write(tmp_path, ".flowtuiignore", "tmp_*\nreports/*.py\n/top_only.py\n")
    for name in ("keep.py", "tmp_x.py", "deep/tmp_y.py", "reports/r.py", "top_only.py"):
        _write(tmp_path, name)
    _write(tmp_path, "deep/top_only.py")
    assert _found(tmp_path) == ["deep/top_only.py", "keep.py"]


def test_a_first_line_switches_the_syntax(tmp_path: Path) -> None:
    _write(tmp_path, ".airflowignore", "# syntax: glob\n*_draft.py\n")
    _write(tmp_path, ".flowtuiignore", "# syntax: regexp\n^wip[0-9]\n")
    for name in ("a_draft.py", "wip1.py", "wip.py", "keep.py"):
        _write(tmp_path, name)
    assert _found(tmp_path) == ["keep.py", "wip.py"]


def test_an_ignore_file_in_a_subfolder_applies_below_it_only(tmp_path: Path) -> None:
    _write(tmp_path, "team/.airflowignore", "^experimental\n")
    _write(tmp_path, "team/.flowtuiignore", "broken.py\n")
    for name in ("experimental.py", "broken.py", "team/experimental.py", "team/broken.py"):
        _write(tmp_path, name)
    _write(tmp_path, "team/good.py")
    assert _found(tmp_path) == ["broken.py", "experimental.py", "team/good.py"]
    assert not is_dag_file(tmp_path / "team" / "broken.py", tmp_path)


def test_a_bad_regexp_line_is_skipped_and_the_others_apply(tmp_path: Path) -> None:
    _write(tmp_path, ".airflowignore", "([unclosed\nskip_me\n")
    _write(tmp_path, "skip_me.py")
    _write(tmp_path, "keep.py")
    assert _found(tmp_path) == ["keep.py"]


def test_dags_list_leaves_out_what_the_ignore_files_exclude(home: Home) -> None:
    _write(home.dags, "kept.py")
    _write(home.dags, "ignored.py")
    _write(home.dags, "sub/also_ignored.py")
    (home.dags / ".airflowignore").write_text("^ignored\n")
    (home.dags / "sub" / ".flowtuiignore").write_text("also_*\n")
    listed = json.loads(home.run("dags", "list", "--output", "json", check=True).stdout)
    assert [row["dag_id"] for row in listed] == ["kept"]


def test_a_changed_ignore_file_reports_every_python_file_below_it(tmp_path: Path) -> None:
    import threading

    from flowtui.loading.watcher import DagFolderWatcher

    dag = _write(tmp_path, "sub/a.py")
    batches: list[set[str]] = []
    seen = threading.Event()

    def on_change(paths: set[str]) -> None:
        batches.append(paths)
        seen.set()

    watcher = DagFolderWatcher(tmp_path, on_change)
    watcher.start()
    try:
        (tmp_path / "sub" / ".airflowignore").write_text("^a\n")
        assert seen.wait(10)
    finally:
        watcher.stop()
    assert str(dag) in set().union(*batches)
    assert not is_dag_file(dag, tmp_path)
