"""`EmailOperator` in a real attempt process: the templated subject, recipients and attachment
reach a real SMTP server (STARTTLS and a login); an argument flowtui does not take (Airflow's
conn_id) is refused when the DAG file loads; a server that is not there fails the task."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alert_servers import Mail, configure, free_port, smtp_home
from tests.conftest import Home

REPORT = """
from flowtui import DAG, EmailOperator
with DAG("report", schedule=None, params={{"team": "data"}}):
    EmailOperator(
        task_id="send",
        to="{{{{ params.team }}}}@example.com",
        cc=["boss@example.com"],
        bcc="audit@example.com",
        subject="Report for {{{{ ds }}}}",
        html_content="<h1>Rows: {{{{ params.team }}}}</h1>",
        files=["{folder}/{{{{ params.team }}}}-rows.csv"],
        {extra}
    )
"""


@pytest.fixture
def mail_server(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Mail]]:
    with smtp_home(home, tmp_path, monkeypatch) as mails:
        yield mails


def test_the_mail_goes_out_rendered_with_its_attachment(
    home: Home, tmp_path: Path, mail_server: list[Mail]
) -> None:
    (tmp_path / "data-rows.csv").write_text("id,name\n1,ada\n")
    home.write_dag("report.py", REPORT.format(folder=tmp_path, extra=""))
    done = home.run("dags", "test", "report", "--logical-date", "2024-03-05")
    assert done.returncode == 0, done.stdout + done.stderr
    (mail,) = mail_server
    assert mail.tls
    assert mail.subject == "Report for 2024-03-05"
    assert mail.rcpt_tos == ["data@example.com", "boss@example.com", "audit@example.com"]
    assert mail.message["To"] == "data@example.com"
    assert mail.message["Cc"] == "boss@example.com"
    assert mail.message["Bcc"] is None  # blind
    assert mail.message.get_content_type() == "multipart/mixed"
    assert "<h1>Rows: data</h1>" in mail.text
    (attachment,) = mail.message.iter_attachments()
    assert attachment.get_filename() == "data-rows.csv"
    assert attachment.get_content() == b"id,name\n1,ada\n"


def test_airflow_arguments_it_does_not_take_are_refused_at_load(home: Home) -> None:
    home.write_dag("report.py", REPORT.format(folder="x", extra='conn_id="smtp_default",'))
    done = home.run("dags", "errors")
    assert "EmailOperator takes no argument 'conn_id'" in done.stdout
    assert len([line for line in done.stdout.splitlines() if "report.py" in line]) == 1


def test_a_mail_server_that_is_not_there_fails_the_task(home: Home, tmp_path: Path) -> None:
    configure(home, f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\n')
    (tmp_path / "data-rows.csv").write_text("x\n")
    home.write_dag("report.py", REPORT.format(folder=tmp_path, extra=""))
    done = home.run("dags", "test", "report")
    assert done.returncode == 1
    run_id = home.latest_run_id("report")
    events = home.events(dag_id="report")
    (failed,) = [e for e in events if e["kind"] == "task_state" and e["new_state"] == "failed"]
    assert failed["detail"].startswith("MailNotSent: mail to data@example.com not sent:")
    assert home.task_state("report", run_id, "send") == "failed"
