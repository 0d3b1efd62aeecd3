"""Alerts from real runs (`flowtui dags test`: the real scheduler, real attempt processes) to
real servers on 127.0.0.1: failure and retry mail through STARTTLS and a login, webhook posts
filtered by event and DAG, a hanging webhook that does not hold up the next task, and a mail
server that is not there (tried a bounded number of times, recorded, and the run goes on)."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowtui.alert_config import Webhook
from flowtui.clock import parse_datetime, utcnow
from flowtui.config import Settings
from flowtui.notify.notice import Notice
from flowtui.scheduling.alert_delivery import AlertDelivery
from flowtui.store import Store, reads
from tests.alert_servers import USER, Mail, WebhookServer, configure, free_port, smtp_home
from tests.conftest import FLOWTUI, Home, wait_until

FAILING = """
from flowtui import DAG, BashOperator
with DAG("nightly", schedule=None):
    BashOperator(
        task_id="load",
        bash_command="for i in $(seq 1 80); do echo line $i; done; echo boom >&2; exit 3",
        email="ops@example.com; dba@example.com",
        {extra}
    )
"""


@pytest.fixture
def mail_server(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Mail]]:
    with smtp_home(home, tmp_path, monkeypatch) as mails:
        yield mails


def _alerts(home: Home, kind: str) -> list[str]:
    return [e["detail"] for e in home.events() if e["kind"] == kind]


def test_a_failure_mails_the_tasks_addresses_with_the_error_log_and_command(
    home: Home, mail_server: list[Mail]
) -> None:
    home.write_dag("nightly.py", FAILING.format(extra=""))
    done = home.run("dags", "test", "nightly")
    assert done.returncode == 1, done.stdout + done.stderr
    run_id = home.latest_run_id("nightly")
    (mail,) = mail_server
    assert mail.tls
    assert mail.user == USER
    assert mail.mail_from == "flowtui@build.example.com"
    assert mail.rcpt_tos == ["ops@example.com", "dba@example.com"]
    assert mail.subject == f"[flowtui] failed: DAG nightly, task load, run {run_id}"
    body = mail.text
    assert "Try:          1" in body
    assert "Error:        bash exited with code 3" in body
    assert "Logical date: " in body
    assert "  line 80\n  boom\n" in body
    assert "  line 30\n" not in body  # only the last 50 lines
    (command,) = [line.strip() for line in body.splitlines() if "flowtui --home" in line]
    words = shlex.split(command)
    assert words[-2:] == ["--try", "1"]
    printed = subprocess.run(
        [FLOWTUI, *words[1:]], capture_output=True, text=True, check=True, timeout=30
    )
    assert "line 1\n" in printed.stdout  # the command prints the whole log
    (sent,) = _alerts(home, "alert_sent")
    assert sent == "email to ops@example.com, dba@example.com (failure, try 1): sent"
    log = home.settings.attempt_log_path("nightly", run_id, "load", 1).read_text()
    assert log.splitlines()[-1].endswith(f"alert: {sent}")


def test_email_on_retry_mails_the_retry_then_the_failure(
    home: Home, mail_server: list[Mail]
) -> None:
    home.write_dag("nightly.py", FAILING.format(extra="retries=1, retry_delay=0,"))
    assert home.run("dags", "test", "nightly").returncode == 1
    run_id = home.latest_run_id("nightly")
    # Two deliveries may run at once: the order of arrival is not promised.
    retry, failure = sorted(mail_server, key=lambda m: "Try:          2" in m.text)
    assert retry.subject == f"[flowtui] up_for_retry: DAG nightly, task load, run {run_id}"
    assert "Try:          1" in retry.text
    assert failure.subject == f"[flowtui] failed: DAG nightly, task load, run {run_id}"
    assert "Try:          2" in failure.text
    assert "--try 2" in failure.text


def test_email_on_retry_false_mails_only_the_failure(home: Home, mail_server: list[Mail]) -> None:
    extra = "retries=1, retry_delay=0, email_on_retry=False,"
    home.write_dag("nightly.py", FAILING.format(extra=extra))
    assert home.run("dags", "test", "nightly").returncode == 1
    assert [m.subject.split(":")[0] for m in mail_server] == ["[flowtui] failed"]


def test_a_mail_server_that_is_not_there_is_tried_three_times_and_the_run_goes_on(
    home: Home,
) -> None:
    configure(home, f'[smtp]\nhost = "127.0.0.1"\nport = {_closed_port()}\n')
    home.write_dag(
        "nightly.py",
        """
        from flowtui import DAG, BashOperator
        with DAG("nightly", schedule=None):
            load = BashOperator(task_id="load", bash_command="exit 1", email="ops@example.com")
            after = BashOperator(task_id="after", bash_command="true", trigger_rule="all_done")
            load >> after
        """,
    )
    done = home.run("dags", "test", "nightly")
    assert done.returncode == 0  # its leaf succeeded
    run_id = home.latest_run_id("nightly")
    rows = {r["task_id"]: r for r in _task_rows(home, "nightly", run_id)}
    assert (rows["load"]["state"], rows["after"]["state"]) == ("failed", "success")
    assert _gap(rows["load"], rows["after"]) < 1.0  # not held up by the 3 s of tries
    (failed,) = _alerts(home, "alert_failed")
    assert failed.startswith("email to ops@example.com (failure, try 1): not sent after 3 tries:")
    assert "Connection refused" in failed
    log = home.settings.attempt_log_path("nightly", run_id, "load", 1).read_text()
    assert f"alert: {failed}" in log


def test_webhooks_get_the_events_and_dags_they_ask_for(home: Home) -> None:
    with WebhookServer() as wanted, WebhookServer() as other_dag, WebhookServer() as failures:
        configure(
            home,
            f"""
