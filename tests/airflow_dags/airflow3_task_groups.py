"""Airflow 3 style task groups from `airflow.sdk`: `@task_group` called twice (the second call's
group is `scale__1`, as Airflow numbers it), its returned XComArg standing for the group in
`>>`, a `TaskGroup` of `@task`s, a `Label` between a group's output and a group, a
`@task_group` returning nothing (the group itself), and `get_current_context()` in a `@task`.

Expected from `flowtui dags test airflow3_task_groups --logical-date 2024-01-15` (exit 0, run
success), every task success on its first try: numbers XCom [1, 2, 3]; scale.multiply [2, 4,
6]; scale.total 12; scale__1.multiply [3, 6, 9]; scale__1.total 18; checks.positive true;
checks.who "checks.who in airflow3_task_groups"; summary [12, 18]; cleanup.remove "removed".
The edges scale.total -> checks.positive and scale.total -> checks.who are labelled
"then checks".
"""

import pendulum
from airflow.sdk import Label, TaskGroup, dag, get_current_context, task, task_group


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), tags=["airflow3"])
def airflow3_task_groups():
    @task
    def numbers():
        return [1, 2, 3]

    @task_group
    def scale(values, factor):
        @task
        def multiply(values, factor):
            return [value * factor for value in values]

        @task
        def total(values):
            return sum(values)

        return total(multiply(values, factor))

    with TaskGroup("checks") as checks:

        @task
        def positive():
            return True

        @task
        def who():
            context = get_current_context()
            return f"{context['ti'].task_id} in {context['dag'].dag_id}"

        positive()
        who()

    @task
    def summary(doubled, tripled):
        return [doubled, tripled]

    @task_group
    def cleanup():
        @task
        def remove():
            return "removed"

        remove()

    values = numbers()
    doubled = scale(values, 2)
    tripled = scale(values, 3)
    doubled >> Label("then checks") >> checks
    done = summary(doubled, tripled)
    checks >> done >> cleanup()


airflow3_task_groups()
