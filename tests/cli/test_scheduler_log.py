"""What `flowtui scheduler` says about its runs: one line per run started and ended and per
failed attempt, in `logs/scheduler.log` and, with `-v`, on stderr too; and the old logs it
removes with `log_retention_days`, keeping every run's history and an unfinished attempt's
log. Real schedulers, real `dags test` runs."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from flowtui.store import reads
from tests.conftest import FLOWTUI, Home, wait_until

FLAKY = """
    from datetime import datetime, timedelta
    from flowtui import DAG, BashOperator
    with DAG("flaky", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        BashOperator(task_id="boom", bash_command="exit 3", retries=1,
                     retry_delay=timedelta(seconds=0))
"""


def test_runs_and_failures_are_one_line_each_in_the_log_and_with_v_on_stderr(home: Home) -> None:
    home.write_dag("flaky.py", FLAKY)
    process = subprocess.Popen(
        [FLOWTUI, "scheduler", "-v"],
        env=home.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("flowtui scheduler:")
        home.run("dags", "trigger", "flaky", check=True)
        run_id = wait_until(lambda: home.latest_run_id("flaky") if _has_run(home) else None)
        wait_until(lambda: home.runs_show("flaky", run_id)["state"] == "failed", what="failure")
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    expected = [
        f"INFO flowtui.scheduling.activity_log: run {run_id} of DAG flaky started",
        f"WARNING flowtui.scheduling.activity_log: task boom of DAG flaky, run {run_id}, try 1 "
        "failed, up for retry: bash exited with code 3",
        f"WARNING flowtui.scheduling.activity_log: task boom of DAG flaky, run {run_id}, try 2 "
        "failed: bash exited with code 3",
        f"INFO flowtui.scheduling.activity_log: run {run_id} of DAG flaky ended: failed",
    ]
    log = (home.path / "logs" / "scheduler.log").read_text()
    for text in (log, err):
        lines = [line.split(" ", 2)[2] for line in text.splitlines() if "activity_log" in line]
        assert lines == expected, text


def _has_run(home: Home) -> bool:
    store = home.store()
    try:
        return bool(store.conn.execute("SELECT COUNT(*) FROM dag_runs").fetchone()[0])
    finally:
        store.close()


def test_log_retention_removes_old_logs_and_keeps_history_and_unfinished_ones(
    home: Home,
) -> None:
    home.write_dag(
        "two.py",
        """
        from datetime import datetime
        from flowtui import DAG, BashOperator
        with DAG("done", start_date=datetime(2024, 1, 1)) as done:
            BashOperator(task_id="say", bash_command="echo said")
        with DAG("slow", start_date=datetime(2024, 1, 1)) as slow:
            BashOperator(task_id="wait", bash_command="echo waiting; sleep 60")
        """,
    )
    home.run("dags", "test", "done", "--logical-date", "2024-03-01", check=True)
    running = subprocess.Popen(  # drives its run itself; the scheduler leaves it alone
        [FLOWTUI, "dags", "test", "slow"],
        env=home.env,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    scheduler: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: _has_run(home) and _running_log(home), what="slow's attempt to log")
        three_days_ago = time.time() - 3 * 86400
        for folder, _dirs, files in os.walk(home.path / "logs"):
            for name in files:  # scheduler.log and the fork server's logs too: they stay
                os.utime(os.path.join(folder, name), (three_days_ago, three_days_ago))
        home.configure(log_retention_days=1)
        scheduler = home.start("scheduler")
        assert scheduler.stdout is not None
        assert scheduler.stdout.readline().startswith("flowtui scheduler:")
        scheduler_log = home.path / "logs" / "scheduler.log"
        wait_until(lambda: "(log_retention_days)" in scheduler_log.read_text(), what="a pass")
        assert "removed 2 file(s) under logs/ not written to in 1 day(s)" in (
            scheduler_log.read_text()
        )
        assert sorted(p.name for p in (home.path / "logs").iterdir()) == [
            "dag_processor.log",
            "executor.log",
            "scheduler.log",
            "slow",
        ]
        assert _running_log(home)  # the attempt still runs: its log stays
        run_id = home.latest_run_id("done")
        assert home.task_state("done", run_id, "say") == "success"
        store = home.store()
        assert [a["try_number"] for a in reads.attempts(store.conn, "done", run_id)] == [1]
        store.close()
        gone = home.run("logs", "done", "latest", "say")
        assert gone.returncode == 1
        assert "log_retention_days removed it" in gone.stderr
    finally:
        running.send_signal(signal.SIGINT)
        running.wait(timeout=30)
        if scheduler is not None:
            scheduler.terminate()
            output, _ = scheduler.communicate(timeout=30)
            assert "activity_log" not in output  # without -v, the log alone has those lines


def _running_log(home: Home) -> bool:
    return any((home.path / "logs" / "slow").glob("*/wait/attempt=1.log"))
