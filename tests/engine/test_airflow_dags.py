"""The Airflow-style DAG files in `tests/airflow_dags/` (importing from `airflow`, with pendulum),
run for real with `flowtui dags test`: each ends in the states and XComs its docstring gives.
And pendulum's time zones: a pendulum `start_date` schedules as the same zoneinfo one does."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Home

FOLDER = Path(__file__).parent.parent / "airflow_dags"
DAY = "2024-01-15"
RUN_ID = f"test__{DAY}T00:00:00+00:00"

EXPECTED: dict[str, tuple[dict[str, tuple[str, int]], dict[str, Any]]] = {
    "airflow2_classic": (
        {
            "extract": ("success", 1),
            "choose": ("success", 1),
            "big": ("success", 1),
            "small": ("skipped", 0),
            "join": ("success", 0),
            "skip_me": ("skipped", 1),
            "after_skip": ("skipped", 0),
            "report": ("success", 1),
            "done": ("success", 0),
        },
        {
            "extract": {"rows": 3, "ds": DAY},
            "big": "3 rows",
            "report": f"report for {DAY}",
        },
    ),
    "airflow3_sdk": (
        {
            "numbers": ("success", 1),
            "total": ("success", 1),
            "pick": ("success", 1),
            "even": ("success", 1),
            "odd": ("skipped", 0),
            "gate": ("success", 1),
            "gated": ("skipped", 0),
            "shout": ("success", 1),
            "last": ("success", 1),
        },
        {
            "numbers": [1, 2, 3],
            "total": 6,
            "even": "6 is even",
            "shout": "LOUD",
            "last": "2024-01-16",
        },
    ),
    "airflow_sensors": (
        {
            "this_file": ("success", 1),
            "python_check": ("success", 1),
            "bash_check": ("success", 1),
            "after_interval": ("success", 1),
            "at_time": ("success", 1),
            "ready": ("success", 1),
            "use": ("success", 1),
        },
        {"ready": "ready", "use": "got ready"},
    ),
    "airflow_exceptions": (
        {
            "generic": ("failed", 2),
            "fail_fast": ("failed", 1),
            "caught": ("success", 1),
            "cleanup": ("success", 1),
        },
        {"caught": "caught skip"},
    ),
    "airflow_time_branches": (
        {
            "latest_only": ("success", 1),
            "after_latest": ("success", 0),
            "monday": ("success", 1),
            "on_monday": ("success", 0),
            "other_day": ("skipped", 0),
            "weekend": ("success", 1),
            "on_weekend": ("skipped", 0),
            "not_weekend": ("success", 0),
            "in_window": ("success", 1),
            "early": ("success", 0),
            "late": ("skipped", 0),
            "after_noon": ("success", 1),
            "before_noon": ("success", 0),
            "from_noon": ("skipped", 0),
        },
        {
            "latest_only": ["after_latest"],
        },
    ),
    "airflow_assets": (
        {"write": ("success", 1), "export": ("success", 1), "read": ("success", 1)},
        {
            "write": 3,
            "read": {
                "rows": 3,
                "source": ["airflow_assets", "write"],
                "alias": [["s3://shop/export.csv", {"part": 1}]],
                "never": [],
            },
        },
    ),
    "airflow_assets_either": ({"check": ("success", 1)}, {"check": 0}),
    "airflow_datasets_or_time": ({"tick": ("success", 1)}, {"tick": DAY}),
    "summary": (
        {"summary": ("success", 1)},
        {"summary": ["summary", "summary", "s3://shop/orders.csv", 0]},
    ),
    "airflow_task_groups": (
        {
            "start": ("success", 0),
            "extract.orders": ("success", 1),
            "extract.nested.customers": ("success", 1),
            "extract.nested.products": ("success", 1),
            "load_all": ("success", 1),
            "end": ("success", 0),
        },
        {
            "extract.orders": {"task_id": "extract.orders", "retries": 2},
            "extract.nested.customers": {"task_id": "extract.nested.customers", "retries": 2},
            "extract.nested.products": {"task_id": "extract.nested.products", "retries": 0},
            "load_all": f"load_all on {DAY}",
        },
    ),
    "airflow3_task_groups": (
        {
            task_id: ("success", 1)
            for task_id in (
                "numbers",
                "scale.multiply",
                "scale.total",
                "scale__1.multiply",
                "scale__1.total",
                "checks.positive",
                "checks.who",
                "summary",
                "cleanup.remove",
            )
        },
        {
            "numbers": [1, 2, 3],
            "scale.multiply": [2, 4, 6],
            "scale.total": 12,
            "scale__1.multiply": [3, 6, 9],
            "scale__1.total": 18,
            "checks.positive": True,
            "checks.who": "checks.who in airflow3_task_groups",
            "summary": [12, 18],
            "cleanup.remove": "removed",
        },
    ),
    "airflow_setup_teardown": (
        {
            "create_cluster": ("success", 1),
            "query": ("success", 1),
            "delete_cluster": ("failed", 1),
            "maybe_lock": ("skipped", 1),
            "locked_work": ("skipped", 0),
            "unlock": ("skipped", 0),
        },
        {"create_cluster": "cluster-1", "query": "rows from cluster-1"},
    ),
    "airflow_virtualenv": (
        {t: ("success", 1) for t in ("in_venv", "numbers", "sum_in_venv", "twice", "external")},
        {
            "in_venv": {"isolated": True, "ds": DAY, "n": 3},
            "numbers": [1, 2, 3],
            "sum_in_venv": 6,
            "twice": 12,
            "external": "a-b",
        },
    ),
    "airflow_params": (
        {t: ("success", 1) for t in ("read", "echo", "render", "scaled")},
        {
            "read": {"n": 5, "mode": "fast", "tags": ["a"], "note": "plain", "kind": "int"},
            "echo": "5-fast",
            "render": "5-fast",
            "scaled": 10,
        },
    ),
    "airflow_details": (
        {
            **{
                t: ("success", 1)
                for t in (
                    *("split", "summary", "add", "echo", "quiet", "pushes", "use_output"),
                    *("note", "script", "query", "shout", "overridden", "later", "read_params"),
                )
            },
            "denied": ("failed", 1),
            "after": ("success", 0),
            "flaky": ("success", 2),
        },
        {
            "split": {"a": 1, "b": 2},
            "summary": {"rows": 3, "cols": 4},
            "add": 4,
            "echo": "3 rows",
            "pushes": "None done",
            "use_output": "3 rows|pulled 3 rows",
            "note": "from template",
            "script": f"hello {DAY}",
            "query": f"SELECT 3 FROM t WHERE ds = '{DAY}'",
            "shout": "two",
            "overridden": ["overridden", 2, "Overridden task"],
            "later": "awaited",
            "flaky": 2,
            "read_params": {"n": 3, "label": "plain"},
        },
    ),
}
"""dag_id -> (task_id -> (final state, try_number), task_id -> XCom return_value); every run
succeeds (exit 0)."""

FAILING: dict[str, tuple[dict[str, tuple[str, int]], dict[str, Any]]] = {
    "airflow3_teardown_after_failure": (
        {"create": ("success", 1), "work": ("failed", 1), "remove": ("success", 1)},
        {"create": "/tmp/scratch", "remove": "removed /tmp/scratch"},
    ),
    "airflow3_setup_fails": (
        {
            "create": ("failed", 1),
            "work": ("upstream_failed", 0),
            "report": ("upstream_failed", 0),
            "remove": ("upstream_failed", 0),
        },
        {},
    ),
    "airflow3_teardown_fails_run": (
        {"create": ("success", 1), "work": ("success", 1), "remove": ("failed", 1)},
        {"create": "/tmp/scratch", "work": 3},
    ),
}
"""As EXPECTED, for the DAGs whose runs fail (exit 1)."""

RUN_ELSEWHERE = {
    "airflow_trigger_child",
    "airflow_trigger_parent",
    "airflow_trigger_forget",
    "airflow_marker_parent",
    "airflow_marker_child",
    "airflow_marker_grandchild",
}
"""DAGs of the folder that need a scheduler beside `dags test` (test_trigger_dagrun.py) or
runs of each other (test_external_task_marker.py)."""

OTHER_XCOMS: dict[str, dict[tuple[str, str], Any]] = {
    "airflow_details": {
        ("split", "a"): 1,
        ("split", "b"): 2,
        ("summary", "rows"): 3,
        ("summary", "cols"): 4,
        ("pushes", "note"): "from template",
    },
}
"""dag_id -> (task_id, key) -> value: the XComs besides return_value its run stores (all)."""


def _flowtui(home: Home, *args: str) -> Any:
    return home.run(*args, "--dags-folder", str(FOLDER), timeout=120)


def test_the_airflow_folder_loads_without_import_errors(home: Home) -> None:
    done = _flowtui(home, "dags", "errors", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    listed = json.loads(_flowtui(home, "dags", "list", "--output", "json").stdout)
    expected = set(EXPECTED) | set(FAILING) | RUN_ELSEWHERE | {"airflow_mapping"}
    assert {row["dag_id"] for row in listed} == expected


@pytest.mark.parametrize(
    ("dag_id", "state"),
    [(dag_id, "success") for dag_id in EXPECTED] + [(dag_id, "failed") for dag_id in FAILING],
)
def test_an_airflow_dag_file_runs_to_its_documented_states(
    home: Home, dag_id: str, state: str
) -> None:
    tasks, xcoms = EXPECTED.get(dag_id) or FAILING[dag_id]
    done = _flowtui(home, "dags", "test", dag_id, "--logical-date", DAY)
    assert done.returncode == (0 if state == "success" else 1), done.stdout + done.stderr
    shown = json.loads(_flowtui(home, "runs", "show", dag_id, "--output", "json").stdout)
    assert (shown["run_id"], shown["state"]) == (RUN_ID, state)
    assert {t: (ti["state"], ti["try_number"]) for t, ti in shown["tasks"].items()} == tasks
    conn = sqlite3.connect(home.path / "flowtui.db")
    try:
        rows = conn.execute(
            "SELECT task_id, key, value FROM xcom WHERE dag_id = ? AND run_id = ?",
            (dag_id, RUN_ID),
        ).fetchall()
    finally:
        conn.close()
    returned = {t: json.loads(value) for t, key, value in rows if key == "return_value"}
    assert {t: v for t, v in returned.items() if v is not None} == xcoms
    others = {(t, key): json.loads(value) for t, key, value in rows if key != "return_value"}
    assert others == OTHER_XCOMS.get(dag_id, others)


ZONED = """
from datetime import datetime
{imports}
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("{dag_id}", schedule="0 6 * * *", start_date={start}, catchup=True):
    EmptyOperator(task_id="t")
