"""How many DAG files the loader has imported at once: never more than its bound, and a file
that is slow to import holds only its own slot. The parser here is a stand-in that ends each
parse when the test says so, on a thread of its own, as the fork server's reader thread does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from flowtui.loading import loader
from flowtui.loading.loader import DagLoader
from flowtui.loading.parse import ParseExit, ParseReport, ParseRequest
from tests.conftest import Home, wait_until


class HeldParser:
    """Starts every parse at once and ends one when `finish(name)` is called."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.running: dict[str, Callable[[ParseExit], None]] = {}
        self.most = 0
        self._lock = threading.Lock()

    def parse_file(self, request: ParseRequest, done: Callable[[ParseExit], None]) -> None:
        name = Path(request.path).name
        with self._lock:
            self.started.append(name)
            self.running[name] = done
            self.most = max(self.most, len(self.running))

    def finish(self, name: str) -> None:
        with self._lock:
            done = self.running.pop(name)
        thread = threading.Thread(target=done, args=(ParseExit(ParseReport(), 0),))
        thread.start()
        thread.join()


def test_a_slow_file_holds_only_its_own_slot(home: Home) -> None:
    names = [f"f{i}.py" for i in range(7)]
    parser = HeldParser()
    result: list[list[str]] = []
    paths = [home.dags / name for name in names]
    thread = threading.Thread(
        target=lambda: result.append(
            [r.path for r in DagLoader(home.settings, parser).parse_files(paths)]
        )
    )
    thread.start()
    try:
        bound = loader._IN_FLIGHT
        wait_until(lambda: len(parser.started) == bound, what="the first files to start")
        parser.finish("f1.py")  # f0.py is still importing: f4.py takes f1.py's slot
        wait_until(lambda: len(parser.started) == bound + 1, what="the next file to start")
        parser.finish("f2.py")
        parser.finish("f4.py")
        wait_until(lambda: len(parser.started) == bound + 3, what="two more files to start")
        assert parser.started == names
    finally:
        for name in list(parser.running):
            parser.finish(name)
        thread.join(timeout=10)
    assert parser.most == bound
    assert result == [[str(p) for p in paths]]
