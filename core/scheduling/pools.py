"""Pools, Airflow's: the checks on a pool a user sets, and what happens to a task instance that
cannot be queued because its pool does not exist or is smaller than its `pool_slots` (it
fails at once, without retries, with a one-line cause naming the command that fixes it). How
pools bound the attempts that may start is `dispatch`'s."""

from __future__ import annotations

import re
import sqlite3

from flowtui.errors import CommandRejected, InvalidInput
from flowtui.scheduling import alerts, callbacks
from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.run_book import RunBook
from flowtui.states import TaskState
from flowtui.store.reads import DEFAULT_POOL

_SHELL_SAFE = re.compile(r"[A-Za-z0-9_.@%+=:,/-]+")
_MAX_NAME = 256


def check_name(name: object) -> str:
    """A pool's name as `pools set` takes it: what an operator's `pool` may be (any non-empty
    text), without control characters or surrounding spaces, at most 256 characters.

    Raises:
        InvalidInput: naming what to give instead.
    """
    if (
        not isinstance(name, str)
        or not name
        or name != name.strip()
        or len(name) > _MAX_NAME
        or not name.isprintable()
    ):
        raise InvalidInput(
            "pool name",
            name,
            f"use 1 to {_MAX_NAME} printable characters, without spaces around them",
        )
    return name


def check_slots(slots: object) -> int:
    """A pool's slots: a whole number >= 0 (0 holds the pool's tasks until it is resized).

    Raises:
        InvalidInput: naming what to give instead.
    """
    if not isinstance(slots, int) or isinstance(slots, bool) or slots < 0:
        raise InvalidInput("pool slots", slots, "give a whole number >= 0")
    return slots


def check_deletable(name: str) -> None:
    """Raises:
    CommandRejected: `default_pool`, which always exists."""
    if name == DEFAULT_POOL:
        raise CommandRejected(
            f"{DEFAULT_POOL} cannot be deleted; change its slots with "
            f"`flowtui pools set {DEFAULT_POOL} SLOTS`"
        )


def not_found(name: str) -> CommandRejected:
    return CommandRejected(f"pool {name!r} does not exist; `flowtui pools list` shows the pools")


def set_command(name: str, slots: int | str) -> str:
    """The command line that creates pool `name` (or gives it `slots`)."""
    shown = name if _SHELL_SAFE.fullmatch(name) else "'" + name.replace("'", "'\\''") + "'"
    return f"flowtui pools set {shown} {slots}"


def unknown_pool(name: str) -> str:
    """The cause of a task instance whose pool does not exist."""
    return f"pool {name!r} does not exist; create it with: {set_command(name, 'SLOTS')}"


def pool_too_small(task_id: str, name: str, needed: int, slots: int) -> str:
    """The cause of a task instance that needs more slots than its pool has."""
    return (
        f"task {task_id!r} needs {needed} slots of pool {name!r}, which has {slots}; "
        f"lower its pool_slots or enlarge the pool: {set_command(name, needed)}"
    )


def refuse(book: RunBook, conn: sqlite3.Connection, run: ActiveRun, ti: TI, cause: str) -> None:
    """`ti` cannot be queued (see `unknown_pool`, `pool_too_small`): it fails now, without its
    retries (no retry could fix it) and without a try: nothing ran, so no attempt, no log. Its
    failure alerts and callbacks go as for any failure, and the tasks below it move on by their
    trigger rules."""
    task = run.spec.tasks.get(ti.task_id)
    now = book.now()
    ti.log_path = None  # the previous try's log is not this failure's
    book.set_state(
        conn,
        run,
        ti,
        TaskState.FAILED,
        start_date=now,
        end_date=now,
        duration=0.0,
        log_path=None,
        next_try_at=None,
        detail=cause,
    )
    alerts.plan(book, run, ti, task, "failure", cause)
    callbacks.plan_task(book, run, ti, task, "failure", cause)
    book.evaluate(conn, run, task.downstream if task else ())
