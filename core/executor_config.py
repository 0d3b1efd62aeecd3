"""The executor sections of `flowtui.toml`: `executor = "local"|"dask"` and `[dask]` (an
existing scheduler's `address`, or `local_cluster = { workers = N }`), read into plain values
with one-line errors naming the key. Running attempts there is `flowtui.execution`'s."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from flowtui.errors import FlowtuiError

EXECUTORS = ("local", "dask")

TASK_EXECUTORS = {
    "local": "local",
    "dask": "dask",
    "LocalExecutor": "local",
    "DaskExecutor": "dask",
}
"""What a task's `executor=` may say (Airflow's class names too), and the executor it means."""

_EXAMPLE = '[dask] address = "tcp://host:8786" or [dask] local_cluster = { workers = 2 }'


class ExecutorConfigError(FlowtuiError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


class DaskSettings(NamedTuple):
    """`[dask]`: where attempts go with `executor = "dask"`: an existing scheduler's address,
    else a LocalCluster of `workers` processes (one thread each) that flowtui starts."""

    address: str = ""
    workers: int = 0


class ExecutorConfig(NamedTuple):
    executor: str
    dask: DaskSettings
    warnings: tuple[str, ...]


def read_executor_config(config: Mapping[str, object], path: Path) -> ExecutorConfig:
    """`executor` and `[dask]` of a `flowtui.toml` table.

    Raises:
        ExecutorConfigError: an unknown executor, a `[dask]` that is not a table, has unknown
            keys, both or neither of address and local_cluster (with executor "dask"), or a
            value of the wrong type.
    """
    executor = config.get("executor", "local")
    if executor not in EXECUTORS:
        raise ExecutorConfigError(path, f'executor must be "local" or "dask", not {executor!r}')
    section = config.get("dask")
    if section is None:
        if executor == "dask":
            raise ExecutorConfigError(path, f'executor = "dask" needs {_EXAMPLE}')
        return ExecutorConfig("local", DaskSettings(), ())
    if not isinstance(section, dict):
        raise ExecutorConfigError(path, f"dask must be a table: {_EXAMPLE}")
    dask = _dask_settings(section, path)
    warnings = () if executor == "dask" else (f'{path}: [dask] is ignored: executor is "local"',)
    return ExecutorConfig(str(executor), dask, warnings)


def _dask_settings(section: dict[str, object], path: Path) -> DaskSettings:
    unknown = sorted(set(section) - {"address", "local_cluster"})
    if unknown:
        raise ExecutorConfigError(
            path, f"dask.{unknown[0]} is not a setting; [dask] takes address or local_cluster"
        )
    if ("address" in section) == ("local_cluster" in section):
        raise ExecutorConfigError(
            path, f"[dask] needs exactly one of address and local_cluster: {_EXAMPLE}"
        )
    address = section.get("address")
    if address is not None:
        if not isinstance(address, str) or "://" not in address:
            raise ExecutorConfigError(
                path,
                f'dask.address must be a scheduler address like "tcp://host:8786", not {address!r}',
            )
        return DaskSettings(address=address)
    cluster = section["local_cluster"]
    workers = cluster.get("workers") if isinstance(cluster, dict) else None
    if not isinstance(cluster, dict) or set(cluster) != {"workers"}:
        raise ExecutorConfigError(path, "dask.local_cluster must be { workers = N }")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers <= 0:
        raise ExecutorConfigError(
            path, f"dask.local_cluster.workers must be a whole number > 0, not {workers!r}"
        )
    return DaskSettings(workers=workers)
