"""Deadlines on the real scheduler: `dagrun_timeout` fails a run still going, stopping its
sleeping task (SIGKILL after the grace period for one that ignores SIGTERM) and marking the rest
skipped, with the DAG's failure callback told "timed_out"; a task's `sla` missed by a scheduled
run is an `sla_miss` event and a webhook post, and the task runs on."""

from __future__ import annotations

import functools
import json
import time
from datetime import UTC, datetime, timedelta

import psutil

from flowtui.store import reads
from tests.alert_servers import WebhookServer, configure
from tests.conftest import Home, has_exited, wait_until

TIMEOUT = """
    import json, os
    from datetime import timedelta
    from pathlib import Path
    from flowtui import DAG, BashOperator

    def told(context):
        Path(os.environ["FLOWTUI_HOME"], "callback.json").write_text(
            json.dumps({"reason": context["reason"]}))

    with DAG("slow", schedule=None, dagrun_timeout=timedelta(seconds=2),
             on_failure_callback=told):
        nap = BashOperator(task_id="nap", bash_command="echo $$ > $FLOWTUI_HOME/nap.pid; sleep 60")
        stubborn = BashOperator(
            task_id="stubborn",
            bash_command="echo $$ > $FLOWTUI_HOME/stubborn.pid; trap '' TERM; sleep 60",
        )
        after = BashOperator(task_id="after", bash_command="true")
        nap >> after
"""


def _ti(home: Home, dag_id: str, run_id: str, task_id: str) -> dict[str, object]:
    store = home.store()
    try:
        row = reads.task_instance(store.conn, dag_id, run_id, task_id)
    finally:
        store.close()
    assert row is not None
    return row


def test_dagrun_timeout_fails_the_run_and_stops_its_attempts(home: Home) -> None:
    configure(home, "task_kill_grace_seconds = 1\n")
    home.write_dag("slow.py", TIMEOUT)
    started = time.monotonic()
    done = home.run("dags", "test", "slow", timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - started < 30, "the run was not stopped at its timeout"
    run = home.runs_show("slow")
    assert run["state"] == "failed"
    run_id = str(run["run_id"])
    assert {t: s["state"] for t, s in run["tasks"].items()} == {
        "nap": "skipped",
        "stubborn": "skipped",
        "after": "skipped",
    }
    for name in ("nap", "stubborn"):  # both processes are gone, SIGTERM or not
        pid = int((home.path / f"{name}.pid").read_text())
        assert wait_until(functools.partial(_gone, pid), what=name)
    events = home.events(dag_id="slow", run_id=run_id, task_id="nap")
    assert any("the run timed out (dagrun_timeout of 2 s)" in (e["detail"] or "") for e in events)
    assert json.loads((home.path / "callback.json").read_text()) == {"reason": "timed_out"}
    assert _ti(home, "slow", run_id, "nap")["state"] == "skipped"


def _gone(pid: int) -> bool:
    return has_exited(pid) or not psutil.pid_exists(pid)


SLA = """
    import time
    from datetime import datetime, timedelta
    from flowtui import DAG, BashOperator

    with DAG("late", schedule="@daily", start_date=datetime({year}, {month}, {day})):
        BashOperator(task_id="slow", bash_command="sleep 3", sla=timedelta(seconds=1))
        BashOperator(task_id="quick", bash_command="true", sla=timedelta(days=30))
"""


def test_a_missed_sla_is_recorded_and_posted_and_the_task_runs_on(home: Home) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    home.write_dag("late.py", SLA.format(year=start.year, month=start.month, day=start.day))
    with WebhookServer() as hook:
        configure(home, f'[[notify.webhook]]\nurl = "{hook.url}"\non = ["sla_miss"]\n')
        process = home.start("scheduler")
        assert process.stdout is not None
        assert process.stdout.readline().startswith("flowtui scheduler:")
        try:
            home.run("dags", "unpause", "late", check=True)
            misses = wait_until(
                lambda: [e for e in home.events(dag_id="late") if e["kind"] == "sla_miss"],
                what="the SLA miss",
            )
            wait_until(lambda: hook.bodies, what="the sla_miss webhook")
            wait_until(lambda: home.runs_show("late")["state"] == "success", what="the run")
        finally:
            process.terminate()
            process.wait(timeout=30)
    [miss] = misses
    assert miss["task_id"] == "slow"
    detail = json.loads(miss["detail"])
    assert detail["sla"] == 1.0
    assert detail["state"] in ("queued", "running", "scheduled")
    [body] = hook.bodies
    assert body["event"] == "sla_miss"
    assert body["task_id"] == "slow"
    assert home.runs_show("late")["tasks"]["slow"]["state"] == "success"  # it ran on
