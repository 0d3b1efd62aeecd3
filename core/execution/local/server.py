"""The fork server: a single-threaded process that has imported flowtui (and, where safe, the
DAG modules) and forks one child per task attempt or DAG-file parse, in its own session, so an
attempt starts in about a millisecond. It speaks JSON lines: requests in, events out.

Requests: {"op": "run", "key", "file", "dag_id", "info", "runs_bash", "preload", "log",
}, {"op": "parse", "key", "file", "log", "timeout"}, {"op": "exit"}. A child hands its result
(JSON) back through a pipe of its own, read here while it runs and when it is reaped.
Events: {"ev": "started", "key", "pid", "t"} and {"ev": "exited", "key", "pid", "t",
"exit_code", "result", "cpu", "maxrss_kb", "timed_out"}; exit_code < 0 is the killing signal.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from flowtui.execution.process_groups import signal_group
from flowtui.loading.dag_file import describe_import_error, import_dag_file


@dataclass
class _Child:
    key: str
    result_fd: int
    """Read end of the child's result pipe; -1 once closed."""
    deadline: float | None = None
    timed_out: bool = False
    result: bytearray = field(default_factory=bytearray)

    def drain(self) -> None:
        """Read what the child wrote so far; close the pipe at its end."""
        while self.result_fd >= 0:
            try:
                chunk = os.read(self.result_fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:
                self.close()
                return
            self.result += chunk

    def close(self) -> None:
        if self.result_fd >= 0:
            os.close(self.result_fd)
            self.result_fd = -1

    def take_result(self) -> dict[str, Any] | None:
        self.drain()
        self.close()
        try:
            result: dict[str, Any] = json.loads(self.result)
        except ValueError:
            return None
        return result


class Zygote:
    """The fork server's state: its pipes, live children and preloaded DAG modules."""

    def __init__(self, req_fd: int, resp_fd: int, dags_folder: str) -> None:
        self.req_fd, self.resp_fd = req_fd, resp_fd
        self.children: dict[int, _Child] = {}
        self.preloaded: dict[str, tuple[int, dict[str, Any]]] = {}
        """file -> (mtime_ns, {dag_id: DAG}) imported here, inherited by every fork."""
        if dags_folder not in sys.path:
            sys.path.insert(0, dags_folder)  # DAG files import their helpers, as in Airflow
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd is written
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the scheduler's to handle
        self._wake_w = wake_w
        self._parses = 0

    def serve(self) -> NoReturn:
        buffer = b""
        warm = "jinja2" in sys.modules
        while True:
            timeout = self._timeout()
            if not warm:
                timeout = _IDLE_WARMUP if timeout is None else min(timeout, _IDLE_WARMUP)
            results = {c.result_fd: c for c in self.children.values() if c.result_fd >= 0}
            ready, _, _ = select.select([self.req_fd, self.wake_r, *results], [], [], timeout)
            for fd in ready:
                if fd in results:
                    results[fd].drain()
            if not ready and not warm:
                warm = _warm_up()
            if self.wake_r in ready:
                while _read_nonblocking(self.wake_r):
                    pass
            self._reap()
            self._expire()
            if self.req_fd in ready:
                data = os.read(self.req_fd, 1 << 16)
                if not data:
                    self._shutdown()
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._handle(json.loads(line))

    def _timeout(self) -> float | None:
        deadlines = [c.deadline for c in self.children.values() if c.deadline is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _handle(self, request: dict[str, Any]) -> None:
        if request["op"] == "exit":
            self._shutdown()
        if request["op"] == "run" and request.get("preload"):
            self._preload(request["file"])
        if request["op"] == "parse":
            self._parses += 1
            _import_for_parsing(with_croniter=self._parses > 1)
        started = time.time()
        sys.stdout.flush()
        sys.stderr.flush()
        # Objects alive now are never collected in the child: keeping the collector off them
        # spares copying every page a collection would touch (copy-on-write after fork).
        gc.freeze()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            global _RESULT_FD
            _RESULT_FD = result_w
            try:
                os.close(result_r)
                self._child(request)
            except BaseException as exc:
                _report_start_failure(request, exc)
            finally:
                os._exit(70)
        os.close(result_w)
        os.set_blocking(result_r, False)
        timeout = request.get("timeout")
        self.children[pid] = _Child(
            request["key"], result_r, time.monotonic() + timeout if timeout else None
        )
        self._send({"ev": "started", "key": request["key"], "pid": pid, "t": started})

    def _preload(self, file: str) -> None:
        try:
            mtime = os.stat(file).st_mtime_ns
        except OSError:
            return
        cached = self.preloaded.get(file)
        if cached and cached[0] == mtime:
            return
        try:
            dags = {d.dag_id: d for d in import_dag_file(Path(file))}
        except BaseException:  # the child will import it again and report the error
            self.preloaded.pop(file, None)
            return
        self.preloaded[file] = (mtime, dags)

    def _child(self, request: dict[str, Any]) -> NoReturn:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's usual handler
        _redirect_output(request["log"])
        if request["op"] == "parse":
            _parse(request)
        cached = self.preloaded.get(request["file"])
        dags = cached[1] if cached else None
        _run(request, dags)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue
            self._send(
                {
                    "ev": "exited",
                    "key": child.key,
                    "pid": pid,
                    "t": time.time(),
                    "exit_code": os.waitstatus_to_exitcode(status),
                    "result": child.take_result(),
                    "cpu": usage.ru_utime + usage.ru_stime,
                    "maxrss_kb": usage.ru_maxrss,
                    "timed_out": child.timed_out,
                }
            )

    def _expire(self) -> None:
        now = time.monotonic()
        for pid, child in self.children.items():
            if child.deadline is not None and now >= child.deadline and not child.timed_out:
                child.timed_out = True
                signal_group(pid, signal.SIGKILL)

    def _send(self, event: dict[str, Any]) -> None:
        data = (json.dumps(event) + "\n").encode()
        while data:
            data = data[os.write(self.resp_fd, data) :]

    def _shutdown(self) -> NoReturn:
        """The scheduler is gone or stopping: no attempt may outlive it unnoticed."""
        for pid in list(self.children):
            signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 3.0
        while self.children and time.monotonic() < deadline:
            time.sleep(0.02)
            self._reap()
        for pid in list(self.children):
            signal_group(pid, signal.SIGKILL)
        os._exit(0)


def _run(request: dict[str, Any], preloaded: dict[str, Any] | None) -> NoReturn:
    from flowtui.authoring.exceptions import FailTask, SkipTask
    from flowtui.execution.task_runner import AttemptInfo, TaskOutcome, bash_invocation, run_task

    info = AttemptInfo.from_dict(request["info"])
    header = (
        f"[flowtui] {time.strftime('%Y-%m-%d %H:%M:%S')} {info.dag_id}.{info.task_id} "
        f"run {info.run_id} attempt {info.try_number} of {info.max_tries + 1}, pid {os.getpid()}"
    )
    print(header, flush=True)
    try:
        dags = preloaded or {d.dag_id: d for d in import_dag_file(Path(request["file"]))}
        dag = dags[info.dag_id]
        if request["runs_bash"]:
            argv, env, cwd = bash_invocation(dag, info)
            sys.stdout.flush()
            if cwd:
                os.chdir(cwd)
            for signum in (signal.SIGINT, signal.SIGPIPE):  # ignored signals survive exec
                signal.signal(signum, signal.SIG_DFL)
            os.execvpe(argv[0], argv, env)
        outcome = run_task(dag, info)
    except SkipTask as exc:  # raised by a @task.bash function before bash starts
        outcome = TaskOutcome(state="skipped", xcom={}, error=str(exc) or None)
    except FailTask as exc:
        outcome = TaskOutcome(state="failed", xcom={}, error=str(exc), no_retry=True)
    except BaseException as exc:
        line, message = describe_import_error(exc, Path(request["file"]))
        where = f" (line {line})" if line else ""
        print(f"[flowtui] could not start the task{where}: {message}", file=sys.stderr)
        outcome = TaskOutcome(state="failed", xcom={}, error=message)
    _write_result(outcome.to_dict())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _parse(request: dict[str, Any]) -> NoReturn:
    file = Path(request["file"])
    before = threading.active_count()
    started = time.perf_counter()
    try:
        dags = import_dag_file(file)
        result: dict[str, Any] = {
            "dags": [d.to_spec(str(file)).to_dict() for d in dags],
            "seconds": time.perf_counter() - started,
            "starts_threads": threading.active_count() > before,
        }
    except BaseException as exc:
        line, message = describe_import_error(exc, file)
        result = {"error": {"line": line, "message": message}}
    _write_result(result)
    os._exit(0)


_IDLE_WARMUP = 0.2
"""Seconds of quiet after which the server imports what templated tasks need."""


def _import_for_parsing(*, with_croniter: bool) -> None:
    """What importing a DAG file needs, imported once here rather than in every parse child:
    validating a DAG (trigger rules) and, once there is more than one file to parse, its cron
    schedule (croniter costs about 30 ms: worth it for a folder, not for one file)."""
    import flowtui.scheduling.timetables
    import flowtui.scheduling.trigger_rules  # noqa: F401

    if with_croniter:
        import croniter  # noqa: F401


def _warm_up() -> bool:
    """Import jinja2 once, here, so that forks render templates without paying 50 ms each."""
    import jinja2  # noqa: F401

    return True


def _report_start_failure(request: dict[str, Any], exc: BaseException) -> None:
    """The child failed before the task could run: say why, in the log and the result."""
    message = f"the attempt could not start: {type(exc).__name__}: {exc}"
    with contextlib.suppress(Exception):
        print(f"[flowtui] {message}", file=sys.stderr, flush=True)
    result: dict[str, Any] = (
        {"error": {"line": None, "message": message}}
        if request["op"] == "parse"
        else {"state": "failed", "xcom": {}, "error": message}
    )
    with contextlib.suppress(Exception):
        _write_result(result)


def _redirect_output(log: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    try:
        fd = os.open(log, flags, 0o600)
    except FileNotFoundError:  # the attempt's first log: its folders are made here, in the child
        os.makedirs(os.path.dirname(log), mode=0o700, exist_ok=True)
        fd = os.open(log, flags, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.closerange(3, _RESULT_FD)  # every inherited fd but the result pipe
    os.closerange(_RESULT_FD + 1, 1 << 16)
    # Fresh, line-buffered streams on the new fds: whatever sys.stdout was in the process we
    # were forked from (a terminal, pytest's capture), print() now writes to the log.
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


_RESULT_FD = -1
"""In a child: the write end of its result pipe."""


def _write_result(result: dict[str, Any]) -> None:
    data = json.dumps(result).encode()
    while data:
        data = data[os.write(_RESULT_FD, data) :]
    os.close(_RESULT_FD)


def _read_nonblocking(fd: int) -> bytes:
    try:
        return os.read(fd, 512)
    except BlockingIOError:
        return b""


def serve(req_fd: int, resp_fd: int, dags_folder: str, log: str) -> NoReturn:
    """Become the fork server; never returns. Called in a freshly forked or spawned process."""
    keep = {req_fd, resp_fd}
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    for fd in _open_fds():
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):  # the listing's own fd is already closed
                os.close(fd)
    import flowtui.execution.task_runner  # noqa: F401 -- imported once here, inherited by every fork

    try:
        Zygote(req_fd, resp_fd, dags_folder).serve()
    finally:
        os._exit(1)


def _open_fds() -> list[int]:
    return [int(name) for name in os.listdir("/proc/self/fd")]


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
