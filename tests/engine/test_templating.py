"""Templates: rendering rules, context names (ds, params, var, macros), and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flowtui import DAG, BashOperator, PythonOperator, Variable
from flowtui.authoring.templating import is_template, render
from flowtui.errors import TemplateRenderError, TemplateUndefined
from flowtui.execution.task_runner import bash_invocation, run_task
from tests.conftest import attempt_info


def rendered_command(db: Path, command: str, **changes: Any) -> str:
    with DAG("tpl", params={"table": "sales", "limit": 10}) as d:
        BashOperator(task_id="load", bash_command=command, params={"limit": 20})
    fields: dict[str, Any] = {
        "run_id": "r1",
        "logical_date": "2024-02-28T06:30:00+00:00",
        "data_interval_start": "2024-02-27T06:30:00+00:00",
        "data_interval_end": "2024-02-28T06:30:00+00:00",
        "run_type": "scheduled",
    }
    argv, _, _, _xcom, _rendered = bash_invocation(
        d, attempt_info(db, "tpl", "load", **{**fields, **changes})
    )
    return argv[2]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ ds }} {{ ds_nodash }}", "2024-02-28 20240228"),
        ("{{ ts }}", "2024-02-28T06:30:00+00:00"),
        ("{{ ts_nodash }}", "20240228T063000"),
        ("{{ data_interval_start | ds }}", "2024-02-27"),
        ("{{ logical_date.year }}", "2024"),
        ("{{ params.table }} {{ params.limit }}", "sales 20"),
        ("{{ macros.ds_add(ds, 2) }}", "2024-03-01"),
        ("{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}", "28/02/2024"),
        ("{{ (logical_date + macros.timedelta(days=1)).strftime('%A') }}", "Thursday"),
        ("{{ run_id }} {{ dag.dag_id }} {{ task.task_id }} {{ ti.try_number }}", "r1 tpl load 1"),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
        ("no template here {x}", "no template here {x}"),
    ],
)
def test_context_names_in_templates(db: Path, template: str, expected: str) -> None:
    assert rendered_command(db, template) == expected


def test_conf_overrides_params(db: Path) -> None:
    assert rendered_command(db, "{{ params.limit }}", conf={"limit": 5}) == "5"


def test_var_value_and_var_json(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    Variable.set("bucket", "s3://b")
    Variable.set("cfg", {"depth": 2}, serialize_json=True)
    monkeypatch.setenv("FLOWTUI_VAR_REGION", "eu")
    command = "{{ var.value.bucket }} {{ var.json.cfg.depth }} {{ var.value.region }}"
    assert rendered_command(db, command) == "s3://b 2 eu"
    assert rendered_command(db, "{{ var.value.get('absent', 'dflt') }}") == "dflt"


def test_missing_variable_in_a_template_names_task_field_and_fix(db: Path) -> None:
    with pytest.raises(TemplateRenderError) as info:
        rendered_command(db, "{{ var.value.nope }}")
    assert str(info.value) == (
        "task 'load': template field 'bash_command': variable 'nope' is not set; set it with "
        "`flowtui variables set nope VALUE` or the environment variable FLOWTUI_VAR_NOPE"
    )


def test_undefined_name_names_task_field_and_name(db: Path) -> None:
    with pytest.raises(TemplateUndefined) as info:
        rendered_command(db, "echo {{ foo }}")
    assert str(info.value) == "task 'load': template field 'bash_command': 'foo' is undefined"


def test_syntax_and_runtime_errors_are_one_line(db: Path) -> None:
    with pytest.raises(TemplateRenderError, match=r"syntax error on line 1: .*"):
        rendered_command(db, "{{ ds ")
    with pytest.raises(TemplateRenderError, match="ZeroDivisionError: division by zero"):
        rendered_command(db, "{{ 1 / 0 }}")


def test_undefined_name_in_run_task_is_a_failed_outcome(db: Path) -> None:
    with DAG("tpl") as d:
        BashOperator(task_id="load", bash_command="echo {{ foo }}")
    outcome = run_task(d, attempt_info(db, "tpl", "load", logical_date="2024-01-01"))
    assert (outcome.state, outcome.cause) == (
        "failed",
        "task 'load': template field 'bash_command': 'foo' is undefined",
    )


def test_render_recurses_into_containers_and_keeps_other_values() -> None:
    marker = object()
    value = {"a": ["{{ x }}", ("{{ x }}!", 3)], "b": marker, "{{ x }}": "k"}
    assert render(value, {"x": "v"}) == {"a": ["v", ("v!", 3)], "b": marker, "{{ x }}": "k"}
    assert render({"{{ x }}"}, {"x": 1}) == {"1"}
    assert render(datetime(2024, 1, 1), {}) == datetime(2024, 1, 1)


def test_is_template() -> None:
    assert is_template("{{ x }}")
    assert is_template("{% if x %}{% endif %}")
    assert not is_template("${HOME} {x}")
    assert not is_template(3)


def test_import_flowtui_does_not_import_jinja2() -> None:
    script = "import sys, flowtui; print('jinja2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_template_files_are_read_from_the_dag_folder_then_template_searchpath(
    db: Path, tmp_path: Path
) -> None:
    (tmp_path / "beside.sh").write_text("echo {{ ds }}\n")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "q.sql").write_text("SELECT {{ params.n }}")
    with DAG("files", params={"n": 7}, template_searchpath=str(extra)) as d:
        BashOperator(task_id="script", bash_command="beside.sh")
        BashOperator(task_id="inline", bash_command="beside.sh ")  # Airflow's escape: a space
        PythonOperator(
            task_id="query",
            python_callable=lambda sqls: sqls,
            op_kwargs={"sqls": ["q.sql", "plain.txt"]},  # at any depth, as Airflow
            templates_exts=[".sql"],
        )
        PythonOperator(
            task_id="missing", python_callable=print, op_args=["gone.sql"], templates_exts=(".sql",)
        )
    d.fileloc = str(tmp_path / "files.py")
    info = {"logical_date": "2024-02-28T00:00:00+00:00"}
    assert bash_invocation(d, attempt_info(db, "files", "script", **info)).argv[2] == (
        "echo 2024-02-28\n"
    )
    assert bash_invocation(d, attempt_info(db, "files", "inline", **info)).argv[2] == "beside.sh "
    assert run_task(d, attempt_info(db, "files", "query", **info)).xcom == {
        "return_value": ["SELECT 7", "plain.txt"]
    }
    failed = run_task(d, attempt_info(db, "files", "missing", **info))
    assert failed.state == "failed"
    assert failed.cause == (
        f"task 'missing': template field 'op_args': template file 'gone.sql' not found in "
        f"{tmp_path}, {extra}; put it beside the DAG file or add its folder to the DAG's "
        f"template_searchpath"
    )
