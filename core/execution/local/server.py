"""The fork server: a single-threaded process that has imported flowtui (and, where safe, the
DAG modules) and forks one child per attempt or DAG-file parse, each leading a session of its
own, so that an attempt starts in about a millisecond. It reads jobs and writes events as
`protocol` defines them; a child hands its result back through a pipe of its own, read while
it runs and when it is reaped."""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import select
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from flowtui.execution import leftovers, masking
from flowtui.execution.local.child import Child, run_job
from flowtui.execution.local.protocol import (
    CallbackJob,
    DrainServer,
    ExitServer,
    Job,
    JobExited,
    JobStarted,
    LineBuffer,
    ParseJob,
    RunJob,
    decode_job,
    encode,
    write_all,
)
from flowtui.execution.local.spare import SPARE_IDLE, Spare, prepare_rehearsal
from flowtui.execution.local.template import Template, Templates
from flowtui.execution.logs import send_output_to
from flowtui.execution.process_groups import signal_group
from flowtui.execution.ticket import inspect, record_exit, ticket_path
from flowtui.loading import airflow_hook
from flowtui.loading.dag_file import add_dags_folder_to_path, dags_by_id

if TYPE_CHECKING:
    from flowtui.authoring.dag import DAG


class ForkServer:
    """The fork server's state: its pipes, live children and preloaded DAG modules. A template
    (`template`) is one too, serving one DAG file's attempts."""

    def __init__(
        self, job_fd: int, event_fd: int, dags_folder: str, *, is_template: bool = False
    ) -> None:
        self.job_fd, self.event_fd = job_fd, event_fd
        self.dags_folder = dags_folder
        self.is_template = is_template
        self.children: dict[int, Child] = {}
        self.templates = Templates(self._become_template)
        """Children that each import a DAG file whose import starts threads and fork its
        attempts."""
        self.preloaded: dict[str, tuple[int, dict[str, DAG]]] = {}
        """file -> (mtime_ns, {dag_id: DAG}) imported here, inherited by every fork."""
        self._generation = 0
        """Counts changes to `preloaded`: a spare forked before the last one is stale."""
        self.spare: Spare | None = None
        """The next attempt's process, forked ahead (`spare`), while attempts keep coming."""
        self._processors = len(os.sched_getaffinity(0))
        """Processors this server may use: a spare is made only while one would idle."""
        add_dags_folder_to_path(dags_folder)
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd is written
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the scheduler's to handle
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal is not our end
        # A handler the scheduler's process installed before forking us is not ours (nor our
        # children's: a task's SIGTERM would call it instead of ending the task).
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self._parses = 0
        self.orphaned = False
        """The scheduler is gone: no new jobs; children run on and their exits go to their
        tickets; the server exits after the last one."""
        self.draining = False
        """(A template) no new attempts; it exits after the last one."""
        self.stopping = False
        """Told to exit: what still runs is being stopped."""

    def serve(self) -> NoReturn:
        jobs = LineBuffer()
        while True:
            if (self.orphaned or self.draining) and not self.children and not self.templates:
                os._exit(0)
            timeout = self._timeout()
            results = {c.result_fd: c for c in self.children.values() if c.result_fd >= 0}
            templates = self.templates.readable()
            jobs_fd = [] if self.orphaned else [self.job_fd]
            readable = [*jobs_fd, self.wake_r, *results, *templates]
            ready, _, _ = select.select(readable, [], [], timeout)
            for fd in ready:
                if fd in results:
                    results[fd].drain()
                elif fd in templates:
                    self._forward(templates[fd])
            if self.wake_r in ready:
                while _read_nonblocking(self.wake_r):
                    pass
            self._reap()
            self._expire()
            self.templates.drain_idle()
            if self.spare is not None and not self.spare.is_fresh(self._generation):
                self._retire_spare()
            if not self.orphaned and self.job_fd in ready:
                data = os.read(self.job_fd, 1 << 16)
                if not data:
                    self._orphan()
                ran = False
                for line in jobs.feed(data):
                    job = decode_job(line)
                    if not isinstance(job, ExitServer) and self._scheduler_gone():
                        self._orphan()  # its jobs are a new scheduler's to start, or not
                        break
                    ran = self._handle(job) or ran
                if ran and self.spare is None and not self.orphaned and self._has_idle_cpu():
                    with contextlib.suppress(OSError):  # no process to spare (EAGAIN): none
                        self.spare = Spare.fork(self._generation, self.preloaded)

    def _timeout(self) -> float | None:
        deadlines = [c.deadline for c in self.children.values() if c.deadline is not None]
        if self.spare is not None:
            deadlines.append(self.spare.forked + SPARE_IDLE)
        deadlines.extend(self.templates.deadlines())
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _handle(self, job: Job) -> bool:
        """Start the job; whether it forked an attempt here (then a spare may follow)."""
        if isinstance(job, ExitServer):
            self._shutdown()
        if isinstance(job, DrainServer):
            self.draining = True
            return False
        if isinstance(job, RunJob) and not self.is_template:
            if job.preload == "server":
                self._preload(job.file)
            elif job.preload == "template" and self.templates.take(job):
                return False
        if isinstance(job, CallbackJob) and job.request.preload == "server":
            self._preload(job.file)
        if isinstance(job, ParseJob):
            self._parses += 1
            _import_for_parsing(with_croniter=self._parses > 1)
        started = time.time()
        handed = self._hand_to_spare(job) if isinstance(job, RunJob) else None
        pid, result_r = handed or self._fork(job)
        timeout = job.request.timeout if isinstance(job, ParseJob | CallbackJob) else None
        deadline = time.monotonic() + timeout if timeout else None
        path = ticket_path(job.log_path) if isinstance(job, RunJob) else None
        self.children[pid] = Child(job.job, result_r, path, deadline)
        self._send(JobStarted(job.job, pid, started))
        return isinstance(job, RunJob)

    def _fork(self, job: RunJob | ParseJob | CallbackJob) -> tuple[int, int]:
        """Fork the job's process; its PID and the read end of its result pipe."""
        sys.stdout.flush()
        sys.stderr.flush()
        # Objects alive now are never collected in the child: keeping the collector off them
        # spares copying every page a collection would touch (copy-on-write after fork).
        gc.freeze()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(result_r)
            cached = None if isinstance(job, ParseJob) else self.preloaded.get(job.file)
            run_job(job, result_w, cached[1] if cached else None)
        os.close(result_w)
        os.set_blocking(result_r, False)
        return pid, result_r

    def _hand_to_spare(self, job: RunJob) -> tuple[int, int] | None:
        """Give the attempt to the spare, if there is one that holds the current DAGs."""
        spare, self.spare = self.spare, None
        if spare is None:
            return None
        if spare.is_fresh(self._generation) and spare.hand_off(job):
            return spare.pid, spare.result_r
        spare.retire()
        return None

    def _has_idle_cpu(self) -> bool:
        """Whether a processor is likely idle while the attempts run: a spare, and its
        rehearsal, then cost the next attempt nothing; with every processor running one, it
        would only add to their work. A template makes no spare."""
        return not self.is_template and len(self.children) < self._processors

    # --- templates: DAG files whose import starts threads ---

    def _become_template(self, file: str, job_fd: int, event_fd: int) -> NoReturn:
        """In a freshly forked template: drop what is the fork server's, import `file`, and
        serve its attempts."""
        signal.set_wakeup_fd(-1)
        _close_fds_but({job_fd, event_fd})
        template = ForkServer(job_fd, event_fd, self.dags_folder, is_template=True)
        template._preload(file)
        # Forking a process that has threads is what a template is for (Python 3.12 warns).
        warnings.filterwarnings("ignore", ".*fork", DeprecationWarning)
        template.serve()

    def _forward(self, template: Template) -> None:
        """Pass what the template said on to the scheduler."""
        for event, job in template.read_events():
            if not self._send(event) and isinstance(event, JobExited) and job is not None:
                record_exit(ticket_path(job.log_path), event.exit_code)

    def _template_ended(self, template: Template, exit_code: int) -> None:
        """A template exited: after its last attempt, or it died with attempts it had not
        reported. Those are started here if they never started, else adopted by the executor
        through their tickets (a declined job says how)."""
        self._forward(template)  # what it wrote before it ended
        template.detach()
        if not template.jobs or self.orphaned or self.stopping:
            return
        print(
            f"[flowtui] the process that imported {template.file} (pid {template.pid}) ended "
            f"({exit_code}) with {len(template.jobs)} attempt(s) unreported",
            file=sys.stderr,
            flush=True,
        )
        for job in template.jobs.values():
            state = inspect(ticket_path(job.log_path), str(job.payload["queued_at"]))
            if state is None:  # it never started: start it here, importing the file itself
                self._handle(RunJob(job.job, {**job.payload, "preload": ""}))
            else:
                result = {"declined": state.to_json(), "conflict": None}
                self._send(JobExited(job.job, time.time(), 0, result))

    def _retire_spare(self) -> None:
        if self.spare is not None:
            self.spare.retire()
            self.spare = None

    def _preload(self, file: str) -> None:
        try:
            mtime = os.stat(file).st_mtime_ns
        except OSError:
            return
        cached = self.preloaded.get(file)
        if cached and cached[0] == mtime:
            return
        self._generation += 1
        try:
            self._import(file, mtime)
        finally:
            # The import (and the template fields read after it) may have set FLOWTUI_VAR_
            # secrets in os.environ: the children's maskers take os.environ's from here.
            masking.remember_environment()

    def _import(self, file: str, mtime: int) -> None:
        try:
            dags = dags_by_id(Path(file))
        except BaseException:  # the child will import it again and report the error
            self.preloaded.pop(file, None)
            return
        _prepare_templates(dags)
        self.preloaded[file] = (mtime, dags)
        _prepare_calls([dag for _, held in self.preloaded.values() for dag in held.values()])

    def _reap(self) -> None:
        while True:  # a retired spare too, which is no job's child
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            template = self.templates.pop(pid)
            if template is not None:
                self._template_ended(template, os.waitstatus_to_exitcode(status))
                continue
            child = self.children.pop(pid, None)
            if child is None:
                continue
            exit_code = os.waitstatus_to_exitcode(status)
            result = child.take_result()
            event = JobExited(child.job, time.time(), exit_code, result, child.timed_out)
            if not self._send(event) and child.ticket is not None:
                record_exit(child.ticket, exit_code)  # for the scheduler that adopts it

    def _expire(self) -> None:
        now = time.monotonic()
        for pid, child in self.children.items():
            if child.deadline is not None and now >= child.deadline and not child.timed_out:
                child.timed_out = True
                signal_group(pid, signal.SIGKILL)

    def _send(self, event: JobStarted | JobExited) -> bool:
        """Tell the scheduler; False when it is gone."""
        if self.orphaned:
            return False
        try:
            write_all(self.event_fd, encode(event))
        except OSError:  # EPIPE: the scheduler died
            self._orphan()
            return False
        return True

    def _scheduler_gone(self) -> bool:
        """Whether the scheduler closed its end of the job pipe (it died or stopped)."""
        poller = select.poll()
        poller.register(self.job_fd, select.POLLIN)
        return any(flags & select.POLLHUP for _, flags in poller.poll(0))

    def _orphan(self) -> None:
        """The scheduler died: let the attempts run on (each records its outcome in its
        ticket, and a new scheduler adopts it); stop taking jobs; exit after the last child."""
        self.orphaned = True
        self._retire_spare()
        self.templates.detach()

    def _shutdown(self) -> NoReturn:
        """The scheduler is stopping (it stopped its attempts first): end what still runs."""
        self.stopping = True
        self._retire_spare()
        self.templates.stop()  # each ends its attempts as this server does
        for pid in list(self.children):
            signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3.0
        while self.children and time.monotonic() < deadline:
            time.sleep(0.02)
            self._reap()
        for pid in list(self.children):
            signal_group(pid, signal.SIGKILL)
        while self.templates and time.monotonic() < deadline + 0.5:
            time.sleep(0.02)
            self._reap()
        os._exit(0)


