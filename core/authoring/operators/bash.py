"""`BashOperator`: one bash command. `bash_invocation` gives what to exec, so the executor can
spawn bash directly; `execute` runs it through subprocess for in-process use."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from flowtui.authoring.baseoperator import BaseOperator, Context
from flowtui.authoring.exceptions import SkipTask
from flowtui.errors import InvalidArgument


class BashCommandFailed(Exception):
    """The bash command exited with a non-zero code that does not mean "skip"."""

    def __init__(self, code: int) -> None:
        super().__init__(f"bash exited with code {code}")
        self.code = code


class BashOperator(BaseOperator):
    """Run `bash -c <bash_command>`; exit 0 is success, `skip_on_exit_code` is skipped.

    Args:
        bash_command: the command (templated).
        env: environment for bash (templated); without `append_env` it replaces os.environ.
        append_env: add `env` to os.environ instead of replacing it.
        cwd: working directory (templated); None means the attempt's own.
        skip_on_exit_code: exit code(s) that end the task as skipped; None for none.
    """

    template_fields: ClassVar[Sequence[str]] = ("bash_command", "env", "cwd")
    template_ext: Sequence[str] = (".sh", ".bash")
    runs_bash: ClassVar[bool] = True

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        skip_on_exit_code: int | Sequence[int] | None = 99,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(bash_command, str) or not bash_command.strip():
            raise InvalidArgument(self._where(), "bash_command must be a non-empty string")
        self.bash_command = bash_command
        self.env = env
        self.append_env = bool(append_env)
        self.cwd = cwd
        codes = [] if skip_on_exit_code is None else skip_on_exit_code
        self.skip_exit_codes: frozenset[int] = frozenset(
            [codes] if isinstance(codes, int) else codes
        )
        """Exit codes that make the attempt `skipped` instead of `failed`."""

    def bash_invocation(self, context: Context) -> tuple[list[str], dict[str, str], str | None]:
        """Return (argv, env, cwd) to exec bash with; templated fields must be rendered.

        Raises:
            InvalidArgument: `cwd` is not a directory.
        """
        extra = {str(k): str(v) for k, v in (self.env or {}).items()}
        env = extra if self.env is not None and not self.append_env else {**os.environ, **extra}
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise InvalidArgument(self._where(), f"cwd {self.cwd!r} is not a directory")
        return ["bash", "-c", self.bash_command], env, self.cwd

    def execute(self, context: Context) -> Any:
        """Run bash, copy its output to stdout, and return the last line (like Airflow)."""
        import subprocess

        argv, env, cwd = self.bash_invocation(context)
        last = ""
        with subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as proc:
            assert proc.stdout is not None  # PIPE was asked for
            for line in proc.stdout:
                sys.stdout.write(line)
                last = line.rstrip("\n")
        if proc.returncode in self.skip_exit_codes:
            raise SkipTask(f"bash exited with code {proc.returncode}")
        if proc.returncode != 0:
            raise BashCommandFailed(proc.returncode)
        return last
