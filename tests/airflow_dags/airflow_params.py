"""Airflow's Param: DAG params with JSON schemas (from airflow.sdk and airflow.models.param), a
plain-value param beside them, and a task's own Param.

Expected from `flowtui dags test airflow_params --logical-date 2024-01-15` (exit 0, run success,
as in Airflow): read success, XCom return_value {"n": 5, "mode": "fast", "tags": ["a"],
"note": "plain", "kind": "int"} (the context's params are the plain values); echo success,
XCom return_value "5-fast" (its last line: `{{ params.n }}` renders the value); render
success, XCom return_value "5-fast" (the same template in a PythonOperator's op_kwargs);
scaled success, XCom return_value 10 (the task's Param "scale" beside the DAG's "n").
"""

import pendulum
from airflow.models.param import Param as ModelsParam
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param, task

with DAG(
    "airflow_params",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    params={
        "n": Param(5, type="integer", minimum=1, maximum=10, description="how many"),
        "mode": Param("fast", enum=["fast", "slow"]),
        "tags": ModelsParam(["a"], type="array", items={"type": "string"}),
        "note": "plain",
    },
):

    @task
    def read(**context):
        params = context["params"]
        return {
            "n": params["n"],
            "mode": params["mode"],
            "tags": params["tags"],
            "note": params["note"],
            "kind": type(params["n"]).__name__,
        }

    @task(params={"scale": Param(2, type="integer", minimum=1)})
    def scaled(**context):
        return context["params"]["n"] * context["params"]["scale"]

    echo = BashOperator(task_id="echo", bash_command="echo {{ params.n }}-{{ params.mode }}")
    render = PythonOperator(
        task_id="render",
        python_callable=lambda text: text,
        op_kwargs={"text": "{{ params.n }}-{{ params.mode }}"},
    )
    read() >> echo >> render >> scaled()
