"""Airflow 2.3+/3 dynamic task mapping: `@task.expand`, `.partial().expand()` on a classic
operator, `.expand_kwargs()`, two expanded arguments (their cross product), `.map()`, mapping
over a mapped task's results, a zero-length expansion, and downstream tasks that pull the list of
a mapped task's results.

Expected from `flowtui dags test airflow_mapping --logical-date 2024-01-15` (exit 0, run
success), each mapped instance's XCom return_value in map-index order:
numbers success, XCom [1, 2, 3]; double: 3 instances, success, XCom 2, 4, 6; total success,
XCom 12; add: 4 instances (x over [1, 2] times y over [10, 20], y varying fastest), XCom 11,
21, 12, 22; echo (BashOperator over a literal list): 2 instances, success, XCom "one 0",
"two 1" (each one's last line); kwargs
(expand_kwargs): 2 instances, XCom "a=1", "b=2"; labelled (`.map()` of numbers): 3 instances,
XCom "n1", "n2", "n3"; again (double again, over double's results minus one): 3 instances,
XCom 2, 6, 10; nothing (over an empty list): skipped (map_index -1); after_nothing skipped;
summary success, XCom [[2, 4, 6], [2, 6, 10], ["a=1", "b=2"]].
"""

import pendulum
from airflow.decorators import dag, task
from airflow.operators.bash import BashOperator


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def airflow_mapping():
    @task
    def numbers():
        return [1, 2, 3]

    @task
    def double(x):
        return 2 * x

    @task
    def total(values):
        return sum(values)

    @task(max_active_tis_per_dag=1)
    def add(x, y):
        return x + y

    @task
    def kwargs(name, value):
        return f"{name}={value}"

    @task
    def labelled(label):
        return label

    @task
    def empty():
        return []

    @task
    def nothing(x):
        return x

    @task
    def after_nothing(values):
        return values

    @task(trigger_rule="all_done")
    def summary(doubled, again, pairs):
        return [list(doubled), list(again), list(pairs)]

    got = numbers()
    doubled = double.expand(x=got)
    total(doubled)
    add.partial().expand(x=[1, 2], y=[10, 20])
    BashOperator.partial(task_id="echo", retries=1).expand(
        bash_command=["echo one {{ ti.map_index }}", "echo two {{ ti.map_index }}"]
    )
    pairs = kwargs.expand_kwargs([{"name": "a", "value": 1}, {"name": "b", "value": 2}])
    labelled.expand(label=got.map(lambda n: f"n{n}"))
    again = double.override(task_id="again").expand(x=doubled.map(lambda n: n - 1))
    after_nothing(nothing.expand(x=empty()))
    summary(doubled, again, pairs)


airflow_mapping()
