"""The live feed on a real store file: every screen shown gets its read, even when the store
is idle and the UI thread is busy just as the feed thread's idle wait times out (a nudge then
used to be lost, leaving the screen blank until the store next changed)."""

from __future__ import annotations

import queue
import sqlite3
import time
from pathlib import Path

from flowtui.store.schema import open_connection
from flowtui.tui.live import INTERVAL, LiveFeed
from flowtui.tui.messages import StateLoaded, TasksFailed

SHOWS = 12


def _nothing(conn: sqlite3.Connection) -> None:
    return None


def _hold_the_gil(seconds: float) -> None:
    """Keep this thread running Python, as Textual's event loop does while it lays out."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_each_screen_shown_on_an_idle_store_is_read(tmp_path: Path) -> None:
    db_path = tmp_path / "flowtui.db"
    open_connection(db_path).close()
    posted: queue.Queue[StateLoaded | TasksFailed] = queue.Queue()
    feed = LiveFeed(db_path, posted.put)
    feed.start()
    missed = []
    try:
        for target in range(SHOWS):
            # land each show() at a different point around the end of the feed's idle wait
            _hold_the_gil(INTERVAL * (0.9 + (target % 10) / 50))
            feed.show(target, _nothing)
            deadline = time.monotonic() + 2
            while True:
                try:
                    message = posted.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    missed.append(target)
                    break
                if isinstance(message, StateLoaded) and message.target == target:
                    break
    finally:
        feed.stop()
    assert missed == []
