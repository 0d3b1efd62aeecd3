"""Delivering alerts off the scheduler's loop thread: a few worker threads take each delivery
(the task's mail, one webhook) from a queue, try it up to `tries` times with a doubling pause
between tries when the error may pass (a refused connection, a timeout, an SMTP 4xx, an HTTP
5xx), and record how it ended, once, as an `alert_sent` or `alert_failed` row in `events` and a
`[flowtui]` line in the attempt's log. Each try has its own timeout (`[smtp] timeout`, a
webhook's `timeout`), so nothing here waits forever, and the loop only puts work on a queue.

At stop, what is queued or under way goes on (tries and pauses) within a short grace period;
what has not ended by then is recorded as not sent. Nothing is kept across a crash: an alert
queued when the scheduler is killed is lost, never sent twice."""

from __future__ import annotations

import itertools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from flowtui.clock import Clock, to_text
from flowtui.config import Settings
from flowtui.errors import FlowtuiError
from flowtui.execution.logs import append_line
from flowtui.notify import DeliveryFailed
from flowtui.notify.notice import Notice
from flowtui.store import Store, writes

logger = logging.getLogger(__name__)

STOP_GRACE = 5.0
"""Seconds a stopping scheduler gives the deliveries still queued or under way."""


class _Delivery(NamedTuple):
    number: int
    notice: Notice
    webhook_url: str | None
    """None: the notice's mail; else the webhook to post to."""
    timeout: float
    shown: str
    """How logs and events name it: `email to a@x` or `webhook https://host/…`."""


class AlertDelivery:
    """Sends each notice to the task's email and the matching webhooks; thread-safe `submit`.

    Args:
        settings: the home (for the logs command) and its `[smtp]` and webhooks.
        clock: timestamps of the recorded outcomes.
        tries: the most tries of one delivery (1 + retries).
        backoff: seconds before the second try; doubled before each next one.
        workers: deliveries under way at once (a hanging webhook holds one).
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        tries: int = 3,
        backoff: float = 1.0,
        workers: int = 4,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.tries = tries
        self.backoff = backoff
        self.workers = workers
        self._queue: queue.SimpleQueue[_Delivery | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._pending: dict[int, _Delivery] = {}
        """Deliveries queued or under way, until their outcome is recorded (once)."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._deadline = float("inf")
        """When a stop's grace period ends (time.monotonic)."""
        self._numbers = itertools.count(1)
        self._store: Store | None = None
        self._import_senders()

    def _import_senders(self) -> None:
        """Import what the configured channels send with now, while the scheduler starts: on a
        worker thread at the first alert, urllib.request's 36 ms of import held the loop up
        (it shares the interpreter), delaying the next tasks (bench/webhook_lateness.py). A
        home without webhooks or `[smtp]` imports none of it."""
        if self.settings.webhooks:
            import urllib.request  # noqa: F401
        if self.settings.smtp.host:
            import email.mime.multipart  # noqa: F401
            import smtplib  # noqa: F401
            import ssl  # noqa: F401

    def submit(self, notice: Notice) -> None:
        """Queue a delivery per channel that wants `notice`; returns at once."""
        if self._stopping.is_set():
            logger.warning("alert for %s.%s not sent: stopping", notice.dag_id, notice.task_id)
            return
        jobs = []
        if notice.emails:
            shown = f"email to {', '.join(notice.emails)}"
            jobs.append(_Delivery(next(self._numbers), notice, None, 0.0, shown))
        for hook in self.settings.webhooks:
            if hook.wants(notice.event, notice.dag_id):
                from flowtui.notify.webhook import shown_url

                shown = f"webhook {shown_url(hook.url)}"
                jobs.append(_Delivery(next(self._numbers), notice, hook.url, hook.timeout, shown))
        with self._lock:
            for job in jobs:
                self._pending[job.number] = job
            if jobs and not self._threads:
                self._start_workers()
        for job in jobs:
            self._queue.put(job)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Give what is queued or under way `grace` seconds (a pause that would end later ends
        the delivery), then record the rest as not sent."""
        self._deadline = time.monotonic() + grace
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(max(0.0, self._deadline - time.monotonic()))
        with self._lock:
            left = list(self._pending.values())
        for job in left:
            self._record(job, False, "not sent: the scheduler stopped before it was")
        if self._store is not None:
            self._store.close()  # this thread's connection; each worker closed its own

    # --- the worker threads ---

    def _start_workers(self) -> None:
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"flowtui-alerts-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        try:
            while (job := self._queue.get()) is not None:
                try:
                    self._deliver(job)
                except Exception:  # a bug: the worker must live on for the next alert
                    logger.exception("alert %s could not be delivered", job.shown)
                    self._record(job, False, "not sent: flowtui failed (see the scheduler log)")
        finally:
            if self._store is not None:
                self._store.close()

    def _deliver(self, job: _Delivery) -> None:
        send = self._sender(job)
        reason, tries = "", 0
        while tries < self.tries:
            tries += 1
            try:
                send()
            except DeliveryFailed as exc:
                reason = exc.reason
                if not exc.transient:
                    break
            else:
                self._record(job, True, "sent" if tries == 1 else f"sent on try {tries}")
                return
            if tries < self.tries and not self._pause(self.backoff * 2 ** (tries - 1)):
                reason += " (the scheduler stopped before the next try)"
                break
        plural = "try" if tries == 1 else "tries"
        self._record(job, False, f"not sent after {tries} {plural}: {reason}")

    def _pause(self, seconds: float) -> bool:
        """Wait before the next try; False if a stop's grace period would end first."""
        until = time.monotonic() + seconds
        if self._stopping.wait(seconds):
            if until > self._deadline:
                return False
            time.sleep(max(0.0, until - time.monotonic()))
        return True

    def _sender(self, job: _Delivery) -> Callable[[], None]:
        """What one try does; the message is built once (the log's tail read once)."""
        home = self.settings.home
        notice = job.notice
        if job.webhook_url is not None:
            from flowtui.notify.webhook import post_json

            body = notice.webhook_body(home)
            url, timeout = job.webhook_url, job.timeout
            return lambda: post_json(url, body, timeout)
        from flowtui.notify.smtp import build_message, send_message

        smtp = self.settings.smtp
        text = notice.mail_body(home)
        message = build_message(smtp, to=notice.emails, subject=notice.subject(), text=text)
        return lambda: send_message(smtp, message, notice.emails)

    def _record(self, job: _Delivery, sent: bool, outcome: str) -> None:
        """The outcome in `events` and the attempt's log, once per delivery."""
        with self._lock:
            if self._pending.pop(job.number, None) is None:
                return
        notice = job.notice
        what = f"{notice.event}, try {notice.try_number}" if notice.try_number else notice.event
        detail = f"{job.shown} ({what}): {outcome}"
        log = logger.info if sent else logger.warning
        log("alert for %s.%s in %s: %s", notice.dag_id, notice.task_id, notice.run_id, detail)
        try:
            store = self._open_store()
            with store.transaction() as conn:
                writes.record_event(
                    conn,
                    "alert_sent" if sent else "alert_failed",
                    ts=to_text(self.clock()),
                    actor="alerts",
                    dag_id=notice.dag_id,
                    run_id=notice.run_id,
                    task_id=notice.task_id,
                    try_number=notice.try_number,
                    detail=detail,
                )
        except (sqlite3.Error, FlowtuiError) as exc:
            logger.error("alert outcome not recorded in the store: %s (%s)", exc, detail)
        if notice.log_path:
            append_line(notice.log_path, f"alert: {detail}")

    def _open_store(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = Store(self.settings.db_path)
            return self._store
