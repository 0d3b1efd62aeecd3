"""The time-based branches, Airflow 2 and 3 imports mixed: `LatestOnlyOperator`,
`BranchDayOfWeekOperator` (with `WeekDay`) and `BranchDateTimeOperator` judging the run's
logical date (2024-01-15, a Monday, at 00:00 UTC).

Expected from `flowtui dags test airflow_time_branches --logical-date 2024-01-15` (exit 0, run
success): latest_only success, XCom return_value ["after_latest"] (a `dags test` run is a
manual one, which always goes on, as in Airflow 3); after_latest success; monday success;
on_monday success; other_day skipped; weekend success; on_weekend skipped; not_weekend
success; in_window success (00:00 lies in 00:00-01:00, bounds included); early success; late
skipped; after_noon success (no lower bound before the upper one is passed); before_noon
success; from_noon skipped. The branches that skip a task push no XCom, as in Airflow 3
(latest_only skips none here, so it pushes its branch).
"""

from datetime import datetime, time

import pendulum
from airflow.operators.datetime import BranchDateTimeOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.weekday import BranchDayOfWeekOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.providers.standard.operators.weekday import (
    BranchDayOfWeekOperator as StandardBranchDayOfWeekOperator,
)
from airflow.sdk import DAG
from airflow.utils.weekday import WeekDay

with DAG(
    dag_id="airflow_time_branches",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
) as dag:
    latest_only = LatestOnlyOperator(task_id="latest_only")
    latest_only >> EmptyOperator(task_id="after_latest")

    monday = BranchDayOfWeekOperator(
        task_id="monday",
        follow_task_ids_if_true="on_monday",
        follow_task_ids_if_false="other_day",
        week_day="Monday",
        use_task_logical_date=True,
    )
    monday >> [EmptyOperator(task_id="on_monday"), EmptyOperator(task_id="other_day")]

    weekend = StandardBranchDayOfWeekOperator(
        task_id="weekend",
        follow_task_ids_if_true="on_weekend",
        follow_task_ids_if_false="not_weekend",
        week_day={WeekDay.SATURDAY, WeekDay.SUNDAY},
        use_task_logical_date=True,
    )
    weekend >> [EmptyOperator(task_id="on_weekend"), EmptyOperator(task_id="not_weekend")]

    in_window = BranchDateTimeOperator(
        task_id="in_window",
        follow_task_ids_if_true=["early"],
        follow_task_ids_if_false=["late"],
        target_lower=time(0, 0),
        target_upper=time(1, 0),
        use_task_logical_date=True,
    )
    in_window >> [EmptyOperator(task_id="early"), EmptyOperator(task_id="late")]

    after_noon = BranchDateTimeOperator(
        task_id="after_noon",
        follow_task_ids_if_true="before_noon",
        follow_task_ids_if_false="from_noon",
        target_lower=None,
        target_upper=datetime(2024, 1, 15, 12, 0),
        use_task_logical_date=True,
    )
    after_noon >> [EmptyOperator(task_id="before_noon"), EmptyOperator(task_id="from_noon")]
