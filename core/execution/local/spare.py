"""The spare: a child the fork server forks ahead of the next attempt while the current one
runs, when a processor would otherwise idle. It sets itself up as an attempt's process,
rehearses a no-op attempt (so that the pages an attempt writes are copied now, not on the way
to the task), and waits on a pipe of its own. The next attempt's job is written to that pipe:
it starts in the time a pipe write takes rather than the time a fork, a new process's set-up
and its first page copies take. With every processor running an attempt, a spare would only
add to their work, so attempts are forked as they come, as DAG-file parses always are."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, NoReturn

from flowtui.execution.base import AttemptInfo
from flowtui.execution.local.child import START_FAILED, become_attempt_process, run_job
from flowtui.execution.local.protocol import RunJob, decode_job, encode, write_all
from flowtui.records import Record

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG

SPARE_IDLE = 0.5
"""Seconds a spare waits for a job before it is retired: a server between bursts of attempts
keeps no extra process around, and a spare never holds a DAG file's version much longer than
the server does."""

Preloaded = dict[str, tuple[int, dict[str, "DAG"]]]
"""The fork server's preloaded DAG files: path -> (mtime_ns, {dag_id: DAG})."""


class Spare(Record):
    """The fork server's side of a spare. (Not a dataclass: see `child.Child`.)"""

    __slots__ = _fields = ("pid", "job_w", "result_r", "generation", "forked")

    def __init__(self, pid: int, job_w: int, result_r: int, generation: int, forked: float) -> None:
        self.pid = pid
        self.job_w = job_w
        """Where its job is written; -1 once written."""
        self.result_r = result_r
        """Read end of its result pipe (non-blocking), the attempt's once the job is handed
        off."""
        self.generation = generation
        """The server's preload generation when it forked: the DAGs it holds."""
        self.forked = forked
        """`time.monotonic()` when it forked."""

    @classmethod
    def fork(cls, generation: int, preloaded: Preloaded) -> Spare:
        """Fork a spare holding what this process holds now (`preloaded` included)."""
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # as for every fork: the child never collects what is alive now
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(job_w)
            os.close(result_r)
            _wait_for_job(job_r, result_w, preloaded)
        os.close(job_r)
        os.close(result_w)
        os.set_blocking(result_r, False)
        return cls(pid, job_w, result_r, generation, time.monotonic())

    def is_fresh(self, generation: int) -> bool:
        """Whether it may take a job now: it holds the current DAGs and is not too old."""
        return self.generation == generation and time.monotonic() - self.forked < SPARE_IDLE

    def hand_off(self, job: RunJob) -> bool:
        """Give the spare its job; False if it is gone (retire it then)."""
        try:
            write_all(self.job_w, encode(job))
        except OSError:  # EPIPE: it died before its job came
            return False
        os.close(self.job_w)
        self.job_w = -1
        return True

    def retire(self) -> None:
        """Stop a spare that got no job (the server reaps it with its other children)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        for fd in (self.job_w, self.result_r):
            if fd >= 0:
                os.close(fd)
        self.job_w = self.result_r = -1


def _wait_for_job(job_r: int, result_w: int, preloaded: Preloaded) -> NoReturn:
    """In the spare: set up as every attempt's process does, then wait for the job and run it;
    end at once if the server goes away first."""
    try:
        become_attempt_process()
        _rehearse()
        line = _read_line(job_r)
        os.close(job_r)
        job = decode_job(line) if line else None
    except BaseException:
        os._exit(START_FAILED)
    if not isinstance(job, RunJob):
        os._exit(0)
    cached = preloaded.get(job.file)
    run_job(job, result_w, cached[1] if cached else None, prepared=True)


def _rehearse() -> None:
    """Run a no-op attempt of a DAG of our own here, output discarded, while no job is due:
    the pages an attempt writes (the interpreter's caches, the allocator's pools, the code it
    runs) are copied now rather than on the way from the job to its task. Nothing it leaves
    matters to the attempt: everything it set, the attempt sets again."""
    import io

    from flowtui.execution.task_runner import run_task

    dag, info = _rehearsal()
    discard = io.StringIO()
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = discard
    try:
        run_task(dag, info)
    except Exception:  # a rehearsal that fails costs only the time it saves
        pass
    finally:
        sys.stdout, sys.stderr = stdout, stderr


@functools.cache
def _rehearsal() -> tuple[DAG, AttemptInfo]:
    """The rehearsal's DAG and attempt, made once in the fork server (`prepare_rehearsal`)."""
    from flowtui.authoring.dag import DAG
    from flowtui.authoring.operators.python import PythonOperator

    dag = DAG("flowtui_rehearsal", schedule=None)
    PythonOperator(task_id="rehearsal", python_callable=_no_op, dag=dag)
    missing = os.path.join(os.sep, "nonexistent", "flowtui-rehearsal", "flowtui.db")
    day = "2024-01-01T00:00:00+00:00"
    info = AttemptInfo(
        dag.dag_id,
        "rehearsal",
        "rehearsal",
        1,
        0,
        day,
        day,
        day,
        "manual",
        {},
        missing,
        (None, None),
    )
    return dag, info


def prepare_rehearsal() -> None:
    """Make the rehearsal's DAG in the fork server, so that every spare inherits it."""
    with contextlib.suppress(Exception):  # then each spare tries, and fails, on its own
        _rehearsal()


def _no_op() -> None:
    """The rehearsal's task."""


def _read_line(fd: int) -> bytes:
    """One job line; empty at end of file."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b""
        data += chunk
    return data