"""


@pytest.fixture
def hooked() -> Iterator[None]:
    """Parsing here installs the `airflow` hook in the test process: take it out after."""
    before = list(sys.meta_path)
    yield
    sys.meta_path[:] = before
    for name in [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]:
        del sys.modules[name]


@pytest.mark.usefixtures("hooked")
def test_a_pendulum_start_date_schedules_in_its_time_zone(tmp_path: Path) -> None:
    from flowtui.loading.dag_file import parse_here
    from flowtui.scheduling.timetables.factory import timetable

    variants = {
        "with_pendulum": (
            "import pendulum",
            'pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam")',
        ),
        "with_zoneinfo": (
            "from zoneinfo import ZoneInfo",
            'datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Amsterdam"))',
        ),
    }
    intervals = {}
    for dag_id, (imports, start) in variants.items():
        path = tmp_path / f"{dag_id}.py"
        path.write_text(ZONED.format(imports=imports, dag_id=dag_id, start=start))
        report = parse_here(path)
        assert report.problem is None, report.problem
        [spec] = report.specs
        assert spec.timezone == "Europe/Amsterdam"
        table = timetable(spec)
        first = table.next_run(None, now=datetime(2024, 7, 10, 12, tzinfo=UTC), catchup=True)
        summer = table.next_run(None, now=datetime(2024, 7, 10, 12, tzinfo=UTC), catchup=False)
        assert first is not None
        assert summer is not None
        intervals[dag_id] = (first.interval, summer.interval)
    # 06:00 in Amsterdam is 05:00 UTC in winter (CET) and 04:00 UTC in summer (CEST).
    assert intervals["with_pendulum"] == intervals["with_zoneinfo"]
    (winter_start, winter_end), (summer_start, summer_end) = intervals["with_pendulum"]
    assert (winter_start, winter_end) == (
        datetime(2024, 1, 1, 5, tzinfo=UTC),
        datetime(2024, 1, 2, 5, tzinfo=UTC),
    )
    assert (summer_start, summer_end) == (
        datetime(2024, 7, 9, 4, tzinfo=UTC),
        datetime(2024, 7, 10, 4, tzinfo=UTC),
    )


LABELS = {
    "airflow_task_groups": {"start": {"extract.orders": "begin"}},
    "airflow3_task_groups": {
        "scale.total": {"checks.positive": "then checks", "checks.who": "then checks"}
    },
}
"""dag_id -> the labels its spec keeps (upstream -> downstream -> text)."""


@pytest.mark.usefixtures("hooked")
@pytest.mark.parametrize("dag_id", list(LABELS))
def test_task_group_files_keep_their_edges_and_labels(dag_id: str) -> None:
    from flowtui.loading.dag_file import parse_here

    report = parse_here(FOLDER / f"{dag_id}.py")
    assert report.problem is None, report.problem
    [spec] = report.specs
    assert spec.labels == LABELS[dag_id]
    if dag_id == "airflow3_task_groups":
        # `>>` from an XComArg a @task_group returned, to a group's roots, and on from its
        # leaves; the second call's tasks are wired to the first's only through XCom.
        assert spec.tasks["checks.positive"].upstream == ("scale.total",)
        assert spec.tasks["summary"].upstream == (  # in definition order: checks came first
            "checks.positive",
            "checks.who",
            "scale.total",
            "scale__1.total",
        )
        assert spec.tasks["cleanup.remove"].upstream == ("summary",)
    else:
        assert spec.tasks["extract.orders"].upstream == ("start",)
        assert spec.tasks["load_all"].upstream == (
            "extract.nested.customers",
            "extract.nested.products",
        )
        assert spec.tasks["end"].upstream == ("load_all",)


MAPPED: dict[str, list[Any]] = {
    "double": [2, 4, 6],
    "add": [11, 21, 12, 22],
    "echo": ["one 0", "two 1"],
    "kwargs": ["a=1", "b=2"],
    "labelled": ["n1", "n2", "n3"],
    "again": [2, 6, 10],
}
"""airflow_mapping's mapped tasks -> each instance's XCom return_value, by map index."""


def test_a_mapping_file_runs_and_one_instance_clears_from_the_command_line(home: Home) -> None:
    """`airflow_mapping` (its docstring says what it does) ends as Airflow's would: instances
    by map index with their XComs, the empty expansion skipped, the summary pulling lists; then
    `tasks clear --map-index 1` resets that instance alone, `tasks state` and `logs` name one."""
    done = _flowtui(home, "dags", "test", "airflow_mapping", "--logical-date", DAY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "double[2]" in done.stdout
    shown = json.loads(_flowtui(home, "runs", "show", "airflow_mapping", "--output", "json").stdout)
    tasks = shown["tasks"]
    for task_id, values in MAPPED.items():
        assert [i["map_index"] for i in tasks[task_id]["mapped"]] == list(range(len(values)))
        assert {i["state"] for i in tasks[task_id]["mapped"]} == {"success"}
    assert (tasks["nothing"]["state"], tasks["nothing"]["try_number"]) == ("skipped", 0)
    double = tasks["double"]  # its times span its instances' (all in UTC: text order is time's)
    assert double["start_date"] == min(i["start_date"] for i in double["mapped"])
    assert double["end_date"] == max(i["end_date"] for i in double["mapped"])
    assert double["duration"] > 0
    assert tasks["after_nothing"]["state"] == "skipped"
    conn = sqlite3.connect(home.path / "flowtui.db")
    try:
        rows = conn.execute(
            "SELECT task_id, map_index, value FROM xcom WHERE key = 'return_value' "
            "ORDER BY task_id, map_index"
        ).fetchall()
    finally:
        conn.close()
    pushed: dict[str, list[Any]] = {}
    for task_id, map_index, value in rows:
        if map_index >= 0:
            pushed.setdefault(task_id, []).append(json.loads(value))
    assert pushed == MAPPED
    assert json.loads(dict((t, v) for t, _, v in rows)["summary"]) == [
        [2, 4, 6],
        [2, 6, 10],
        ["a=1", "b=2"],
    ]
    log = _flowtui(home, "logs", "airflow_mapping", RUN_ID, "echo", "--map-index", "1")
    assert log.stdout.rstrip().endswith("two 1"), log.stdout
    cleared = _flowtui(
        home,
        "tasks",
        "clear",
        "airflow_mapping",
        "--run",
        RUN_ID,
        "--task",
        "^double$",
        "--map-index",
        "1",
    )
    assert cleared.returncode == 0, cleared.stderr
    states = [
        _flowtui(
            home, "tasks", "state", "airflow_mapping", RUN_ID, "double", "--map-index", i
        ).stdout.strip()
        for i in ("0", "1", "2")
    ]
    assert states == ["success", "none", "success"]
    unmapped = _flowtui(home, "tasks", "state", "airflow_mapping", RUN_ID, "double")
    assert "'double' is mapped; give --map-index 0 to 2" in unmapped.stderr


@pytest.mark.usefixtures("hooked")
def test_display_names_are_kept_in_the_spec_beside_the_ids() -> None:
    from flowtui.loading.dag_file import parse_here

    report = parse_here(FOLDER / "airflow_details.py")
    assert report.problem is None, report.problem
    [spec] = report.specs
    assert (spec.dag_id, spec.display_name) == ("airflow_details", "Airflow details")
    names = {t: task.display_name for t, task in spec.tasks.items() if task.display_name}
    assert names == {"script": "Say hello", "overridden": "Overridden task"}
    assert spec.tasks["overridden"].retries == 2  # task.override(retries=2)


def test_tasks_test_runs_one_instance_of_a_task_mapped_over_literals(home: Home) -> None:
    """`tasks test --map-index 1` runs echo[1] with its own element; a task mapped over an
    upstream's output (which tasks test does not run) is refused in one line."""
    done = _flowtui(home, "tasks", "test", "airflow_mapping", "echo", "--map-index", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("two 1")
    assert "task echo[1]: success" in done.stderr
    refused = _flowtui(home, "tasks", "test", "airflow_mapping", "double", "--map-index", "0")
    assert refused.returncode == 1
    assert refused.stderr == (
        "flowtui: error: DAG 'airflow_mapping', task 'double': maps over the output of task "
        "'numbers', which `tasks test` does not run; `flowtui dags test airflow_mapping` runs "
        "the DAG with its mapped instances\n"
    )
