"""Sensors on the real scheduler: poke and reschedule modes (a rescheduled sensor holds no slot
between pokes), a file that appears waking a sensor at once whatever its poke_interval, timeouts
and soft_fail, ExternalTaskSensor (success, failed_states, execution_delta, woken by the other
run's state change), the time sensors, PythonSensor, @task.sensor and BashSensor, and the
arguments refused when the file loads."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flowtui.authoring.dag import DAG
from flowtui.authoring.sensors import FileSensor
from flowtui.errors import InvalidArgument
from flowtui.store import reads
from tests.conftest import Home, wait_until

HEADER = """
    import os, time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from flowtui import (DAG, BashOperator, BashSensor, DateTimeSensor, ExternalTaskSensor,
                         FileSensor, PokeReturnValue, PythonOperator, PythonSensor, task)
    DROP = {drop!r}
"""


def _write(home: Home, body: str, drop: Path | None = None) -> None:
    home.write_dag("sensors.py", HEADER.format(drop=str(drop or home.path / "drop")) + body)


def _ti(home: Home, dag_id: str, task_id: str, run_id: str | None = None) -> dict[str, Any]:
    store = home.store()
    try:
        run_id = run_id or home.latest_run_id(dag_id)
        row = reads.task_instance(store.conn, dag_id, run_id, task_id)
    finally:
        store.close()
    assert row is not None
    return row


def _states(home: Home, dag_id: str, task_id: str) -> list[str]:
    return [e["new_state"] for e in home.events(dag_id=dag_id, task_id=task_id) if e["new_state"]]


def test_a_rescheduled_sensor_frees_its_slot_and_a_written_file_wakes_it(home: Home) -> None:
    """parallelism 1: in poke mode the sensor would hold the only slot until its timeout."""
    home.configure(parallelism=1)
    drop = home.path / "in" / "data.csv"
    _write(
        home,
        """
    with DAG("wait", schedule=None):
        FileSensor(task_id="sense", filepath=DROP, mode="reschedule", poke_interval=600,
                   timeout=120, priority_weight=10)
        BashOperator(task_id="deliver", bash_command=f"sleep 1; mkdir -p {os.path.dirname(DROP)}"
                     f" && echo rows > {DROP}")
""",
        drop,
    )
    started = time.monotonic()
    done = home.run("dags", "test", "wait", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 60, "the sensor waited for its poke_interval"
    states = _states(home, "wait", "sense")
    assert "up_for_reschedule" in states
    assert states[-1] == "success"
    sense = _ti(home, "wait", "sense")
    deliver = _ti(home, "wait", "deliver")
    assert sense["try_number"] == 1, "a poke is not a new try"
    assert sense["end_date"] > deliver["end_date"]
    log = Path(sense["log_path"]).read_text()
    # Its poke_interval (600 s), capped by what is left of its timeout (120 s less the time the
    # first poke took: "120 s" when it was quick, "119.6 s" on a loaded machine).
    again = re.search(r"not yet; poking again in ([\d.]+) s\n", log)
    assert again is not None, log
    assert 60 < float(again.group(1)) <= 120
    assert f"found {drop}" in log


def test_a_poke_mode_file_sensor_wakes_when_the_file_appears(home: Home) -> None:
    drop = home.path / "drop.csv"
    _write(
        home,
        """
    with DAG("wait", schedule=None):
        FileSensor(task_id="sense", filepath=DROP, poke_interval=600, timeout=120)
""",
        drop,
    )
    process = home.start("dags", "test", "wait")
    try:
        wait_until(lambda: _ti_state(home) == "running", what="the sensor's first poke")
        time.sleep(0.5)  # it is waiting now
        drop.write_text("rows\n")
        written = time.time()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    ended = datetime.fromisoformat(_ti(home, "wait", "sense")["end_date"]).timestamp()
    assert ended - written < 5, "the sensor did not wake when the file appeared"


def _ti_state(home: Home) -> str | None:
    try:
        return str(_ti(home, "wait", "sense")["state"])
    except (AssertionError, Exception):
        return None


@pytest.mark.parametrize(("soft_fail", "state"), [(False, "failed"), (True, "skipped")])
def test_a_sensor_times_out_without_retry_or_is_skipped_with_soft_fail(
    home: Home, soft_fail: bool, state: str
) -> None:
    _write(
        home,
        f"""
    with DAG("wait", schedule=None):
        PythonSensor(task_id="sense", python_callable=lambda: False, poke_interval=0.2,
                     timeout=1, retries=2, soft_fail={soft_fail}, mode="reschedule")