[[notify.webhook]]
url = "{wanted.url}"
on = ["failure", "success"]
dags = ["etl"]

[[notify.webhook]]
url = "{other_dag.url}"
dags = ["another"]

[[notify.webhook]]
url = "{failures.url}"
on = ["failure"]
timeout = 3
""",
        )
        home.write_dag(
            "etl.py",
            """
            from flowtui import DAG, BashOperator
            with DAG("etl", schedule=None):
                extract = BashOperator(task_id="extract", bash_command="true")
                load = BashOperator(task_id="load", bash_command="echo no table; exit 2")
                report = BashOperator(task_id="report", bash_command="true")
                extract >> load >> report
            """,
        )
        assert home.run("dags", "test", "etl").returncode == 1
        run_id = home.latest_run_id("etl")
    bodies = sorted(wanted.bodies, key=lambda b: ["extract", "load"].index(b["task_id"]))
    assert [(b["task_id"], b["event"], b["state"]) for b in bodies] == [
        ("extract", "success", "success"),
        ("load", "failure", "failed"),
    ]  # report became upstream_failed: no alert, as in Airflow
    body = bodies[1]
    command = f"flowtui --home {home.path} logs etl {run_id} load --try 1"
    assert body == {
        "text": f"[flowtui] failed: DAG etl, task load, run {run_id} (try 1, logical date "
        f"{body['logical_date']})\nError: bash exited with code 2\nLog: `{command}`",
        "event": "failure",
        "dag_id": "etl",
        "task_id": "load",
        "run_id": run_id,
        "try_number": 1,
        "state": "failed",
        "logical_date": body["logical_date"],
        "error": "bash exited with code 2",
        "log_command": command,
    }
    parse_datetime(body["logical_date"])
    assert other_dag.bodies == []
    assert [b["task_id"] for b in failures.bodies] == ["load"]
    sent = _alerts(home, "alert_sent")
    assert len(sent) == 3
    assert all("/hooks/" not in detail for detail in sent)  # a webhook's path may be its secret


def test_a_hanging_webhook_does_not_delay_the_next_task(home: Home) -> None:
    with WebhookServer(hang=True) as hanging:
        configure(
            home,
            f'[[notify.webhook]]\nurl = "{hanging.url}"\non = ["failure", "success"]\n'
            "timeout = 5\n",
        )
        home.write_dag(
            "etl.py",
            """
            from flowtui import DAG, BashOperator
            with DAG("etl", schedule=None):
                first = BashOperator(task_id="first", bash_command="exit 1")
                second = BashOperator(task_id="second", bash_command="true",
                                      trigger_rule="all_done")
                third = BashOperator(task_id="third", bash_command="true")
                first >> second >> third
            """,
        )
        process = subprocess.Popen(
            [FLOWTUI, "dags", "test", "etl"],
            env=home.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: _ended(home, "etl", "third"), timeout=20)
            assert hanging.received.wait(5)
        finally:
            hanging.release()
            process.wait(timeout=30)
    run_id = home.latest_run_id("etl")
    rows = {r["task_id"]: r for r in _task_rows(home, "etl", run_id)}
    for before, after in (("first", "second"), ("second", "third")):
        assert _gap(rows[before], rows[after]) < 2.0, (before, after)


def _gap(before: dict[str, Any], after: dict[str, Any]) -> float:
    """Seconds from one task instance's end to the next one's start, as the store has them."""
    start, end = parse_datetime(after["start_date"]), parse_datetime(before["end_date"])
    return (start - end).total_seconds()


def _ended(home: Home, dag_id: str, task_id: str) -> bool:
    try:
        run_id = home.latest_run_id(dag_id)
    except AssertionError:
        return False
    return home.task_state(dag_id, run_id, task_id) in ("success", "failed")


def _task_rows(home: Home, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    store = home.store()
    try:
        return reads.task_instances(store.conn, dag_id, run_id)
    finally:
        store.close()


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connecting is refused at once)."""
    return free_port()


