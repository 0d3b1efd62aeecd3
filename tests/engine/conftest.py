"""What the in-process engine tests share: DAG specs written by hand (as the loader would
store them), a clock that moves only when a test moves it, and a migrated store to copy."""

from __future__ import annotations

import dataclasses
import shutil
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flowtui.spec import DagSpec, TaskSpec
from flowtui.store import Store


class ManualClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def task_spec(task_id: str, operator: str = "PythonOperator", **fields: Any) -> TaskSpec:
    return TaskSpec(task_id, operator, **fields)


def dag_spec(
    dag_id: str, *tasks: TaskSpec, edges: Iterable[tuple[str, str]] = (), **fields: Any
) -> DagSpec:
    """A DAG spec as the loader would store it, dependencies given as (upstream, downstream)."""
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    for before, after in edges:
        down[before].append(after)
        up[after].append(before)
    specs = {
        t.task_id: dataclasses.replace(
            t, upstream=tuple(up[t.task_id]), downstream=tuple(down[t.task_id])
        )
        for t in tasks
    }
    return DagSpec(dag_id, f"/dags/{dag_id}.py", specs, **fields)


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated store file to copy: migrating one per test would cost most of its time."""
    path = tmp_path_factory.mktemp("template") / "flowtui.db"
    Store(path).close()
    return path


def open_copy(template: Path, folder: Path) -> Store:
    """A store opened on a copy of `template` in `folder`."""
    shutil.copyfile(template, folder / "flowtui.db")
    store = Store(folder / "flowtui.db")
    # Durability against power loss is not under test; without it closing skips an fsync.
    store.conn.execute("PRAGMA synchronous = OFF")
    return store
