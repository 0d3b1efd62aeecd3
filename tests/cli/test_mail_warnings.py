"""A DAG that asks for mail while the home has no [smtp] host is not silent: `flowtui dags
errors` names it as a warning (text and JSON); with a host set, the warning goes away."""

from __future__ import annotations

import json

from tests.conftest import Home

ASKING = """
from flowtui import DAG, BashOperator, EmailOperator
with DAG("etl", schedule=None):
    BashOperator(task_id="load", bash_command="true", email="ops@example.com")
    BashOperator(task_id="quiet", bash_command="true", email="ops@example.com",
                 email_on_failure=False, email_on_retry=False)
with DAG("report", schedule=None):
    EmailOperator(task_id="send", to="boss@example.com", subject="s", html_content="h")
with DAG("plain", schedule=None):
    BashOperator(task_id="work", bash_command="true")
"""


def test_dags_errors_warns_of_mail_without_an_smtp_host(home: Home) -> None:
    path = home.write_dag("asking.py", ASKING)
    done = home.run("dags", "errors", check=True)
    config = home.path / "flowtui.toml"
    assert done.stdout.splitlines() == [
        f"{path}: warning: DAG 'etl' asks for email (task 'load') but {config} has no [smtp] "
        f"host, so no mail is sent; add an [smtp] section with a host",
        f"{path}: warning: DAG 'report' asks for email (task 'send') but {config} has no [smtp] "
        f"host, so no mail is sent; add an [smtp] section with a host",
        "no import errors",
    ]
    listed = json.loads(home.run("dags", "errors", "--output", "json", check=True).stdout)
    assert [(e["kind"], e["filename"], e["line"]) for e in listed] == [
        ("warning", str(path), None),
        ("warning", str(path), None),
    ]


def test_an_smtp_host_silences_the_warning(home: Home) -> None:
    home.write_dag("asking.py", ASKING)
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "flowtui.toml").write_text('[smtp]\nhost = "mail.example.com"\n')
    done = home.run("dags", "errors", check=True)
    assert done.stdout == "no import errors\n"