def test_a_task_killed_by_its_timeout_alerts_as_a_failure(home: Home) -> None:
    with WebhookServer() as hook:
        configure(home, f'[[notify.webhook]]\nurl = "{hook.url}"\n')
        home.write_dag(
            "slow.py",
            """
            from flowtui import DAG, BashOperator
            with DAG("slow", schedule=None):
                BashOperator(task_id="wait", bash_command="sleep 30", execution_timeout=0.5)
            """,
        )
        assert home.run("dags", "test", "slow").returncode == 1
    (body,) = hook.bodies
    assert (body["task_id"], body["event"], body["state"]) == ("wait", "failure", "failed")
    assert body["error"].startswith("execution_timeout of 0.5 s exceeded")


def test_a_stop_records_what_could_not_go_out_within_its_grace(tmp_path: Path) -> None:
    """The delivery threads alone: a webhook that hangs past the stop's grace period is
    recorded as not sent, once, in events and the attempt's log, and stop returns in time."""
    with WebhookServer(hang=True) as hanging:
        hook = Webhook(hanging.url, frozenset({"failure"}), None, 5.0)
        settings = Settings(tmp_path, tmp_path, "flag", webhooks=(hook,))
        log = tmp_path / "attempt=1.log"
        notice = Notice("failure", "etl", "r1", "load", 1, "failed", "2024-03-05", "boom", str(log))
        delivery = AlertDelivery(settings, utcnow)
        delivery.submit(notice)
        assert hanging.received.wait(5)
        started = time.monotonic()
        delivery.stop(grace=0.3)
        assert time.monotonic() - started < 1.0
    store = Store(settings.db_path)
    try:
        (event,) = [e for e in reads.events(store.conn) if e["kind"].startswith("alert")]
    finally:
        store.close()
    port = hanging.url.split(":")[2].split("/")[0]
    expected = (
        f"webhook http://127.0.0.1:{port}/… (failure, try 1): "
        "not sent: the scheduler stopped before it was"
    )
    assert (event["kind"], event["try_number"], event["detail"]) == ("alert_failed", 1, expected)
    assert log.read_text().endswith(f"alert: {expected}\n")
