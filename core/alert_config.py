"""The alert sections of `flowtui.toml`: `[smtp]` (how mail is sent) and `[[notify.webhook]]`
(where alerts are posted), read into plain values with one-line errors naming the key; and which
tasks ask for mail, to warn when a DAG asks for mail that no `[smtp]` host can send. Sending
belongs to `flowtui.notify`, deciding when to alert to `flowtui.scheduling`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from flowtui.errors import FlowtuiError
from flowtui.spec import TaskSpec

ALERT_EVENTS = ("failure", "retry", "sla_miss", "success")
"""What a webhook can be told of, by the names its `on` list takes."""

_SMTP_KEYS = ("host", "port", "starttls", "ssl", "user", "password_env", "mail_from", "timeout")
_WEBHOOK_KEYS = ("url", "on", "dags", "timeout")


class AlertConfigError(FlowtuiError):
    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key} {problem}")


class SmtpSettings(NamedTuple):
    """`[smtp]`: where mail goes out. No host (the default): no mail can be sent."""

    host: str = ""
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    """SMTP over TLS from the first byte (port 465); `starttls` upgrades a plain connection."""
    user: str = ""
    """Log in as this user when set (with the password from `password_env`)."""
    password_env: str = ""
    """The name of the environment variable that holds the password (never the password)."""
    mail_from: str = "flowtui@localhost"
    timeout: float = 10.0
    """Seconds each step of talking to the server may take."""


class Webhook(NamedTuple):
    """One `[[notify.webhook]]`: POST a Slack-compatible JSON body to `url` on `on` events."""

    url: str
    on: frozenset[str] = frozenset({"failure"})
    dags: frozenset[str] | None = None
    """Only these DAGs' alerts; None: every DAG's."""
    timeout: float = 10.0

    def wants(self, event: str, dag_id: str) -> bool:
        return event in self.on and (self.dags is None or dag_id in self.dags)


class AlertConfig(NamedTuple):
    smtp: SmtpSettings
    webhooks: tuple[Webhook, ...]
    warnings: tuple[str, ...]
    """One line per unknown key in these sections (ignored, like other unknown keys)."""


def read_alert_config(config: Mapping[str, object], path: Path) -> AlertConfig:
    """The `[smtp]` and `[notify]` tables of a parsed `flowtui.toml`.

    Raises:
        AlertConfigError: a value of the wrong type or out of range, named by its key.
    """
    warnings: list[str] = []
    smtp = _smtp(_table(config, "smtp", path), path, warnings)
    notify = _table(config, "notify", path)
    warnings += _unknown(path, "notify", notify, ("webhook",))
    entries = notify.get("webhook", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise AlertConfigError(path, "notify.webhook", "must be [[notify.webhook]] tables")
    webhooks = tuple(
        _webhook(entry, f"notify.webhook[{n}]", path, warnings)
        for n, entry in enumerate(entries, 1)
    )
    return AlertConfig(smtp, webhooks, tuple(warnings))


def _table(config: Mapping[str, object], key: str, path: Path) -> dict[str, object]:
    table = config.get(key, {})
    if not isinstance(table, dict):
        raise AlertConfigError(path, key, f"must be a table ([{key}]), got {table!r}")
    return table


def _smtp(table: dict[str, object], path: Path, warnings: list[str]) -> SmtpSettings:
    warnings += _unknown(path, "smtp", table, _SMTP_KEYS)
    default = SmtpSettings()
    text = {
        key: _text(table, key, getattr(default, key), f"smtp.{key}", path)
        for key in ("host", "user", "password_env", "mail_from")
    }
    port = table.get("port", default.port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise AlertConfigError(path, "smtp.port", f"must be a port number 1-65535, got {port!r}")
    starttls = _flag(table, "starttls", path)
    ssl = _flag(table, "ssl", path)
    if starttls and ssl:
        raise AlertConfigError(
            path,
            "smtp.ssl",
            "and smtp.starttls cannot both be true; ssl for port 465, starttls for 587",
        )
    if text["mail_from"].count("@") != 1:
        raise AlertConfigError(
            path,
            "smtp.mail_from",
            f"must be an address like flowtui@example.com, got {text['mail_from']!r}",
        )
    timeout = _seconds(table, "timeout", default.timeout, "smtp.timeout", path)
    return SmtpSettings(port=port, starttls=starttls, ssl=ssl, timeout=timeout, **text)


def _webhook(entry: dict[str, object], name: str, path: Path, warnings: list[str]) -> Webhook:
    warnings += _unknown(path, name, entry, _WEBHOOK_KEYS)
    url = entry.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise AlertConfigError(path, f"{name}.url", f"must be an http(s):// URL, got {url!r}")
    on = entry.get("on", ["failure"])
    choices = ", ".join(ALERT_EVENTS)
    if not isinstance(on, list) or not on or not all(isinstance(e, str) for e in on):
        raise AlertConfigError(path, f"{name}.on", f"must be a list of some of: {choices}")
    unknown = [e for e in on if e not in ALERT_EVENTS]
    if unknown:
        raise AlertConfigError(
            path, f"{name}.on", f"has unknown event {unknown[0]!r}; use some of: {choices}"
        )
    dags = entry.get("dags")
    if dags is not None and (
        not isinstance(dags, list) or not all(isinstance(d, str) for d in dags)
    ):
        raise AlertConfigError(path, f"{name}.dags", f"must be a list of dag_ids, got {dags!r}")
    timeout = _seconds(entry, "timeout", 10.0, f"{name}.timeout", path)
    return Webhook(url, frozenset(on), None if dags is None else frozenset(dags), timeout)


def _text(table: dict[str, object], key: str, default: str, name: str, path: Path) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise AlertConfigError(path, name, f"must be a string, got {value!r}")
    return value.strip()


def _flag(table: dict[str, object], key: str, path: Path) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise AlertConfigError(path, f"smtp.{key}", f"must be true or false, got {value!r}")
    return value


def _seconds(table: dict[str, object], key: str, default: float, name: str, path: Path) -> float:
    value = table.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise AlertConfigError(path, name, f"must be a positive number of seconds, got {value!r}")
    return float(value)


def _unknown(
    path: Path, section: str, table: dict[str, object], known: tuple[str, ...]
) -> list[str]:
    return [
        f"{path}: unknown key {section}.{key} is ignored; known keys: {', '.join(known)}"
        for key in table
        if key not in known
    ]


# --- who asks for mail ---


def asks_for_email(task: TaskSpec) -> bool:
    """Whether the task would send mail: an EmailOperator, or an `email` with
    email_on_failure or email_on_retry."""
    if task.operator == "EmailOperator":
        return True
    return bool(task.email) and (task.email_on_failure or task.email_on_retry)


class MailWarning(NamedTuple):
    """A DAG asks for mail that cannot be sent (no `[smtp]` host): shown beside import errors."""

    fileloc: str
    dag_id: str
    message: str


def mail_warnings(
    asking: Iterable[tuple[str, str, str]], smtp: SmtpSettings, home: Path
) -> list[MailWarning]:
    """One warning per DAG among `asking` ((fileloc, dag_id, task_id) of the tasks that ask
    for mail), unless `smtp` has a host."""
    if smtp.host:
        return []
    tasks: dict[tuple[str, str], list[str]] = {}
    for fileloc, dag_id, task_id in asking:
        tasks.setdefault((fileloc, dag_id), []).append(task_id)
    config = home / "flowtui.toml"
    return [
        MailWarning(
            fileloc,
            dag_id,
            f"DAG {dag_id!r} asks for email ({'task' if len(ids) == 1 else 'tasks'} "
            f"{', '.join(map(repr, ids))}) but {config} has no [smtp] host, so no mail is "
            f"sent; add an [smtp] section with a host",
        )
        for (fileloc, dag_id), ids in sorted(tasks.items())
    ]
