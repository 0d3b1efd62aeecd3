"""What the local executor and its fork server say to each other over two pipes, one JSON
object per line: jobs in (run an attempt, parse a DAG file, run a callback, drain, exit),
events out (a job's child started, a job's child exited with the result it wrote). Jobs are
numbered by the executor.
Both ends write with `write_all` and cut what they read into lines with a `LineBuffer`.

The messages are named tuples rather than dataclasses: several are made, written and read on
the path between one task's end and the next one's start, where a frozen dataclass's slower
construction showed in the task-to-task latency."""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from flowtui.execution.base import AttemptRequest
from flowtui.execution.callbacks import CallbackRequest
from flowtui.loading.parse import ParseRequest, Preload


class RunJob(NamedTuple):
    """Run one attempt. The request travels in its JSON form and is decoded where it is used:
    in the child, after the fork, so that the fork server does the least it can before it
    forks (this is on the path between one task's end and the next one's start)."""

    job: int
    payload: dict[str, Any]

    @classmethod
    def of(cls, job: int, request: AttemptRequest) -> RunJob:
        return cls(job, request.to_json())

    @property
    def request(self) -> AttemptRequest:
        return AttemptRequest.from_json(self.payload)

    @property
    def file(self) -> str:
        return str(self.payload["file"])

    @property
    def preload(self) -> Preload:
        preload: Preload = self.payload["preload"]
        return preload

    @property
    def log_path(self) -> str:
        return str(self.payload["log_path"])


class ParseJob(NamedTuple):
    job: int
    request: ParseRequest


class CallbackJob(NamedTuple):
    """Run a task's or a DAG's callback (`execution.callbacks`)."""

    job: int
    request: CallbackRequest

    @property
    def file(self) -> str:
        return self.request.file

    @property
    def log_path(self) -> str:
        return self.request.log_path


class ExitServer(NamedTuple):
    """Stop: kill what still runs and exit."""


class DrainServer(NamedTuple):
    """Take no more attempts; exit after the last one (said to a template, `template`)."""


Job = RunJob | ParseJob | CallbackJob | ExitServer | DrainServer


class JobStarted(NamedTuple):
    job: int
    pid: int
    at: float
    """Epoch seconds, taken just before the fork."""


class JobExited(NamedTuple):
    job: int
    at: float
    exit_code: int
    """< 0: the signal that killed the child."""
    result: dict[str, Any] | None
    """The JSON the child wrote to its result pipe; None if it wrote none."""
    timed_out: bool = False
    """The server killed the child at its deadline (parse jobs)."""


JobEvent = JobStarted | JobExited


def encode(message: Job | JobEvent) -> bytes:
    """One line of the wire form."""
    match message:
        case RunJob(job, payload):
            data: dict[str, Any] = {"op": "run", "job": job, "request": payload}
        case ParseJob(job, request):
            data = {"op": "parse", "job": job, "path": request.path, "log": request.log}
            data["timeout"] = request.timeout
        case CallbackJob(job, request):
            data = {"op": "callback", "job": job, "request": request.to_json()}
        case ExitServer():
            data = {"op": "exit"}
        case DrainServer():
            data = {"op": "drain"}
        case JobStarted():
            data = {"ev": "started", **message._asdict()}
        case JobExited():
            data = {"ev": "exited", **message._asdict()}
    return (json.dumps(data) + "\n").encode()


def decode_job(line: bytes) -> Job:
    data = json.loads(line)
    if data["op"] == "run":
        return RunJob(data["job"], data["request"])
    if data["op"] == "parse":
        return ParseJob(data["job"], ParseRequest(data["path"], data["log"], data["timeout"]))
    if data["op"] == "callback":
        return CallbackJob(data["job"], CallbackRequest.from_json(data["request"]))
    if data["op"] == "drain":
        return DrainServer()
    return ExitServer()


def decode_event(line: bytes) -> JobEvent:
    data = json.loads(line)
    if data.pop("ev") == "started":
        return JobStarted(**data)
    return JobExited(**data)


class LineBuffer:
    """Splits the bytes read from a pipe into whole lines, keeping a line's start until its
    end arrives."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The lines `data` completes, without their newlines."""
        *lines, self.pending = (self.pending + data).split(b"\n")
        return lines


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd`, which may take it in parts (a full pipe)."""
    while data:
        data = data[os.write(fd, data) :]
