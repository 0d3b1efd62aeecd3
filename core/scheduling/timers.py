"""Timers for schedules, retry delays, timeouts and kill escalation: APScheduler jobs that post
a message to the scheduler's inbox when due. APScheduler is imported and started on the first
timer, so that a run that needs none (most `dags test` runs) never pays for it."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from flowtui.clock import Clock

logger = logging.getLogger(__name__)

M = TypeVar("M")


class Timers(Generic[M]):
    """Timers that call `post(message)` on an APScheduler thread when due."""

    def __init__(self, post: Callable[[M], None], clock: Clock) -> None:
        self.post = post
        self.clock = clock
        self._scheduler: Any = None
        self._lock = threading.Lock()

    def at(self, when: datetime, message: M) -> None:
        """Post `message` at `when`; at once if `when` has passed."""
        if when <= self.clock():
            self.post(message)
            return
        self._apscheduler().add_job(
            self.post, "date", run_date=when, args=[message], misfire_grace_time=None
        )

    def every(self, trigger: Any, message: M, job_id: str) -> None:
        """Post `message` at each fire time of an APScheduler `trigger` (replacing any job
        with the same id); a missed fire time still fires, once."""
        self._apscheduler().add_job(
            self.post,
            trigger,
            args=[message],
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if self._scheduler is None:
                return
            scheduler = self._scheduler
        with contextlib.suppress(LookupError):  # JobLookupError: nothing to cancel
            scheduler.remove_job(job_id)

    def shutdown(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
                self._scheduler = None

    def _apscheduler(self) -> Any:
        with self._lock:
            if self._scheduler is None:
                from apscheduler.schedulers.background import BackgroundScheduler

                self._scheduler = BackgroundScheduler(timezone="UTC")
                self._scheduler.start()
            return self._scheduler
