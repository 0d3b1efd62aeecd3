"""Foreground runs for the command line: `dags test` (one whole run, state changes and log
lines streamed as they happen) and `tasks test` (one task, here, recording nothing)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from flowtui.clock import to_text, utcnow
from flowtui.config import Settings
from flowtui.errors import DagNotFound, RunNotFound
from flowtui.execution.local.executor import LocalExecutor
from flowtui.execution.logs import attempt_log_path
from flowtui.scheduling.service import Scheduler
from flowtui.states import RunState
from flowtui.store import reads


def run_dag_test(
    settings: Settings,
    dag_id: str,
    logical_date: datetime | None,
    conf: dict[str, Any] | None,
    out: TextIO = sys.stdout,
    executor: LocalExecutor | None = None,
) -> RunState:
    """Run DAG `dag_id` once in this process, print progress, return the run's final state."""
    scheduler = Scheduler(settings, actor="dags-test", executor=executor)
    scheduler.open()
    assert scheduler.store is not None
    logical = logical_date or utcnow()
    run_id = f"test__{logical.isoformat()}"
    with scheduler.store.transaction() as conn:
        spec = reads.dag_spec(conn, dag_id)
        active = {d["dag_id"] for d in reads.dags(conn)}
        if spec is None or dag_id not in active:
            scheduler.executor.stop()
            raise DagNotFound(dag_id, settings.dags_folder)
        if reads.run(conn, dag_id, run_id) is not None:
            # Testing the same logical date again replaces the earlier test run, as in Airflow.
            for table in ("dag_runs", "task_instances", "attempts", "xcom"):
                conn.execute(
                    f"DELETE FROM {table} WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
                )
        scheduler.book.create_run(
            conn, spec, run_id, "test", logical, conf=conf, runner_pid=os.getpid()
        )
    scheduler.only_runs = {(dag_id, run_id)}
    printer = _Printer(settings, dag_id, run_id, out)
    scheduler.add_listener(printer.on_changes)
    previous = {
        s: signal.signal(s, lambda *_: scheduler.request_stop())
        for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        scheduler.start()
        printer.start()
        scheduler.serve(until=lambda: scheduler.is_done(dag_id, run_id))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        printer.stop()
    from flowtui.store import Store

    store = Store(settings.db_path)
    row = reads.run(store.conn, dag_id, run_id)
    store.close()
    if row is None:
        raise RunNotFound(dag_id, run_id)
    state = RunState(row["state"])
    with contextlib.suppress(BrokenPipeError):
        out.write(f"run {run_id}: {state}\n")
    return state


class _Printer:
    """Prints state changes (from the scheduler's listener) and new log lines (by tailing the
    files of attempts that run, on a thread) as they happen."""

    def __init__(self, settings: Settings, dag_id: str, run_id: str, out: TextIO) -> None:
        self.settings, self.dag_id, self.run_id, self.out = settings, dag_id, run_id, out
        self._tails: dict[str, tuple[Path, int]] = {}
        """task id -> (log of its live attempt, bytes printed so far)."""
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._tail_loop, name="flowtui-log-tail", daemon=True
        )
        self.width = 12

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock, self._output():
            for task_id in list(self._tails):
                self._tail(task_id)

    def on_changes(self, changes: list[dict[str, Any]]) -> None:
        with self._lock, self._output():
            for change in changes:
                if change["kind"] == "task_state" and change["run_id"] == self.run_id:
                    self._print_change(change)
            self.out.flush()

    @contextlib.contextmanager
    def _output(self) -> Iterator[None]:
        """Printing to a reader that went away (`| head`) stops the printing, not the run."""
        try:
            yield
        except BrokenPipeError:
            self.out = open(os.devnull, "w")  # noqa: SIM115 -- lives as long as the printer

    def _print_change(self, change: dict[str, Any]) -> None:
        task_id = change["task_id"]
        if change["old_state"] == "running" and task_id in self._tails:
            self._tail(task_id)  # the attempt's last lines before the state it ended in
            del self._tails[task_id]
        self.width = max(self.width, len(task_id))
        detail = f"  ({change['detail']})" if change.get("detail") else ""
        self.out.write(
            f"{time.strftime('%H:%M:%S')} {task_id:<{self.width}} "
            f"{change['old_state']} -> {change['new_state']}{detail}\n"
        )
        if change["new_state"] == "queued":
            path = attempt_log_path(
                self.settings.logs_dir, self.dag_id, self.run_id, task_id, change["try_number"]
            )
            self._tails[task_id] = (path, 0)

    def _tail_loop(self) -> None:
        while not self._done.wait(0.05):
            with self._lock, self._output():
                for task_id in list(self._tails):
                    self._tail(task_id)
                self.out.flush()

    def _tail(self, task_id: str) -> None:
        """Print the complete lines added to a live attempt's log since the last look."""
        path, offset = self._tails[task_id]
        try:
            with path.open("rb") as file:
                file.seek(offset)
                data = file.read()
        except OSError:
            return
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.decode(errors="replace").splitlines():
            self.out.write(f"  [{task_id}] {line}\n")
        self._tails[task_id] = (path, offset + len(complete))


def run_task_test(
    settings: Settings, dag_id: str, task_id: str, logical_date: datetime | None
) -> str:
    """Run one task here, with no dependencies and no state recorded, as Airflow's
    `tasks test` does; returns the outcome's state."""
    from flowtui.execution.task_runner import AttemptInfo, bash_invocation, run_task
    from flowtui.loading.dag_file import import_dag_file

    fileloc = _dag_file(settings, dag_id)
    if str(settings.dags_folder) not in sys.path:
        sys.path.insert(0, str(settings.dags_folder))
    dags = {d.dag_id: d for d in import_dag_file(Path(fileloc))}
    if dag_id not in dags:
        raise DagNotFound(dag_id, settings.dags_folder)
    dag = dags[dag_id]
    dag.get_task(task_id)
    logical = logical_date or utcnow()
    info = AttemptInfo(
        dag_id=dag_id,
        task_id=task_id,
        run_id=f"tasks_test__{logical.isoformat()}",
        try_number=1,
        max_tries=0,
        logical_date=to_text(logical),
        data_interval_start=to_text(logical),
        data_interval_end=to_text(logical),
        run_type="test",
        conf={},
        db_path=str(settings.db_path),
    )
    if getattr(dag.get_task(task_id), "bash_command", None) is not None:
        import subprocess

        argv, env, cwd = bash_invocation(dag, info)
        code = subprocess.run(argv, env=env, cwd=cwd, check=False).returncode
        return "success" if code == 0 else "skipped" if code == 99 else "failed"
    outcome = run_task(dag, info)
    if outcome.error:
        print(f"task {task_id}: {outcome.error}", file=sys.stderr)
    return outcome.state


def _dag_file(settings: Settings, dag_id: str) -> str:
    """The file defining `dag_id`: from the store when known, else by parsing the folder."""
    from flowtui.loading.loader import parse_folder_once
    from flowtui.store import Store

    settings.ensure_home()
    store = Store(settings.db_path)
    row = reads.dag(store.conn, dag_id)
    if row is not None and row["is_active"] and Path(row["fileloc"]).exists():
        return str(row["fileloc"])
    for result in parse_folder_once(settings):
        if any(s.dag_id == dag_id for s in result.specs):
            return result.path
    raise DagNotFound(dag_id, settings.dags_folder)
