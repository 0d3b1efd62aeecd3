"""Airflow 3 style setup and teardown (`@setup`, `@teardown` from `airflow.sdk`): what each run
of them ends in. Every run here fails, each for its own reason.

Expected from `flowtui dags test <dag_id> --logical-date 2024-01-15` (exit 1, run failed):

- airflow3_teardown_after_failure: create success, XCom return_value "/tmp/scratch"; work
  failed; remove success, XCom return_value "removed /tmp/scratch" (a teardown runs whatever
  the work did). The run failed: work is its leaf (the teardown is not one).
- airflow3_setup_fails: create failed; work upstream_failed; report upstream_failed (all_done,
  but a setup above it failed: Airflow's setup constraint); remove upstream_failed (none of its
  setups succeeded).
- airflow3_teardown_fails_run: create success; work success, XCom return_value 3; remove
  failed, and with on_failure_fail_dagrun=True it fails the run.
"""

import pendulum
from airflow.sdk import TriggerRule, dag, setup, task, teardown

START = pendulum.datetime(2024, 1, 1, tz="UTC")


@setup
def create():
    return "/tmp/scratch"


def remove(path):
    return f"removed {path}"


@dag(schedule=None, start_date=START, default_args={"retries": 0})
def airflow3_teardown_after_failure():
    @task
    def work(path):
        raise ValueError(f"cannot write to {path}")

    path = create()
    work(path) >> teardown(remove)(path)


@dag(schedule=None, start_date=START, default_args={"retries": 0})
def airflow3_setup_fails():
    @setup
    @task
    def create():
        raise ValueError("no space left")

    @task
    def work(path):
        return path

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report():
        return "reported"

    path = create()
    work(path) >> report() >> teardown(remove)(path)


@dag(schedule=None, start_date=START, default_args={"retries": 0})
def airflow3_teardown_fails_run():
    @teardown(on_failure_fail_dagrun=True)
    def remove(path):
        raise OSError(f"{path} is busy")

    @task
    def work(path):
        return len(path.split("/"))

    path = create()
    work(path) >> remove(path)


airflow3_teardown_after_failure()
airflow3_setup_fails()
airflow3_teardown_fails_run()
