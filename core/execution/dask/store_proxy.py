"""The store, for an attempt on a Dask worker, without opening its file: each access
(`flowtui.store.access.StoreAccess`) is a request answered on the scheduler's side, and so are
the attempt's commands (to the home's scheduler, over its socket) and mail (with the home's
`[smtp]`).

- In the attempt's process, `RemoteStore` is the installed access: it writes each request as a
  line of JSON to a socket its starter holds, and reads the answer from it.
- On the worker, `relay` passes each request on through Dask: into the executor's request queue
  (a `distributed.Queue`, named in the `RemoteAttempt`), with the attempt's name; the answer
  comes back in the attempt's own queue (`reply_queue`).
- On the scheduler's side, `StoreServer` takes the requests from that queue, does each on the
  store as a local attempt would (`LocalStore`: read-only queries on a read-only connection,
  Variables through the store's own writes), sends commands and mail as a local attempt would,
  and puts the answer in the attempt's queue.

Requests and answers are JSON text; a failure travels as its kind and message and is raised
again in the attempt, as itself where the attempt expects it: sqlite3.OperationalError (so
that "a store that was never migrated" reads as nothing, as locally), CommandRejected and
DeliveryFailed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowtui.commands.model import Command, from_wire, to_wire
from flowtui.errors import CommandRejected
from flowtui.notify import DeliveryFailed
from flowtui.store.access import LocalStore

if TYPE_CHECKING:
    from distributed import Client, Queue

    from flowtui.config import Settings
    from flowtui.notify.smtp import Mail

logger = logging.getLogger(__name__)

ANSWER_TIMEOUT = 60.0
"""Seconds the worker waits for the scheduler's side to answer a request."""

_OPS = ("read", "variable", "set_variable", "delete_variable", "secret_values")
_HOME_OPS = ("command", "send_mail")
"""Requests answered on a thread of their own: they wait for the scheduler's loop or a mail
server, which must not hold up other attempts' requests for the store."""


class StoreAccessFailed(RuntimeError):
    """The scheduler's side could not do what a remote attempt asked of the store."""


def reply_queue(name: str) -> str:
    """The name of the queue that carries the answers to attempt `name`'s requests."""
    return f"{name}-store"


