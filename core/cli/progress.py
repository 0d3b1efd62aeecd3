"""What the foreground commands print while their runs go on: `dags test` prints every state
change and, as they are written, the log lines of the attempts that run; `dags backfill` keeps
a progress line (one line per finished run when not on a terminal) and ends with a summary."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from flowtui.config import Settings
from flowtui.scheduling.active_run import RunKey
from flowtui.scheduling.changes import Change, RunStateChanged, TaskStateChanged
from flowtui.states import RUN_FINISHED, RunState, TaskState

if TYPE_CHECKING:
    from flowtui.scheduling.backfill import BackfillReport


class RunPrinter:
    """Prints one run's state changes (from the scheduler's listener) and new log lines (by
    tailing the files of attempts that run, on a thread) as they happen."""

    def __init__(self, settings: Settings, run: RunKey, out: TextIO) -> None:
        self.settings, self.run, self.out = settings, run, out
        self._tails: dict[str, tuple[str, int]] = {}
        """task id -> (log of its live attempt, bytes printed so far)."""
        self._second = -1
        self._clock_text = ""
        """The time of day printed with a change, made once per second (not once a change)."""
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

    def write(self, text: str) -> None:
        with self._lock, self._output():
            self.out.write(text)
            self.out.flush()

    def on_changes(self, changes: list[Change]) -> None:
        """Print the run's task state changes; the tail thread flushes them (within 0.05 s)
        and `write` does at the end, so a batch costs no write of its own to the terminal."""
        run_id = self.run.run_id
        mine = [c for c in changes if isinstance(c, TaskStateChanged) and c.run_id == run_id]
        if not mine:
            return
        second = int(time.time())
        if second != self._second:
            self._second, self._clock_text = (
                second,
                time.strftime("%H:%M:%S", time.localtime(second)),
            )
        with self._lock, self._output():
            for change in mine:
                self._print_change(change)

    @contextlib.contextmanager
    def _output(self) -> Iterator[None]:
        """Printing to a reader that went away (`| head`) stops the printing, not the run."""
        try:
            yield
        except BrokenPipeError:
            self.out = open(os.devnull, "w")  # noqa: SIM115 -- lives as long as the printer

    def _print_change(self, change: TaskStateChanged) -> None:
        task_id = change.task_id
        if change.map_index >= 0:  # a mapped task's instance, as Airflow writes it
            task_id = f"{task_id}[{change.map_index}]"
        if change.old is TaskState.RUNNING and task_id in self._tails:
            self._tail(task_id)  # the attempt's last lines before the state it ended in
            del self._tails[task_id]
        self.width = max(self.width, len(task_id))
        detail = f"  ({change.detail})" if change.detail else ""
        self.out.write(
            f"{self._clock_text} {task_id:<{self.width}} {change.old} -> {change.new}{detail}\n"
        )
        if change.new is TaskState.QUEUED:
            dag_id, run_id = self.run
            path = self.settings.attempt_log_file(
                dag_id, run_id, change.task_id, change.try_number, change.map_index
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
            with open(path, "rb") as file:
                file.seek(offset)
                data = file.read()
        except OSError:
            return
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.decode(errors="replace").splitlines():
            self.out.write(f"  [{task_id}] {line}\n")
        self._tails[task_id] = (path, offset + len(complete))


class BackfillProgress:
    """A progress line on a terminal (one line per finished run elsewhere), then a summary."""

    def __init__(self, out: TextIO, total: int, report: BackfillReport) -> None:
        self.out, self.total, self.report = out, total, report
        self.tty = out.isatty()

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if not isinstance(change, RunStateChanged) or change.new not in RUN_FINISHED:
                continue
            ok = change.new is RunState.SUCCESS
            (self.report.succeeded if ok else self.report.failed).append(change.run_id)
            if not self.tty:
                self.out.write(f"{change.run_id}: {change.new}\n")
        self._draw()

    def _draw(self) -> None:
        finished = len(self.report.succeeded) + len(self.report.failed)
        if not self.tty:
            self.out.flush()
            return
        width = 30
        filled = width * finished // max(self.total, 1)
        bar = "█" * filled + "░" * (width - filled)
        self.out.write(
            f"\r[{bar}] {finished}/{self.total} runs  ✔ {len(self.report.succeeded)}"
            f"  ✘ {len(self.report.failed)} "
        )
        self.out.flush()

    def finish(self, dag_id: str) -> None:
        """End the progress line and print what happened."""
        report = self.report
        if self.tty and self.total:
            self.out.write("\n")
        self.out.write(
            f"backfill of {dag_id}: {report.intervals} interval(s); {len(report.succeeded)} "
            f"succeeded, {len(report.failed)} failed, {len(report.skipped)} skipped "
            f"(had succeeded)"
        )
        if report.left_failed:
            count = len(report.left_failed)
            self.out.write(f", {count} left failed (rerun them with --rerun-failed)")
        self.out.write("\n")
        self.out.flush()