""",
    )
    home.run("dags", "test", "wait", timeout=60)
    sense = _ti(home, "wait", "sense")
    assert sense["state"] == state
    assert sense["try_number"] == 1, "a sensor that timed out is not retried"
    if state == "failed":
        events = home.events(dag_id="wait", task_id="sense")
        assert any("timed out after 1 s" in (e["detail"] or "") for e in events)


def test_python_sensor_task_sensor_and_bash_sensor_return_and_push(home: Home) -> None:
    flag = home.path / "flag"
    _write(
        home,
        f"""
    FLAG = {str(flag)!r}

    @task.sensor(poke_interval=0.2, timeout=30, mode="reschedule")
    def ready():
        return PokeReturnValue(is_done=os.path.exists(FLAG), xcom_value={{"rows": 3}})

    with DAG("wait", schedule=None):
        make = BashOperator(task_id="make", bash_command=f"sleep 0.5; touch {{FLAG}}")
        sensed = ready()
        bash = BashSensor(task_id="bash", bash_command=f"test -f {{FLAG}}", poke_interval=0.2,
                          timeout=30)
        counted = PythonSensor(task_id="counted", python_callable=lambda ti: ti.xcom_pull(
            task_ids="ready")["rows"] == 3, poke_interval=0.2, timeout=30)
        make >> bash
        sensed >> counted
""",
    )
    done = home.run("dags", "test", "wait", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {_ti(home, "wait", t)["state"] for t in ("ready", "bash", "counted")} == {"success"}


def test_a_date_time_sensor_wakes_at_its_moment_not_after_its_interval(home: Home) -> None:
    target = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    _write(
        home,
        f"""
    with DAG("wait", schedule=None):
        DateTimeSensor(task_id="sense", poke_interval=600, mode="reschedule",
                       target_time="{{{{ params.at }}}}", params={{"at": {target!r}}})
""",
    )
    started = time.monotonic()
    done = home.run("dags", "test", "wait", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 30


EXTERNAL = """
    def work():
        time.sleep(float(os.environ.get("WORK_SECONDS", "0")))
        if os.environ.get("WORK_FAILS"):
            raise ValueError("upstream broke")

    with DAG("upstream", schedule=None):
        PythonOperator(task_id="load", python_callable=work)

    with DAG("downstream", schedule=None):
        ExternalTaskSensor(task_id="wait_load", external_dag_id="upstream",
                           external_task_id="load", failed_states=["failed"],
                           mode="reschedule", poke_interval=600, timeout=120, {extra})
