"""What `dags test` prints for state changes (RunPrinter), and where it looks for attempt logs."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flowtui.cli.progress import RunPrinter
from flowtui.config import Settings
from flowtui.scheduling.active_run import RunKey
from flowtui.scheduling.changes import RunStateChanged, TaskStateChanged
from flowtui.states import RunState, TaskState


def test_attempt_log_path_is_the_joined_path(tmp_path: Path) -> None:
    settings = Settings(tmp_path, tmp_path / "dags", "flag")
    path = settings.attempt_log_path("d", "manual__2024-01-01T00:00:00+00:00", "t", 3)
    expected = settings.logs_dir / "d" / "manual__2024-01-01T00:00:00+00:00" / "t" / "attempt=3.log"
    assert path == expected
    assert settings.attempt_log_file("d", "r", "t", 1) == str(
        settings.logs_dir / "d/r/t/attempt=1.log"
    )


def test_the_printer_prints_its_runs_task_changes_and_tails_their_logs(tmp_path: Path) -> None:
    settings = Settings(tmp_path, tmp_path / "dags", "flag")
    key = RunKey("d", "r")
    out = io.StringIO()
    printer = RunPrinter(settings, key, out)
    printer.on_changes(
        [
            RunStateChanged("d", "r", None, RunState.QUEUED),
            TaskStateChanged("d", "other", "x", 1, TaskState.NONE, TaskState.QUEUED),
            TaskStateChanged("d", "r", "a_long_task_id", 1, TaskState.NONE, TaskState.QUEUED),
        ]
    )
    log = settings.attempt_log_path("d", "r", "a_long_task_id", 1)
    log.parent.mkdir(parents=True)
    log.write_text("hello\npartial")
    printer.on_changes(
        [TaskStateChanged("d", "r", "a_long_task_id", 1, TaskState.QUEUED, TaskState.RUNNING)]
    )
    printer.on_changes([])
    printer.on_changes(
        [
            TaskStateChanged(
                "d", "r", "a_long_task_id", 1, TaskState.RUNNING, TaskState.FAILED, "exit 1"
            )
        ]
    )
    printer.stop()
    lines = out.getvalue().splitlines()
    stamp = r"\d\d:\d\d:\d\d"
    assert len(lines) == 4, lines
    assert re.fullmatch(rf"{stamp} a_long_task_id {TaskState.NONE} -> queued", lines[0])
    assert re.fullmatch(rf"{stamp} a_long_task_id queued -> running", lines[1])
    assert lines[2] == "  [a_long_task_id] hello"
    assert re.fullmatch(rf"{stamp} a_long_task_id running -> failed  \(exit 1\)", lines[3])