def _import_for_parsing(*, with_croniter: bool) -> None:
    """What a parse child needs beyond what an attempt does, imported once here rather than in
    every child: checking a DAG's schedule (`flowtui.cron`), turning its DAGs into specs
    (`serialization`) and, once there is more than one file to parse, croniter (about 30 ms:
    worth it for a folder, not for one file)."""
    import flowtui.cron
    import flowtui.loading.serialization

    if with_croniter:
        flowtui.cron.load_croniter()


def _prepare_templates(dags: dict[str, DAG]) -> None:
    """Compile the templates of the DAGs' tasks once, here (importing jinja2 only if there are
    any), so that each attempt renders them without importing or compiling: a DAG without
    templates keeps jinja2 out of the server, whose every fork is then cheaper."""
    from flowtui.authoring.templating import prepare

    for dag in dags.values():
        for task in dag.task_dict.values():
            for name in getattr(task, "template_fields", ()):
                with contextlib.suppress(Exception):  # a property that fails: the child says so
                    prepare(getattr(task, name, None))


def _prepare_calls(dags: list[DAG]) -> None:
    """Do once, here, what each attempt of these DAGs' tasks would otherwise do in its own
    process: find the signatures of their callables (`call_with_context`), and copy one task
    of each class (an attempt copies its task: the first copy of a class with slots stores
    their names in the class, a write that in a child also throws away its attribute caches)."""
    from flowtui.authoring.operators.python import remember_signatures

    tasks = [task for dag in dags for task in dag.task_dict.values()]
    callables = [getattr(task, "python_callable", None) for task in tasks]
    remember_signatures(fn for fn in callables if callable(fn))
    for task in {type(task): task for task in tasks}.values():
        with contextlib.suppress(Exception):  # one that cannot be copied fails in its attempt
            copy.copy(task)


def _read_nonblocking(fd: int) -> bytes:
    try:
        return os.read(fd, 512)
    except BlockingIOError:
        return b""


def serve(job_fd: int, event_fd: int, dags_folder: str, log: str) -> NoReturn:
    """Become the fork server; never returns. Called in a freshly forked or spawned process."""
    send_output_to(log)
    _close_fds_but({job_fd, event_fd})
    import inspect  # noqa: F401 -- every Python task's call (`call_with_context`) needs it

    import flowtui.execution.task_runner  # noqa: F401 -- imported once here, inherited by every fork

    airflow_hook.install()  # DAG files and their tasks import `airflow` from flowtui here only
    leftovers.load()
    prepare_rehearsal()

    try:
        ForkServer(job_fd, event_fd, dags_folder).serve()
    finally:
        os._exit(1)


def _close_fds_but(keep: set[int]) -> None:
    """Close every fd this process inherited but 0-2 and `keep`."""
    for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own fd is already closed
                os.close(fd)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
