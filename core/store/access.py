"""How a task attempt reaches the store: the one seam through which everything an attempt reads
or writes there passes (XCom pulls, Variables, inlet asset events, the sensors' and
TriggerDagRunOperator's looks at other runs, the secrets to mask), and what else it asks of its
home (TriggerDagRunOperator's commands, EmailOperator's mail). `LocalStore` opens the SQLite
file, as every attempt on the scheduler's machine does, and leaves the home's scheduler and
`[smtp]` to the operators; an attempt on a Dask worker installs the executor's proxy instead
(`install`), which asks the scheduler's side to do all of it
(`flowtui.execution.dask.store_proxy`), so that it never opens the file. What an attempt pushes
(XComs, asset events) is no store access: it travels back in its outcome."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import sqlite3

    from flowtui.store import Store


class Rows(Protocol):
    """What a query gives: an `sqlite3.Cursor`, or the rows a proxy brought back."""

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...
    def close(self) -> None: ...


class StoreReader(Protocol):
    """Read-only queries: an `sqlite3.Connection` opened read-only, or a proxy's."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows: ...


class CommandSender(Protocol):
    """Carries a command to the home's scheduler and returns its result: a
    `flowtui.commands.model.CommandClient`, which this layer does not import (hence `Any`)."""

    def send(self, command: Any, /) -> dict[str, Any]: ...


class MailSender(Protocol):
    """Sends a `flowtui.notify.smtp.Mail` with the home's `[smtp]` settings (named, not
    imported, as above).

    Raises:
        DeliveryFailed: from `send`, with the reason (`flowtui.notify`).
    """

    def send(self, mail: Any, /) -> None: ...


class StoreAccess(Protocol):
    """The store as an attempt sees it."""

    @property
    def path(self) -> Path | None:
        """The store's file, which a sensor may watch for writes; None when it is not here."""

    def reader(self) -> StoreReader | None:
        """Read-only queries, opened on first use; None when there is no store yet."""

    def variable(self, key: str) -> str | None:
        """The stored text of variable `key`, or None."""

    def set_variable(self, key: str, text: str, description: str | None) -> None: ...

    def delete_variable(self, key: str) -> bool:
        """Remove `key`; returns whether it was there."""

    def secret_values(self) -> list[str]:
        """Values of the stored variables whose keys look secret."""

    def commands(self, actor: str) -> CommandSender | None:
        """What carries `actor`'s commands to the home's scheduler; None: the home is on this
        machine, connect to it (`flowtui.scheduling.clients.connect`)."""

    def mailer(self) -> MailSender | None:
        """What sends mail from the home; None: the home's `flowtui.toml` is on this machine,
        send with its `[smtp]`."""

    def close(self) -> None:
        """Close what `reader` opened."""


class LocalStore:
    """The store's SQLite file at `path`, opened by this process."""

    def __init__(self, path: Path | str) -> None:
        self._file = os.fspath(path)
        """The path as given: made a `Path` only when needed (most attempts never need it)."""
        self._conn: sqlite3.Connection | None = None

    @property
    def path(self) -> Path:
        return Path(self._file)

    def reader(self) -> sqlite3.Connection | None:
        if self._conn is None and self.path.exists():
            from flowtui.store.schema import open_connection

            self._conn = open_connection(self.path, readonly=True)
        return self._conn

    def variable(self, key: str) -> str | None:
        from flowtui.store.schema import open_connection
        from flowtui.store.variables import read

        path = self.path
        if not path.exists():
            return None
        conn = open_connection(path, readonly=True)
        try:
            return read(conn, key)
        finally:
            conn.close()

    def set_variable(self, key: str, text: str, description: str | None) -> None:
        from flowtui.store import variables

        store = self._open()
        try:
            with store.transaction() as conn:
                variables.write(conn, key, text, description)
        finally:
            store.close()

    def delete_variable(self, key: str) -> bool:
        from flowtui.store import variables

        path = self.path
        if not path.exists():
            return False
        store = self._open()
        try:
            with store.transaction() as conn:
                deleted = variables.delete(conn, key)
        finally:
            store.close()
        variables.refresh_marker(path)
        return deleted

    def secret_values(self) -> list[str]:
        from flowtui.store.variables import stored_secret_values

        return stored_secret_values(self._file)

    def commands(self, actor: str) -> None:
        return None

    def mailer(self) -> None:
        return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _open(self) -> Store:
        from flowtui.store import Store

        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        return Store(path)


_installed: StoreAccess | None = None


def install(access: StoreAccess) -> None:
    """Reach the store through `access` from now on, in this process (a remote attempt)."""
    global _installed
    _installed = access


def at(path: Path | str) -> StoreAccess:
    """The store at `path` as this process reaches it: the installed access, if any (a remote
    attempt's proxy, whatever `path` says), else the file itself."""
    return _installed if _installed is not None else LocalStore(path)
