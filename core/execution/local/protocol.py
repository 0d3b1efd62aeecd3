"""What the local executor and its fork server say to each other over two pipes, one JSON
object per line: jobs in (run an attempt, parse a DAG file, exit), events out (a job's child
started, a job's child exited with the result it wrote). Jobs are numbered by the executor."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flowtui.execution.base import AttemptRequest
from flowtui.loading.parse import ParseRequest


@dataclass(frozen=True)
class RunJob:
    job: int
    request: AttemptRequest


@dataclass(frozen=True)
class ParseJob:
    job: int
    request: ParseRequest


@dataclass(frozen=True)
class ExitServer:
    """Stop: kill what still runs and exit."""


Job = RunJob | ParseJob | ExitServer


@dataclass(frozen=True)
class JobStarted:
    job: int
    pid: int
    at: float
    """Epoch seconds, taken just before the fork."""


@dataclass(frozen=True)
class JobExited:
    job: int
    pid: int
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
        case RunJob(job, request):
            data: dict[str, Any] = {"op": "run", "job": job, "request": request.to_json()}
        case ParseJob(job, request):
            data = {"op": "parse", "job": job, "path": request.path, "log": request.log}
            data["timeout"] = request.timeout
        case ExitServer():
            data = {"op": "exit"}
        case JobStarted(job, pid, at):
            data = {"ev": "started", "job": job, "pid": pid, "t": at}
        case JobExited(job, pid, at, exit_code, result, timed_out):
            data = {"ev": "exited", "job": job, "pid": pid, "t": at, "exit_code": exit_code}
            data |= {"result": result, "timed_out": timed_out}
    return (json.dumps(data) + "\n").encode()


def decode_job(line: bytes) -> Job:
    data = json.loads(line)
    if data["op"] == "run":
        return RunJob(data["job"], AttemptRequest.from_json(data["request"]))
    if data["op"] == "parse":
        return ParseJob(data["job"], ParseRequest(data["path"], data["log"], data["timeout"]))
    return ExitServer()


def decode_event(line: bytes) -> JobEvent:
    data = json.loads(line)
    if data["ev"] == "started":
        return JobStarted(data["job"], data["pid"], data["t"])
    return JobExited(
        data["job"], data["pid"], data["t"], data["exit_code"], data["result"], data["timed_out"]
    )
