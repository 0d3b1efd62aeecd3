"""`FileSensor`: wait for a file, a glob's match, or a non-empty folder, as Airflow's does; woken
within a second of the file being written, whatever its `poke_interval`."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from flowtui.authoring.baseoperator import Context
from flowtui.authoring.sensors.base import BaseSensorOperator, Wake
from flowtui.errors import InvalidArgument


class FileSensor(BaseSensorOperator):
    """Wait until `filepath` exists: a file, a glob with at least one match, or a folder with a
    file in it (at any depth).

    Args:
        filepath: the path or glob (templated); relative paths are taken from the attempt's
            working directory, so give an absolute one.
        recursive: let `**` in the glob match any number of folders.
    """

    template_fields: ClassVar[Sequence[str]] = ("filepath",)

    def __init__(
        self,
        *,
        filepath: str,
        recursive: bool = False,
        fs_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(filepath, str) or not filepath.strip():
            raise InvalidArgument(self._where(), "filepath must be a non-empty string")
        if fs_conn_id not in (None, "fs_default"):
            raise InvalidArgument(
                self._where(),
                f"fs_conn_id={fs_conn_id!r} is not supported (flowtui has no connections); "
                f"give the full path in filepath",
            )
        self.filepath = filepath
        self.recursive = bool(recursive)

    def poke(self, context: Context) -> bool:
        for path in glob.glob(self.filepath, recursive=self.recursive):
            if os.path.isfile(path):
                self.log_line(f"found {path}")
                return True
            for _folder, _dirs, files in os.walk(path):
                if files:
                    self.log_line(f"found files in {path}")
                    return True
        return False

    def wake_on(self, context: Context) -> list[Wake]:
        return [("path", self.filepath)]
