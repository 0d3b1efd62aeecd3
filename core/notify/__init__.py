"""Telling someone: sending mail through the `[smtp]` settings (`smtp`), posting JSON to a
webhook (`webhook`), and the words of an alert about a task instance (`notice`). Transport and
text only: when to alert, retrying and recording each delivery belong to
`flowtui.scheduling.alert_delivery`; EmailOperator (`flowtui.authoring`) sends through `smtp`
too. The standard library's smtplib, email and urllib are imported only when something is
sent."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """A message could not be handed over; `transient` when trying again may help (a refused
    connection, a timeout, an SMTP 4xx reply, an HTTP 5xx or 429), not when it cannot (no host
    configured, a rejected login or address, an HTTP 4xx)."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
