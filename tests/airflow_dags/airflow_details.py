"""Airflow's smaller authoring details: XComArg (`operator.output`, `output["key"]`,
`str(xcom_arg)` in a template), multiple_outputs (given, and from a `dict[str, ...]` return
annotation), BashOperator and @task.bash pushing their last line, `do_xcom_push=False`,
`{{ ti.xcom_push(...) }}` in a template, template files (a .sh beside the DAG file, a .sql
through `templates_exts` and `template_searchpath`), `task.override`, display names, an
`async def` task, `retry_policy` and `ParamsDict`.

Expected from `flowtui dags test airflow_details --logical-date 2024-01-15` (exit 0, run
success): split success, XComs return_value {"a": 1, "b": 2}, a 1, b 2; summary success
(multiple_outputs from its annotation), XComs return_value {"rows": 3, "cols": 4}, rows 3,
cols 4; add success, return_value 4 (split's "a" plus summary's "rows"); echo success,
return_value "3 rows" (its last line); quiet success, no XCom (do_xcom_push=False); pushes
success, XComs note "from template" and return_value "None done" (xcom_push renders None);
use_output success, return_value "3 rows|pulled 3 rows" (echo.output, and str() of it in an
f-string); note success, return_value "from template" (pushes.output["note"]); script
success, return_value "hello 2024-01-15" (airflow_details_files/hello.sh, beside the DAG
file); query success, return_value "SELECT 3 FROM t WHERE ds = '2024-01-15'" (query.sql, in
template_searchpath); shout success, return_value "two" (@task.bash's last line); overridden
success, return_value ["overridden", 2, "Overridden task"] (task.override); later success,
return_value "awaited" (async def); denied failed after 1 try of 3 (its retry_policy fails
PermissionError at once); after success (all_done); flaky success on try 2, return_value 2
(its retry_policy retries ConnectionError at once: the default retry_delay of 5 minutes
would still be waiting); read_params success, return_value {"n": 3, "label": "plain"}.
"""

import asyncio
import os
from datetime import timedelta

import pendulum
from airflow.models.param import ParamsDict
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, ExceptionRetryPolicy, Param, RetryAction, RetryRule, task

SEARCHED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "airflow_details_files")

with DAG(
    "airflow_details",
    dag_display_name="Airflow details",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    template_searchpath=[os.path.join(SEARCHED, "searched")],
    params=ParamsDict({"n": Param(3, type="integer", minimum=1), "label": "plain"}),
):

    @task(multiple_outputs=True)
    def split():
        return {"a": 1, "b": 2}

    @task
    def summary() -> dict[str, int]:
        return {"rows": 3, "cols": 4}

    @task
    def add(a, b):
        return a + b

    halves, counts = split(), summary()
    add(halves["a"], counts["rows"])

    echo = BashOperator(task_id="echo", bash_command="echo first; echo {{ params.n }} rows")
    BashOperator(task_id="quiet", bash_command="echo hidden", do_xcom_push=False)
    pushes = BashOperator(
        task_id="pushes",
        bash_command="echo {{ ti.xcom_push(key='note', value='from template') }} done",
    )
    use_output = PythonOperator(
        task_id="use_output",
        python_callable=lambda value, text: f"{value}|{text}",
        op_kwargs={"value": echo.output, "text": f"pulled {echo.output}"},
    )

    @task
    def note(text):
        return text

    note(pushes.output["note"])

    BashOperator(
        task_id="script",
        bash_command="airflow_details_files/hello.sh",
        task_display_name="Say hello",
    )
    PythonOperator(
        task_id="query",
        python_callable=lambda sql: sql.strip(),
        op_kwargs={"sql": "query.sql"},
        templates_exts=[".sql"],
    )

    @task.bash
    def shout():
        return "echo one; echo two"

    shout()

    @task
    def who(**context):
        me = context["task"]
        return [me.task_id, me.retries, me.task_display_name]

    who.override(task_id="overridden", retries=2, task_display_name="Overridden task")()

    @task
    async def later():
        await asyncio.sleep(0.01)
        return "awaited"

    later()

    no_access = ExceptionRetryPolicy(
        rules=[RetryRule(exception=PermissionError, action=RetryAction.FAIL, reason="no access")]
    )

    @task(retries=2, retry_policy=no_access)
    def denied():
        raise PermissionError("nope")

    denied() >> EmptyOperator(task_id="after", trigger_rule="all_done")

    blips = ExceptionRetryPolicy(
        rules=[RetryRule(exception="builtins.ConnectionError", retry_delay=timedelta(0))]
    )

    @task(retries=1, retry_policy=blips)
    def flaky(ti=None):
        if ti.try_number == 1:
            raise ConnectionError("blip")
        return ti.try_number

    flaky()

    @task
    def read_params(**context):
        return dict(context["params"])

    read_params()
