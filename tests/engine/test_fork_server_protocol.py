"""The fork-server protocol's plumbing: lines cut from what a pipe gives, in whatever pieces,
and writes that give a pipe all of the data, however little it holds."""

from __future__ import annotations

import os
import threading

from flowtui.execution.local.protocol import LineBuffer, write_all


def test_lines_are_whole_whatever_the_pieces() -> None:
    lines = LineBuffer()
    assert lines.feed(b'{"a"') == []
    assert lines.feed(b': 1}\n{"b": 2}\n{"c') == [b'{"a": 1}', b'{"b": 2}']
    assert lines.feed(b'": 3}\n') == [b'{"c": 3}']
    assert lines.pending == b""


def test_write_all_writes_more_than_a_pipe_holds() -> None:
    data = os.urandom(1 << 20)  # a pipe holds 64 KiB
    read_fd, write_fd = os.pipe()
    received = bytearray()

    def drain() -> None:
        while chunk := os.read(read_fd, 1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    write_all(write_fd, data)
    os.close(write_fd)
    reader.join(timeout=10)
    os.close(read_fd)
    assert bytes(received) == data