"""


def _run_external(
    home: Home, extra: str = "", upstream_date: str = "2024-03-05", **env: str
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    _write(home, EXTERNAL.format(extra=extra))
    up = subprocess.run(
        [*_flowtui(home), "dags", "test", "upstream", "--logical-date", upstream_date],
        env={**home.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return up, home.run("dags", "test", "downstream", "--logical-date", "2024-03-05", timeout=60)


def _flowtui(home: Home) -> list[str]:
    from tests.conftest import FLOWTUI

    return [FLOWTUI]


def test_external_task_sensor_sees_the_other_dag_s_task_succeed(home: Home) -> None:
    _, down = _run_external(home)
    assert down.returncode == 0, down.stdout + down.stderr


def test_external_task_sensor_fails_on_a_failed_state(home: Home) -> None:
    up, down = _run_external(home, WORK_FAILS="1")
    assert up.returncode == 1
    assert down.returncode == 1
    sensor = _ti(home, "downstream", "wait_load")
    assert sensor["state"] == "failed"


def test_external_task_sensor_with_execution_delta(home: Home) -> None:
    _, down = _run_external(home, "execution_delta=timedelta(days=1)", upstream_date="2024-03-04")
    assert down.returncode == 0, down.stdout + down.stderr


def test_external_task_sensor_is_woken_by_the_other_run_s_state_change(home: Home) -> None:
    _write(home, EXTERNAL.format(extra=""))
    process = home.start("scheduler")
    assert process.stdout is not None
    assert process.stdout.readline().startswith("flowtui scheduler:")
    try:
        home.run("dags", "trigger", "downstream", "--logical-date", "2024-03-05", check=True)
        wait_until(
            lambda: _ti(home, "downstream", "wait_load")["state"] == "up_for_reschedule",
            what="the sensor waiting",
        )
        home.run("dags", "trigger", "upstream", "--logical-date", "2024-03-05", check=True)
        wait_until(lambda: home.runs_show("upstream")["state"] == "success", what="upstream")
        up_end = datetime.fromisoformat(_ti(home, "upstream", "load")["end_date"])
        wait_until(
            lambda: home.runs_show("downstream")["state"] == "success",
            timeout=10,
            what="the sensor woken by upstream's success (its poke_interval is 600 s)",
        )
        sensed = datetime.fromisoformat(_ti(home, "downstream", "wait_load")["end_date"])
        assert (sensed - up_end).total_seconds() < 5
    finally:
        process.terminate()
        process.wait(timeout=30)


def _dag() -> DAG:
    return DAG("d", schedule=None)


def test_bad_sensor_arguments_are_refused_when_the_file_loads() -> None:
    with pytest.raises(InvalidArgument, match="mode must be 'poke' or 'reschedule'"):
        FileSensor(task_id="f", filepath="/x", mode="sometimes", dag=_dag())
    with pytest.raises(InvalidArgument, match="fs_conn_id"):
        FileSensor(task_id="f", filepath="/x", fs_conn_id="s3", dag=_dag())
    from flowtui.authoring.sensors import ExternalTaskSensor

    with pytest.raises(InvalidArgument, match="at most one of external_task_id"):
        ExternalTaskSensor(
            task_id="e",
            external_dag_id="u",
            external_task_id="a",
            external_task_ids=["b"],
            dag=_dag(),
        )
    with pytest.raises(InvalidArgument, match="unknown state 'done'"):
        ExternalTaskSensor(task_id="e", external_dag_id="u", allowed_states=["done"], dag=_dag())


def test_exponential_backoff_doubles_across_reschedules_up_to_max_wait() -> None:
    sensor = FileSensor(
        task_id="f",
        filepath="/x",
        poke_interval=10,
        exponential_backoff=True,
        max_wait=60,
        dag=_dag(),
    )
    waits, waited = [], 0.0
    for _ in range(5):
        wait = sensor._interval(waited)
        waits.append(wait)
        waited += wait
    assert waits == [10, 20, 40, 60, 60]


def test_the_wait_is_logged_in_events(home: Home) -> None:
    _write(
        home,
        """
    def poke(ti):
        with open(DROP + ".pokes", "a") as pokes:
            pokes.write("poke\\n")
        return os.path.exists(DROP)

    with DAG("wait", schedule=None):
        PythonSensor(task_id="sense", python_callable=poke, poke_interval=0.3, timeout=30,
                     mode="reschedule")
        BashOperator(  # drops the file once the sensor has poked three times
            task_id="drop",
            bash_command=f"until [ $(cat {DROP}.pokes 2>/dev/null | wc -l) -ge 3 ]; "
            f"do sleep 0.05; done; touch {DROP}",
        )
""",
    )
    assert home.run("dags", "test", "wait", timeout=60).returncode == 0
    events = [e for e in home.events(dag_id="wait", task_id="sense") if e["new_state"]]
    assert [e["new_state"] for e in events].count("up_for_reschedule") >= 2
