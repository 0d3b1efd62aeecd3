"""`BashSensor`: wait until a bash command exits 0, as Airflow's does."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Any, ClassVar

from flowtui.authoring.baseoperator import Context
from flowtui.authoring.sensors.base import BaseSensorOperator
from flowtui.errors import InvalidArgument


class BashSensor(BaseSensorOperator):
    """Poke by running `bash -c bash_command`: exit 0 means the condition holds; any other
    code means not yet (its output goes to the task's log).

    Args:
        bash_command: the command (templated).
        env: environment for bash (templated); None inherits the attempt's.
        cwd: working directory (templated).
        retry_exit_code: as in Airflow 2.7: only this code means "not yet"; any other
            non-zero code fails the task.
    """

    template_fields: ClassVar[Sequence[str]] = ("bash_command", "env", "cwd")

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        retry_exit_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(bash_command, str) or not bash_command.strip():
            raise InvalidArgument(self._where(), "bash_command must be a non-empty string")
        self.bash_command = bash_command
        self.env = env
        self.cwd = cwd
        self.retry_exit_code = retry_exit_code

    def poke(self, context: Context) -> bool:
        env = dict(self.env) if self.env is not None else dict(os.environ)
        code = subprocess.call(["bash", "-c", self.bash_command], env=env, cwd=self.cwd)
        if code == 0:
            return True
        if self.retry_exit_code is not None and code != self.retry_exit_code:
            raise RuntimeError(f"bash exited with code {code}")
        self.log_line(f"bash exited with code {code}: not yet")
        return False
