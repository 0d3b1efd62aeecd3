"""Airflow 3 style: `airflow.sdk` TaskFlow (`@dag`, `@task`, `@task.bash`, `@task.branch`,
`@task.short_circuit`), `chain`, `TriggerRule` and a pendulum `start_date` with a time zone.

Expected from `flowtui dags test airflow3_sdk --logical-date 2024-01-15` (exit 0, run
success): numbers success, XCom return_value [1, 2, 3]; total success, XCom return_value 6;
pick success, no XCom (a branch that skips a task returns none, as in Airflow 3); even
success, XCom return_value "6 is even"; odd skipped; gate success, no XCom; gated skipped
(short-circuited);
shout success (bash), XCom return_value "LOUD" (its last line); last success (none_failed:
odd skipped above it), XCom return_value "2024-01-16" (pendulum in the callable: the day
after ds).
"""

import pendulum
from airflow.sdk import TriggerRule, chain, dag, task


@dag(
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    tags=["airflow3"],
)
def airflow3_sdk():
    @task
    def numbers():
        return [1, 2, 3]

    @task
    def total(values):
        return sum(values)

    @task.branch
    def pick(value):
        return "even" if value % 2 == 0 else "odd"

    @task
    def even(value):
        return f"{value} is even"

    @task
    def odd(value):
        return f"{value} is odd"

    @task.short_circuit
    def gate():
        return False

    @task
    def gated():
        return "never"

    @task.bash
    def shout():
        return "echo LOUD"

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def last(ds=None):
        return pendulum.parse(ds).add(days=1).to_date_string()

    value = total(numbers())
    branch = pick(value)
    even_task, odd_task = even(value), odd(value)
    branch >> [even_task, odd_task]
    gate() >> gated()
    last_task = last()
    chain(shout(), last_task)
    [even_task, odd_task] >> last_task


airflow3_sdk()
