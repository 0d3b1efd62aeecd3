"""The local executor: owns the fork server process, hands it attempts and DAG-file parses, and
turns its JSON-line events into callbacks on a reader thread. Limits (parallelism, pools) are
the scheduler's; this module only starts, signals and reports processes."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from flowtui.config import Settings

logger = logging.getLogger(__name__)

ExecutorEvent = dict[str, Any]


class LocalExecutor:
    """Runs each attempt in its own child process and process group, forked by a fork server."""

    def __init__(self, settings: Settings, on_event: Callable[[ExecutorEvent], None]) -> None:
        self.settings = settings
        self.on_event = on_event
        self._req_w: int | None = None
        self._write_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._server_pid: int | None = None
        self._server_proc: subprocess.Popen[bytes] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the fork server: forked from this process while it still has one thread
        (about 1 ms), else spawned as a fresh interpreter (DESIGN.md: never fork once threaded)."""
        self.settings.ensure_home()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        log = str(self.settings.logs_dir / "executor.log")
        folder = str(self.settings.dags_folder)
        if threading.active_count() == 1:
            pid = os.fork()
            if pid == 0:
                os.close(req_w)
                os.close(resp_r)
                from flowtui.execution.local.server import serve

                serve(req_r, resp_w, folder, log)
            self._server_pid = pid
        else:
            self._server_proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flowtui.execution.local.server",
                    str(req_r),
                    str(resp_w),
                    folder,
                    log,
                ],
                pass_fds=(req_r, resp_w),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._server_pid = self._server_proc.pid
        os.close(req_r)
        os.close(resp_w)
        os.set_inheritable(req_w, False)
        os.set_inheritable(resp_r, False)
        self._req_w = req_w
        self._stopping = False
        self._reader = threading.Thread(
            target=self._read_events, args=(resp_r,), name="flowtui-executor-events", daemon=True
        )
        self._reader.start()

    @property
    def server_pid(self) -> int | None:
        return self._server_pid

    def run_attempt(self, key: str, request: dict[str, Any]) -> None:
        """Start one attempt; `request` holds file, info, runs_bash, preload and log."""
        self._send({"op": "run", "key": key, **request})

    def parse_file(self, key: str, file: str, log: str, timeout: float) -> None:
        """Import one DAG file in a child, killed after `timeout` seconds."""
        self._send({"op": "parse", "key": key, "file": file, "log": log, "timeout": timeout})

    def stop(self) -> None:
        """Stop the fork server; it kills any attempt still running (callers stop them first)."""
        if self._req_w is None:
            return
        self._stopping = True
        with contextlib.suppress(OSError):  # the server may be gone already
            self._send({"op": "exit"})
        os.close(self._req_w)
        self._req_w = None
        if self._server_proc is not None:
            self._server_proc.wait()
        elif self._server_pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._server_pid, 0)
        if self._reader is not None:
            self._reader.join(timeout=5)

    def _send(self, request: dict[str, Any]) -> None:
        if self._req_w is None:
            raise RuntimeError("the executor is not started")
        data = (json.dumps(request) + "\n").encode()
        with self._write_lock:
            while data:
                data = data[os.write(self._req_w, data) :]

    def _read_events(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            buffer = b""
            while chunk := pipe.read(1 << 16):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._deliver(json.loads(line))
        if not self._stopping:
            logger.error("the fork server (pid %s) died", self._server_pid)
            self._deliver({"ev": "server_died", "pid": self._server_pid})

    def _deliver(self, event: ExecutorEvent) -> None:
        try:
            self.on_event(event)
        except Exception:
            logger.exception("executor event %s could not be handled", event.get("ev"))
