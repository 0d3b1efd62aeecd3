"""Masking of secret variables: which keys count as secret, the values to hide, a text stream
that hides them from a Python task's output, and (run as a script) the filter a bash task runs
under. Standard library only, so that the filter starts without importing flowtui."""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import re
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

SENSITIVE_NAMES = ("password", "secret", "token", "api_key", "credential")
"""A variable is secret when its key contains one of these, in any case (as Airflow's
sensitive field names)."""

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are never masked: hiding "1" or "yes" everywhere would garble the logs."""

ENV_PREFIX = "FLOWTUI_VAR_"
SECRETS_ENV = "FLOWTUI_MASK_SECRETS"
"""Hands the values to the bash filter, which removes it before bash starts."""

_HOLD_LIMIT = 1 << 16
"""Characters of a line without a newline kept back before they are written anyway."""


def is_secret_key(key: str) -> bool:
    """Whether variable `key` looks secret (password, secret, token, api_key, credential)."""
    lowered = key.lower()
    return any(name in lowered for name in SENSITIVE_NAMES)


def marker_path(db_path: Path | str) -> Path:
    """The file that exists while the store at `db_path` holds a secret-looking key."""
    path = Path(db_path)
    return path.with_name(path.name + ".secret-variables")


def secret_values(db_path: Path | str, *environs: Mapping[str, str]) -> list[str]:
    """Values of secret-looking variables: `FLOWTUI_VAR_*` in `environs`, then the store's.

    The store is queried only when its marker file exists (see `sync_marker`): one stat
    instead of opening SQLite, on the path most attempts take.
    """
    values = [value for environ in environs for value in env_secret_values(environ)]
    marker = marker_path(db_path)
    if os.path.exists(marker):
        values += _stored_secret_values(Path(db_path))
    return values


def env_secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of `FLOWTUI_VAR_<KEY>` entries of `environ` whose KEY looks secret."""
    return [
        environ[name]
        for name in environ
        if name.startswith(ENV_PREFIX) and is_secret_key(name[len(ENV_PREFIX) :])
    ]


def _stored_secret_values(db_path: Path) -> list[str]:
    try:
        conn = sqlite3.connect(
            db_path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30.0, isolation_level=None
        )
    except sqlite3.Error:
        return []
    try:
        rows = conn.execute("SELECT key, val FROM variables").fetchall()
    except sqlite3.Error:  # a store that was never migrated has no table yet
        return []
    finally:
        conn.close()
    return [str(val) for key, val in rows if is_secret_key(str(key))]


def sync_marker(conn: sqlite3.Connection, db_path: Path | str) -> None:
    """Create or remove the marker file to match the `variables` table.

    Call it inside the write transaction that changed the table: writers are serialized
    then, so two of them cannot leave a stale marker behind.
    """
    keys = [str(key) for (key,) in conn.execute("SELECT key FROM variables")]
    marker = marker_path(db_path)
    if any(is_secret_key(key) for key in keys):
        mark_secrets(db_path)
    else:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()


def mark_secrets(db_path: Path | str) -> None:
    """Create the marker file (a write that failed half-way errs on the masking side)."""
    marker = marker_path(db_path)
    if not marker.exists():
        fd = os.open(marker, os.O_CREAT | os.O_WRONLY, 0o600)
        os.write(fd, b"flowtui: the store holds secret-looking variables; tasks mask them\n")
        os.close(fd)


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


def _forms(value: str) -> set[str]:
    if len(value) < MIN_LENGTH:
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


class MaskingStream(io.TextIOBase):
    """A text stream (sys.stdout, sys.stderr) that masks secrets before they reach `stream`.
    Anything it does not define (`buffer`, `reconfigure`...) goes to `stream` unmasked."""

    def __init__(self, stream: TextIO, masker: Masker) -> None:
        super().__init__()
        self.stream = stream
        self._lines = LineMasker(masker)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name == "stream":  # not set yet: no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.stream, name)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.stream.errors

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def write(self, text: str) -> int:
        with self._lock:
            out = self._lines.feed(text)
            if out:
                self.stream.write(out)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            out = self._lines.drain()
            if out:
                self.stream.write(out)
        self.stream.flush()

    def close(self) -> None:
        """Write what is held back; the wrapped stream stays open (it is not ours)."""
        with contextlib.suppress(Exception):
            self.flush()


@contextlib.contextmanager
def masked_output(masker: Masker) -> Iterator[None]:
    """Mask sys.stdout and sys.stderr while the block runs (nothing to do without secrets)."""
    if not masker:
        yield
        return
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = MaskingStream(stdout, masker), MaskingStream(stderr, masker)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = stdout, stderr


def filtered(
    argv: list[str], env: dict[str, str], values: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    """(argv, env) that run `argv` under the masking filter when there are secret values;
    unchanged otherwise, so that bash is exec'd directly."""
    if all(len(value) < MIN_LENGTH for value in values):
        return argv, env
    # -I -S: no site-packages and no user environment, so the filter starts in ~10 ms and
    # the task's PYTHON* variables cannot change it; the file runs as a plain script.
    command = [sys.executable, "-I", "-S", os.path.abspath(__file__), "--", *argv]
    return command, {**env, SECRETS_ENV: json.dumps(list(values))}


# --- the filter: `python masking.py -- bash -c CMD` ---

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1)


def main(argv: Sequence[str]) -> int:
    """Run the command after `--` with its output masked; exit as it exits."""
    import subprocess

    if len(argv) < 2 or argv[0] != "--":
        print("usage: masking.py -- COMMAND [ARG...]", file=sys.stderr)
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