class _Rows(list[Any]):
    """Rows brought back, as a cursor gives them."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)

    def close(self) -> None:
        pass


class RemoteStore:
    """The attempt process's access to the store, over `sock` (see the module docstring)."""

    def __init__(self, sock: socket.socket) -> None:
        self._file = sock.makefile("rwb")
        self._lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        return None

    def reader(self) -> RemoteStore:
        return self

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _Rows:
        return _Rows(tuple(row) for row in self.call("read", sql, list(parameters)))

    def variable(self, key: str) -> str | None:
        text: str | None = self.call("variable", key)
        return text

    def set_variable(self, key: str, text: str, description: str | None) -> None:
        self.call("set_variable", key, text, description)

    def delete_variable(self, key: str) -> bool:
        return bool(self.call("delete_variable", key))

    def secret_values(self) -> list[str]:
        return [str(value) for value in self.call("secret_values")]

    def commands(self, actor: str) -> _RemoteCommands:
        return _RemoteCommands(self, actor)

    def mailer(self) -> _RemoteMailer:
        return _RemoteMailer(self)

    def close(self) -> None:
        """The socket stays open: the attempt may reach the store again after a task ends."""

    def call(self, op: str, *args: Any) -> Any:
        """Have the scheduler's side do `op`: the value it answered, or its failure raised."""
        with self._lock:
            self._file.write(json.dumps({"op": op, "args": args}).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        if not line:
            raise StoreAccessFailed("the worker stopped answering for the store")
        answer = json.loads(line)
        if "error" not in answer:
            return answer["value"]
        kind, message = answer["error"], answer["message"]
        if kind == "OperationalError":
            raise sqlite3.OperationalError(message)
        if kind == "CommandRejected":
            raise CommandRejected(message)
        if kind == "DeliveryFailed":
            raise DeliveryFailed(message, transient=bool(answer.get("transient")))
        raise StoreAccessFailed(f"the scheduler's side could not {op}: {message}")


class _RemoteCommands:
    """`actor`'s commands, sent to the home's scheduler by the scheduler's side."""

    def __init__(self, store: RemoteStore, actor: str) -> None:
        self._store = store
        self._actor = actor

    def send(self, command: Command) -> dict[str, Any]:
        result: dict[str, Any] = self._store.call("command", to_wire(command), self._actor)
        return result


class _RemoteMailer:
    """Mail, sent by the scheduler's side with the home's `[smtp]`."""

    def __init__(self, store: RemoteStore) -> None:
        self._store = store

    def send(self, mail: Mail) -> None:
        self._store.call("send_mail", mail.to_json())


def relay(sock: socket.socket, name: str, requests_queue: str, client: Client) -> None:
    """Worker side: pass attempt `name`'s requests from `sock` to the queue `requests_queue`,
    and each answer back, until the attempt closes its end. The queues are made at the first
    request: an attempt that asks nothing costs nothing."""
    from distributed import Queue

    requests: Queue | None = None
    replies: Queue | None = None
    with sock, sock.makefile("rwb") as file:
        try:
            for seq, line in enumerate(file):
                if requests is None or replies is None:  # the answer's queue first
                    replies = Queue(reply_queue(name), client=client)
                    requests = Queue(requests_queue, client=client)
                requests.put({"name": name, "seq": seq, "request": line.decode()})
                answer = _answer_to(replies, seq)
                file.write(answer.encode() + b"\n")
                file.flush()
        finally:
            for queue in (requests, replies):
                if queue is not None:
                    with contextlib.suppress(Exception):
                        queue.close()


def _answer_to(replies: Queue, seq: int) -> str:
    """The answer to request `seq`, or a timeout as an answer; the late answer of an earlier
    request that timed out is dropped, not read as this one's."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        try:
            reply = replies.get(timeout=left)
        except TimeoutError:
            break
        if reply["seq"] == seq:
            return str(reply["answer"])
    message = f"the flowtui scheduler did not answer in {ANSWER_TIMEOUT:g} s"
    return json.dumps({"error": "Timeout", "message": message})


class StoreServer:
    """Scheduler side: answers the requests of this executor's remote attempts (see the module
    docstring): those for the store one at a time, on a thread of its own; each command or mail
    on a thread of its own too (`_HOME_OPS`)."""

    def __init__(self, client: Client, settings: Settings, requests: str) -> None:
        from distributed import Queue

        self._client = client
        self._settings = settings
        self._store = LocalStore(settings.db_path)
        self._requests = Queue(requests, client=client)
        self._replies: dict[str, Queue] = {}
        self._names: set[str] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flowtui-store", daemon=True)
        self._thread.start()

    def open(self, name: str) -> None:
        """Answer attempt `name`'s requests."""
        with self._lock:
            self._names.add(name)

    def forget(self, name: str) -> None:
        """Attempt `name` ended: its requests are answered no more."""
        with self._lock:
            self._names.discard(name)
            replies = self._replies.pop(name, None)
        if replies is not None:
            with contextlib.suppress(Exception):
                replies.close()

    def stop(self) -> None:
        """End the thread: a message with no name wakes it (call before the client closes)."""
        self._stopped.set()
        with contextlib.suppress(Exception):
            self._requests.put({"name": None})

    def _run(self) -> None:
        try:
            for name, seq, request in self._incoming():
                op, args = _decoded(request)
                if op in _HOME_OPS:
                    threading.Thread(
                        target=self._serve,
                        args=(name, seq, op, args),
                        name="flowtui-home",
                        daemon=True,
                    ).start()
                else:
                    self._serve(name, seq, op, args)
        except (Exception, asyncio.CancelledError) as exc:  # the cluster or the client is gone
            if not self._stopped.is_set():
                logger.error("the store proxy stopped answering remote attempts: %s", exc)
        finally:
            self._store.close()
            with contextlib.suppress(Exception):
                self._requests.close()  # the Dask scheduler forgets the queue

    def _incoming(self) -> Iterator[tuple[str, int, str]]:
        while True:
            message = self._requests.get()  # no timeout: one in a Dask queue logs an error
            if self._stopped.is_set():
                return
            name = str(message["name"])
            with self._lock:
                ours = name in self._names
            if ours:
                yield name, int(message["seq"]), str(message["request"])

    def _reply(self, name: str, seq: int, answer: str) -> None:
        from distributed import Queue

        with self._lock:
            if name not in self._names:
                return  # it ended meanwhile
            replies = self._replies.get(name)
            if replies is None:
                replies = self._replies[name] = Queue(reply_queue(name), client=self._client)
        replies.put({"seq": seq, "answer": answer})

    def _serve(self, name: str, seq: int, op: str, args: list[Any]) -> None:
        try:
            self._reply(name, seq, self._answer(op, args))
        except Exception as exc:  # that attempt's queue is gone: it ended meanwhile
            logger.warning("attempt %s: an answer from the store was lost: %s", name, exc)

    def _answer(self, op: str, args: list[Any]) -> str:
        try:
            return json.dumps({"value": self._do(op, args)})
        except DeliveryFailed as exc:
            failed = {"error": "DeliveryFailed", "message": exc.reason, "transient": exc.transient}
            return json.dumps(failed)
        except Exception as exc:
            return json.dumps({"error": type(exc).__name__, "message": str(exc)})

    def _do(self, op: str, args: list[Any]) -> Any:
        if op == "read":
            reader = self._store.reader()
            return [] if reader is None else reader.execute(*args).fetchall()
        if op == "command":  # to the socket a local attempt sends to: this process serves it
            from flowtui.commands.transport import SocketClient

            wire, actor = args
            return SocketClient(self._settings, actor).send(from_wire(wire))
        if op == "send_mail":  # the home's [smtp] as it is now, as a local attempt reads it
            from flowtui.config import load_smtp
            from flowtui.notify.smtp import Mail, send_mail

            send_mail(load_smtp(self._settings.home), Mail.from_json(args[0]))
            return None
        if op not in _OPS:
            raise ValueError(f"no such request: {op!r}")
        return getattr(self._store, op)(*args)


def _decoded(request: str) -> tuple[str, list[Any]]:
    """A request's operation and arguments; one that is not JSON asks for nothing known."""
    try:
        data = json.loads(request)
        return str(data["op"]), list(data["args"])
    except (ValueError, KeyError, TypeError):
        return "", []
