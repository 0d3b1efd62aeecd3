"""Masking secret variables in what an attempt writes: which values to hide (`secret_values`),
a text stream that hides them from a Python task's output, and the argv that runs a bash task
under the masking filter (`flowtui.execution.mask_filter`) while there is anything to hide."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from flowtui.execution import mask_filter
from flowtui.execution.mask_filter import LineMasker, Masker
from flowtui.store import access
from flowtui.store.variables import ENV_PREFIX, is_secret_key

_remembered: tuple[str, ...] | None = None
"""`os.environ`'s secret values as `remember_environment` found them; None: not remembered."""


def secret_values(db_path: Path | str, *environs: Mapping[str, str]) -> list[str]:
    """Values of secret-looking variables, each once: `FLOWTUI_VAR_*` in `environs`, then the
    store's (as this process reaches it: `flowtui.store.access`)."""
    return _with_stored(_environ_values(environs), db_path)


def attempt_secret_values(db_path: Path | str, *environs: Mapping[str, str]) -> list[str]:
    """`secret_values(db_path, os.environ, *environs)`, with `os.environ`'s values as
    `remember_environment` found them, if it was called: each child of the fork server then
    does not scan the environment again."""
    own = env_secret_values(os.environ) if _remembered is None else list(_remembered)
    return _with_stored(own + _environ_values(environs), db_path)


def remember_environment() -> None:
    """Remember `os.environ`'s secret values for `attempt_secret_values` in this process and
    the processes it forks. Call it again after running code that may change `os.environ` (the
    fork server, after importing DAG files)."""
    global _remembered
    _remembered = tuple(env_secret_values(os.environ))


def forget_environment() -> None:
    """Scan `os.environ` again at each `attempt_secret_values` (a child of the fork server that
    imports a DAG file itself: the import may set variables there)."""
    global _remembered
    _remembered = None


def _environ_values(environs: Sequence[Mapping[str, str]]) -> list[str]:
    return [value for environ in environs for value in env_secret_values(environ)]


def _with_stored(values: list[str], db_path: Path | str) -> list[str]:
    stored = access.at(db_path).secret_values()
    return list(dict.fromkeys(values + stored)) if values or stored else []


def env_secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of `FLOWTUI_VAR_<KEY>` entries of `environ` whose KEY looks secret."""
    return [
        environ[name]
        for name in environ
        if name.startswith(ENV_PREFIX) and is_secret_key(name[len(ENV_PREFIX) :])
    ]


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
    values = [value for value in values if mask_filter.maskable(value)]
    if not values:
        return argv, env
    # -I -S: no site-packages and no user environment, so the filter starts in ~10 ms and
    # the task's PYTHON* variables cannot change it; the file runs as a plain script.
    command = [sys.executable, "-I", "-S", mask_filter.__file__, "--", *argv]
    return command, {**env, mask_filter.SECRETS_ENV: json.dumps(values)}
