"""A try's ticket, claimed for real by racing processes: exactly one claims it, the others are
declined (none fails), whatever the order in which they create its folder and file."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flowtui.execution import ticket


def test_processes_racing_for_one_try_claim_it_once(tmp_path: Path) -> None:
    for round_ in range(10):  # each round a new folder: the race is in making it, too
        path = str(tmp_path / f"r{round_}" / "d" / "t" / "attempt=1.ticket")
        marks, children = _race(path, 8)
        assert sorted(marks) == sorted(b"C" + b"D" * 7), round_
        state = ticket.inspect(path, "q1")
        assert state is not None
        assert state.pid in children
        assert not state.held


def _race(path: str, processes: int) -> tuple[bytes, list[int]]:
    """Fork `processes` children that claim the ticket at once; what each got: C claimed,
    D declined, E an error."""
    read, write = os.pipe()
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # the child: only os calls, then _exit
            try:
                got = ticket.claim(path, "q1")
                mark = b"C" if isinstance(got, int) else b"D"
                if isinstance(got, int):
                    time.sleep(0.05)  # hold the claim while the others try
            except BaseException:
                mark = b"E"
            os.write(write, mark)
            os._exit(0)
        children.append(pid)
    os.close(write)
    for pid in children:
        os.waitpid(pid, 0)
    marks = os.read(read, 64)
    os.close(read)
    return marks, children


def test_a_ticket_of_an_earlier_run_with_the_same_id_is_not_this_trys(tmp_path: Path) -> None:
    """A run replaced under the same id starts its tries afresh: the old tickets, ended, are
    discarded, not mistaken for the new try having run."""
    path = str(tmp_path / "attempt=1.ticket")
    first = ticket.claim(path, "earlier")
    assert isinstance(first, int)
    ticket.record_outcome(first, b'{"state": "success"}')
    os.close(first)
    again = ticket.claim(path, "later")
    assert isinstance(again, int)
    os.close(again)
    state = ticket.inspect(path, "later")
    assert state is not None
    assert state.outcome is None
