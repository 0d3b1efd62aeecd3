"""Airflow 3 assets: `Asset` (by name and uri), `AssetAlias`, `outlet_events[...].extra` and
`.add(...)`, `inlet_events[...]`, schedules with `|`, `&` and `AssetOrTimeSchedule`, `@asset`,
and Airflow 2's `Dataset` names from `airflow.datasets`.

Expected from `flowtui dags test <dag> --logical-date 2024-01-15` in a fresh home (exit 0, run
success):

- airflow_assets: write success, XCom return_value 3 (its event of `orders` has extra
  {"rows": 3}); export success (an event of s3://shop/export.csv with extra {"part": 1}
  through the alias `shop-exports`); read success, XCom return_value {"rows": 3, "source":
  ["airflow_assets", "write"], "alias": [["s3://shop/export.csv", {"part": 1}]], "never": []}
  (the events of this run's upstream tasks; none of an asset nobody updated).
- airflow_assets_either (scheduled on `orders | alias`): check success, XCom return_value 0
  (a manual run in a fresh home: `inlet_events[orders]` is an empty list).
- airflow_datasets_or_time (`DatasetOrTimeSchedule`, daily or `orders & Dataset(...)`): tick
  success, XCom return_value "2024-01-15".
- summary (`@asset` scheduled on `orders`): summary success, XCom return_value ["summary",
  "summary", "s3://shop/orders.csv", 0].
"""

import pendulum
from airflow.datasets import Dataset, DatasetAlias
from airflow.sdk import Asset, AssetAlias, asset, dag, task
from airflow.timetables.datasets import DatasetOrTimeSchedule
from airflow.timetables.interval import CronDataIntervalTimetable

START = pendulum.datetime(2024, 1, 1, tz="UTC")

orders = Asset(name="orders", uri="s3://shop/orders.csv")
exports = AssetAlias("shop-exports")
never = Dataset("s3://shop/never.csv")


@dag(schedule=None, start_date=START, catchup=False)
def airflow_assets():
    @task(outlets=[orders])
    def write(*, outlet_events):
        outlet_events[orders].extra = {"rows": 3}
        return 3

    @task(outlets=[exports])
    def export(*, outlet_events):
        outlet_events[exports].add(Asset("s3://shop/export.csv"), extra={"part": 1})

    @task(inlets=[orders, exports, never])
    def read(*, inlet_events):
        last = inlet_events[orders][-1]
        return {
            "rows": last.extra["rows"],
            "source": [last.source_dag_id, last.source_task_id],
            "alias": [[event.asset.uri, event.extra] for event in inlet_events[exports]],
            "never": list(inlet_events[never]),
        }

    [write(), export()] >> read()


airflow_assets()


@dag(schedule=orders | exports, start_date=START, catchup=False)
def airflow_assets_either():
    @task(inlets=[orders])
    def check(*, inlet_events):
        return len(inlet_events[orders])

    check()


airflow_assets_either()


@dag(
    schedule=DatasetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("@daily", timezone="UTC"),
        datasets=orders & Dataset("s3://shop/prices.csv"),
    ),
    start_date=START,
    catchup=False,
)
def airflow_datasets_or_time():
    @task
    def tick(ds=None):
        return ds

    tick()


airflow_datasets_or_time()


@asset(schedule=orders)
def summary(self, context, orders):
    return [self.name, self.uri, orders.uri, len(context["inlet_events"][orders])]


unused_alias = DatasetAlias("kept-for-the-import")
