"""`[smtp]` and `[[notify.webhook]]` in flowtui.toml: what they give, and a one-line error
naming the key (and what to do) for each bad value; unknown keys are warned about."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui.alert_config import AlertConfigError, SmtpSettings, Webhook
from flowtui.config import load_settings
from tests.conftest import Home


def _load(tmp_path: Path, text: str) -> tuple[SmtpSettings, tuple[Webhook, ...], tuple[str, ...]]:
    (tmp_path / "flowtui.toml").write_text(text)
    settings = load_settings(tmp_path, tmp_path)
    return settings.smtp, settings.webhooks, settings.config_warnings


def test_no_sections_mean_no_mail_host_and_no_webhooks(tmp_path: Path) -> None:
    smtp, webhooks, warnings = _load(tmp_path, "")
    assert smtp == SmtpSettings(host="", port=25, mail_from="flowtui@localhost")
    assert (webhooks, warnings) == ((), ())


def test_every_key_is_read(tmp_path: Path) -> None:
    smtp, webhooks, warnings = _load(
        tmp_path,
        """
[smtp]
host = "mail.example.com"
port = 587
starttls = true
user = "flowtui"
password_env = "SMTP_PASSWORD"
mail_from = "etl@example.com"
timeout = 3

[[notify.webhook]]
url = "https://hooks.example.com/T000/B000"
on = ["failure", "retry", "sla_miss", "success"]
dags = ["etl"]
timeout = 2.5

[[notify.webhook]]
url = "http://127.0.0.1:9000/"
""",
    )
    assert smtp == SmtpSettings(
        "mail.example.com", 587, True, False, "flowtui", "SMTP_PASSWORD", "etl@example.com", 3.0
    )
    assert webhooks == (
        Webhook(
            "https://hooks.example.com/T000/B000",
            frozenset({"failure", "retry", "sla_miss", "success"}),
            frozenset({"etl"}),
            2.5,
        ),
        Webhook("http://127.0.0.1:9000/", frozenset({"failure"}), None, 10.0),
    )
    assert warnings == ()
    assert webhooks[0].wants("retry", "etl")
    assert not webhooks[0].wants("retry", "other")
    assert webhooks[1].wants("failure", "other")
    assert not webhooks[1].wants("success", "other")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[smtp]\nport = "25"', "smtp.port must be a port number 1-65535, got '25'"),
        ("[smtp]\nport = 70000", "smtp.port must be a port number 1-65535, got 70000"),
        ('[smtp]\nstarttls = "yes"', "smtp.starttls must be true or false, got 'yes'"),
        ("[smtp]\nssl = true\nstarttls = true", "smtp.ssl and smtp.starttls cannot both be true"),
        ("[smtp]\nhost = 1", "smtp.host must be a string, got 1"),
        ('[smtp]\nmail_from = "flowtui"', "smtp.mail_from must be an address like"),
        ("[smtp]\ntimeout = 0", "smtp.timeout must be a positive number of seconds, got 0"),
        ('smtp = "localhost"', "smtp must be a table ([smtp]), got 'localhost'"),
        ('[notify]\nwebhook = "x"', "notify.webhook must be [[notify.webhook]] tables"),
        (
            "[[notify.webhook]]\non = []",
            "notify.webhook[1].url must be an http(s):// URL, got None",
        ),
        (
            '[[notify.webhook]]\nurl = "ftp://x"',
            "notify.webhook[1].url must be an http(s):// URL, got 'ftp://x'",
        ),
        (
            '[[notify.webhook]]\nurl = "http://x"\n[[notify.webhook]]\nurl = "http://y"\n'
            'on = ["failed"]',
            "notify.webhook[2].on has unknown event 'failed'; use some of: failure, retry, "
            "sla_miss, success",
        ),
        (
            '[[notify.webhook]]\nurl = "http://x"\non = "failure"',
            "notify.webhook[1].on must be a list of some of: failure, retry, sla_miss, success",
        ),
        (
            '[[notify.webhook]]\nurl = "http://x"\ndags = "etl"',
            "notify.webhook[1].dags must be a list of dag_ids, got 'etl'",
        ),
        (
            '[[notify.webhook]]\nurl = "http://x"\ntimeout = -1',
            "notify.webhook[1].timeout must be a positive number of seconds, got -1",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AlertConfigError) as raised:
        _load(tmp_path, text)
    error = str(raised.value)
    assert error.startswith(f"{tmp_path / 'flowtui.toml'}: {message}")
    assert "\n" not in error


def test_unknown_keys_are_warned_about(tmp_path: Path) -> None:
    _, _, warnings = _load(
        tmp_path, '[smtp]\nhots = "x"\n[[notify.webhook]]\nurl = "http://x"\nevents = []\n'
    )
    assert [w.split(": ", 1)[1].split(";")[0] for w in warnings] == [
        "unknown key smtp.hots is ignored",
        "unknown key notify.webhook[1].events is ignored",
    ]


def test_the_command_line_says_it_in_one_line(home: Home) -> None:
    home.path.mkdir(parents=True)
    (home.path / "flowtui.toml").write_text('[[notify.webhook]]\nurl = "http://x"\non = ["oops"]\n')
    done = home.run("dags", "list")
    assert done.returncode == 1
    assert done.stderr == (
        f"flowtui: error: {home.path / 'flowtui.toml'}: notify.webhook[1].on has unknown event "
        "'oops'; use some of: failure, retry, sla_miss, success\n"
    )
