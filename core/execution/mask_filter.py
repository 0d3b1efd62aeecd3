"""The masking filter a bash task runs under while secret variables exist:
`python -I -S mask_filter.py -- bash -c CMD` runs the command with its output copied through
`Masker`, which replaces every form of the secret values by `***`. Standard library only, and
run as a plain script, so that it starts in about 10 ms without importing flowtui."""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any

MASK = "***"
"""The same mask as `flowtui.store.variables.MASK` (this file cannot import flowtui)."""

MIN_LENGTH = 4
"""Shorter values are never masked: hiding "1" or "yes" everywhere would garble the logs."""

SECRETS_ENV = "FLOWTUI_MASK_SECRETS"
"""Hands the values to the filter, which removes it before the command starts."""

_HOLD_LIMIT = 1 << 16
"""Characters of a line without a newline kept back before they are written anyway."""


class Masker:
    """Replaces every form of the secret values by `***`: the value itself, its escaped form
    inside a JSON string, and, for JSON objects and lists, each string inside them."""

    def __init__(self, values: Sequence[str] = ()) -> None:
        self.values = list(values)
        forms: set[str] = set()
        for value in values:
            forms.update(_forms(value))
        self.forms = sorted(forms, key=len, reverse=True)
        """Longest first, so that a value containing another is replaced whole."""
        self.multiline = [f for f in self.forms if "\n" in f]
        self.pattern = re.compile("|".join(map(re.escape, self.forms))) if forms else None

    def __bool__(self) -> bool:
        return self.pattern is not None

    def mask(self, text: str) -> str:
        """`text` with every secret form replaced by `***`."""
        return text if self.pattern is None else self.pattern.sub(MASK, text)

    def safe_cut(self, text: str, cut: int) -> int:
        """The largest cut <= `cut` such that no secret can span it: neither a whole one
        nor the beginning of a multi-line one that more text may complete."""
        if self.pattern is None:
            return cut
        for match in self.pattern.finditer(text):
            if match.start() < cut < match.end():
                cut = match.start()
                break
        # Right after a newline only a value with newlines can go on past the cut.
        forms = self.multiline if text[cut - 1 : cut] == "\n" else self.forms
        for form in forms:
            for start in range(max(0, len(text) - len(form) + 1), cut):
                if form.startswith(text[start:]):
                    cut = start
                    break
        return cut


def maskable(value: str) -> bool:
    """Whether `value` is long enough to be masked (see `MIN_LENGTH`)."""
    return len(value) >= MIN_LENGTH


def _forms(value: str) -> set[str]:
    if not maskable(value):
        return set()
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    if value[:1] in "{[":
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        for leaf in _string_leaves(parsed):
            forms |= _forms(leaf)
    return forms


def _string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_leaves(item)


class LineMasker:
    """Collects text and gives it back masked, a line at a time, so that a value split
    across two writes is still caught; `drain` gives back whatever is left."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.pending = ""

    def feed(self, text: str) -> str:
        """Add `text`; return the masked complete lines (or an over-long line's head)."""
        pending = self.pending + text
        cut = pending.rfind("\n") + 1
        if len(pending) - cut > _HOLD_LIMIT:
            longest = len(self.masker.forms[0]) if self.masker.forms else 1
            cut = len(pending) - longest + 1
        if cut <= 0:
            self.pending = pending
            return ""
        cut = self.masker.safe_cut(pending, cut)
        self.pending = pending[cut:]
        return self.masker.mask(pending[:cut])

    def drain(self) -> str:
        """Everything held back, masked."""
        text, self.pending = self.pending, ""
        return self.masker.mask(text)


_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1)


def main(argv: Sequence[str]) -> int:
    """Run the command after `--` with its output masked; exit as it exits."""
    import subprocess

    if len(argv) < 2 or argv[0] != "--":
        print("usage: mask_filter.py -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    env = dict(os.environ)
    masker = Masker(json.loads(env.pop(SECRETS_ENV, "[]")))
    try:
        proc = subprocess.Popen(argv[1:], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        print(f"flowtui: cannot run {argv[1]!r}: {exc}", file=sys.stderr)
        return 127
    for signum in _FORWARDED:
        signal.signal(signum, lambda number, _frame: proc.send_signal(number))
    pipes = {proc.stdout.fileno(): 1, proc.stderr.fileno(): 2}  # type: ignore[union-attr]
    _pump(proc, pipes, masker)
    code = proc.wait()
    if code < 0:  # die of the same signal, so that the executor sees what killed bash
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def _pump(proc: Any, fds: dict[int, int], masker: Masker) -> None:
    """Copy each pipe in `fds` (pipe -> our fd) masked, until they close or, once the command
    has exited, until they run dry (a background child may keep them open)."""
    import select

    lines = {fd: LineMasker(masker) for fd in fds}
    decoders = {fd: codecs.getincrementaldecoder("utf-8")("surrogateescape") for fd in fds}
    open_fds = set(fds)
    exited = False
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], 0.2)
        exited = exited or proc.poll() is not None
        for fd in ready if not exited else list(open_fds):
            chunk = _read(fd, blocking=not exited)
            if chunk:
                text = lines[fd].feed(decoders[fd].decode(chunk))
            else:
                text = lines[fd].drain() + lines[fd].masker.mask(decoders[fd].decode(b"", True))
                open_fds.discard(fd)
            _write(fds[fd], text.encode("utf-8", "surrogateescape"))


def _read(fd: int, blocking: bool) -> bytes:
    os.set_blocking(fd, blocking)
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""


def _write(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):  # nobody reads our output: keep draining the command's
        while data:
            data = data[os.write(fd, data) :]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
