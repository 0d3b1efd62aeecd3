"""An alert about one task instance (`Notice`: failure, retry, success or sla_miss) and its
words: the mail's subject and body (the try, the error, the last lines of the attempt's log,
the logical date and the `flowtui logs` command that prints the rest) and a webhook's
Slack-compatible JSON body."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

LOG_TAIL_LINES = 50
"""How many of the attempt's last log lines a mail quotes."""

_TAIL_BYTES = 1 << 16
"""At most this much of the log's end is read for those lines."""


class Notice(NamedTuple):
    """What happened to a task instance, for whoever is told: plain data, made on the scheduler's
    loop thread and sent from the delivery thread."""

    event: str
    """failure, retry, success or sla_miss (`flowtui.alert_config.ALERT_EVENTS`)."""
    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    state: str
    """The task instance's state: failed, up_for_retry, success, or what it was at an SLA miss."""
    logical_date: str
    error: str | None = None
    log_path: str | None = None
    """The attempt's log: its tail is quoted, and each delivery's outcome appended."""
    emails: tuple[str, ...] = ()
    """Who gets it by mail (the task's `email`, when email_on_failure/retry says so)."""

    def logs_command(self, home: Path) -> str:
        """The exact command that prints this attempt's whole log."""
        import shlex  # only when an alert is sent: the scheduler's start-up does without

        words = ["flowtui", "--home", str(home), "logs", self.dag_id, self.run_id, self.task_id]
        if self.try_number > 0:
            words += ["--try", str(self.try_number)]
        return shlex.join(words)

    def subject(self) -> str:
        return f"[flowtui] {self.state}: DAG {self.dag_id}, task {self.task_id}, run {self.run_id}"

    def mail_body(self, home: Path) -> str:
        """The plain-text body of the alert mail."""
        lines = [
            f"DAG:          {self.dag_id}",
            f"Task:         {self.task_id}",
            f"Run:          {self.run_id}",
            f"Logical date: {self.logical_date}",
            f"State:        {self.state} ({_event_words(self.event)})",
            f"Try:          {self.try_number}",
            f"Error:        {self.error or '(none recorded)'}",
            "",
        ]
        tail = log_tail(self.log_path) if self.log_path else []
        if tail:
            lines.append(f"Last {len(tail)} line(s) of the attempt's log ({self.log_path}):")
            lines += [f"  {line}" for line in tail]
        else:
            lines.append("The attempt's log is empty or missing.")
        lines += ["", "The whole log:", f"  {self.logs_command(home)}", ""]
        return "\n".join(lines)

    def webhook_body(self, home: Path) -> dict[str, Any]:
        """Slack's `{"text": ...}` and the facts as fields of their own."""
        command = self.logs_command(home)
        text = f"{self.subject()} (try {self.try_number}, logical date {self.logical_date})"
        if self.error:
            text += f"\nError: {self.error}"
        text += f"\nLog: `{command}`"
        return {
            "text": text,
            "event": self.event,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "try_number": self.try_number,
            "state": self.state,
            "logical_date": self.logical_date,
            "error": self.error,
            "log_command": command,
        }


def _event_words(event: str) -> str:
    return {
        "failure": "failed, no retries left",
        "retry": "failed, will be retried",
        "success": "succeeded",
        "sla_miss": "missed its SLA",
    }.get(event, event)


def log_tail(path: str, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` lines of a log, reading at most its last 64 KiB; [] if it is missing."""
    try:
        with open(path, "rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - _TAIL_BYTES))
            data = file.read()
    except OSError:
        return []
    text = data.decode(errors="replace").splitlines()
    if size > _TAIL_BYTES and len(text) > 1:
        text = text[1:]  # the first line read is likely cut
    return text[-lines:]
