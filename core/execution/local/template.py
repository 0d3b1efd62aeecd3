"""A template: a child of the fork server that imports one DAG file whose import starts threads,
and forks that file's attempts from what it imported.

Such a file must never be imported in the fork server: a fork copies only the forking thread,
so the server's every child would lack the file's threads and could inherit a lock one of them
held, taken forever. Importing it again in every attempt instead costs its import time per
attempt. A template pays it once per version of the file, and only it carries the risk: it is
a fork server of its own (the same code, serving only this file's attempts), and the fork
server forwards its events to the scheduler unchanged. Its attempts lack the threads the
import started, as an Airflow task forked after its DAG file was parsed does.

The fork server's side is `Template`. A template whose file changed, or that got no attempt
for `TEMPLATE_IDLE` seconds, is drained: it takes no more attempts and exits after its last
one. When the scheduler is gone, the fork server closes the template's job pipe, and the
template is orphaned as the fork server is: its attempts run on and record their exits in
their tickets."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from flowtui.execution.local.protocol import (
    DrainServer,
    ExitServer,
    JobEvent,
    JobExited,
    LineBuffer,
    RunJob,
    decode_event,
    encode,
    write_all,
)

TEMPLATE_IDLE = 60.0
"""Seconds a template with no attempt waits for one before it is drained: a file run now and
then keeps no process (and none of the threads its import started) between runs."""


class Template:
    """The fork server's side of one template."""

    __slots__ = (
        "_lines",
        "draining",
        "event_r",
        "file",
        "idle_since",
        "job_w",
        "jobs",
        "mtime",
        "pid",
    )

    def __init__(self, file: str, mtime: int, pid: int, job_w: int, event_r: int) -> None:
        self.file, self.mtime, self.pid = file, mtime, pid
        self.job_w = job_w
        """Where its jobs are written; -1 once closed."""
        self.event_r = event_r
        """Read end of its event pipe (non-blocking); -1 once closed."""
        self.draining = False
        self.jobs: dict[int, RunJob] = {}
        """Attempts handed to it whose exit it has not reported yet."""
        self.idle_since: float | None = time.monotonic()
        """`time.monotonic()` when its last attempt ended; None while it has one."""
        self._lines = LineBuffer()

    @classmethod
    def fork(cls, file: str, mtime: int, become: Callable[[int, int], NoReturn]) -> Template:
        """Fork a template for version `mtime` of `file`; in the child, `become(job_r,
        event_w)` imports it and serves (it never returns)."""
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # as for every fork: the child never collects what is alive now
        job_r, job_w = os.pipe()
        event_r, event_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(job_w)
                os.close(event_r)
                become(job_r, event_w)
            finally:
                os._exit(1)
        os.close(job_r)
        os.close(event_w)
        os.set_blocking(event_r, False)
        return cls(file, mtime, pid, job_w, event_r)

    def is_current(self, mtime: int) -> bool:
        """Whether it may take an attempt of the file's version `mtime`."""
        return not self.draining and self.job_w >= 0 and self.mtime == mtime

    def send(self, job: RunJob) -> bool:
        """Hand it an attempt; False if it is gone (start the attempt some other way then)."""
        if not self._write(encode(job)):
            return False
        self.jobs[job.job] = job
        self.idle_since = None
        return True

    def read_events(self) -> list[tuple[JobEvent, RunJob | None]]:
        """The events it wrote since the last call, each with its attempt (that it no longer
        runs once it exited); closes the pipe at its end."""
        events: list[tuple[JobEvent, RunJob | None]] = []
        while self.event_r >= 0:
            try:
                chunk = os.read(self.event_r, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                self._close_events()
                break
            for line in self._lines.feed(chunk):
                event = decode_event(line)
                if isinstance(event, JobExited):
                    events.append((event, self.jobs.pop(event.job, None)))
                    if not self.jobs:
                        self.idle_since = time.monotonic()
                else:
                    events.append((event, self.jobs.get(event.job)))
        return events

    def idle_until(self) -> float | None:
        """When it is to be drained for want of attempts (monotonic); None while it has one,
        or once it drains."""
        if self.draining or self.idle_since is None:
            return None
        return self.idle_since + TEMPLATE_IDLE

    def drain(self) -> None:
        """No more attempts: it exits after its last one."""
        self.draining = True
        self._write(encode(DrainServer()))

    def stop(self) -> None:
        """Stop its attempts and exit (the fork server is stopping)."""
        self._write(encode(ExitServer()))

    def detach(self) -> None:
        """The scheduler is gone: no more jobs, and no events are read (it records its
        attempts' exits in their tickets)."""
        if self.job_w >= 0:
            os.close(self.job_w)
            self.job_w = -1
        self._close_events()

    def _write(self, data: bytes) -> bool:
        if self.job_w < 0:
            return False
        try:
            write_all(self.job_w, data)
        except OSError:  # EPIPE: it died
            return False
        return True

    def _close_events(self) -> None:
        if self.event_r >= 0:
            with contextlib.suppress(OSError):
                os.close(self.event_r)
            self.event_r = -1


class Templates:
    """The fork server's templates, by PID; `become(file, job_r, event_w)` is what a freshly
    forked one does (import the file and serve)."""

    def __init__(self, become: Callable[[str, int, int], NoReturn]) -> None:
        self.by_pid: dict[int, Template] = {}
        self._become = become

    def __bool__(self) -> bool:
        return bool(self.by_pid)

    def take(self, job: RunJob) -> bool:
        """Hand the attempt to its file's template, forked first if the file has none for its
        current version; False if that failed (the attempt then imports the file itself)."""
        try:
            mtime = os.stat(job.file).st_mtime_ns
        except OSError:
            return False
        template = None
        for candidate in self.by_pid.values():
            if candidate.file != job.file or candidate.draining:
                continue
            if candidate.is_current(mtime):
                template = candidate
            else:
                candidate.drain()  # an older version of the file: it ends with its attempts
        if template is None:
            become = functools.partial(self._become, job.file)
            try:
                template = Template.fork(job.file, mtime, become)
            except OSError:  # no process to fork (EAGAIN)
                return False
            self.by_pid[template.pid] = template
        return template.send(job)

    def readable(self) -> dict[int, Template]:
        """The templates whose events are to be read, by the fd they are read from."""
        return {t.event_r: t for t in self.by_pid.values() if t.event_r >= 0}

    def deadlines(self) -> list[float]:
        """When idle templates are to be drained (monotonic)."""
        return [t for t in map(Template.idle_until, self.by_pid.values()) if t is not None]

    def drain_idle(self) -> None:
        now = time.monotonic()
        for template in self.by_pid.values():
            idle_until = template.idle_until()
            if idle_until is not None and now >= idle_until:
                template.drain()

    def pop(self, pid: int) -> Template | None:
        return self.by_pid.pop(pid, None)

    def detach(self) -> None:
        """The scheduler is gone (see `Template.detach`)."""
        for template in self.by_pid.values():
            template.detach()

    def stop(self) -> None:
        """The fork server is stopping (see `Template.stop`)."""
        for template in self.by_pid.values():
            template.stop()
