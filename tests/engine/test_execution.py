"""Attempts in child processes, through the real `flowtui dags test`: retries with backoff,
timeouts that kill a task ignoring SIGTERM, crashes, non-JSON returns, skip/fail signals,
the parallelism bound, and private files."""

from __future__ import annotations

import stat
from datetime import datetime
from pathlib import Path

import psutil

from flowtui.store import reads
from tests.conftest import Home


def _attempts(home: Home, dag_id: str, task_id: str) -> list[dict[str, object]]:
    store = home.store()
    run = reads.run(store.conn, dag_id)
    assert run is not None
    rows = reads.attempts(store.conn, dag_id, run["run_id"], task_id)
    store.close()
    return rows


def _gap(earlier: dict[str, object], later: dict[str, object]) -> float:
    end = datetime.fromisoformat(str(earlier["end_date"]))
    return (datetime.fromisoformat(str(later["start_date"])) - end).total_seconds()


def test_retries_with_exponential_backoff_and_cap(home: Home) -> None:
    home.write_dag(
        "retry.py",
        """
        from datetime import datetime, timedelta
        from flowtui import DAG, PythonOperator

        def third_time_lucky(ti):
            if ti.try_number < 3:
                raise RuntimeError(f"try {ti.try_number} fails")

        with DAG("retry", start_date=datetime(2024, 1, 1)) as dag:
            PythonOperator(task_id="doubling", python_callable=third_time_lucky, retries=2,
                           retry_delay=timedelta(seconds=0.3), retry_exponential_backoff=True)
            PythonOperator(task_id="capped", python_callable=third_time_lucky, retries=2,
                           retry_delay=0.3, retry_exponential_backoff=True, max_retry_delay=0.35)
    """,
    )
    done = home.run("dags", "test", "retry")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up_for_retry" in done.stdout
    shown = home.runs_show("retry")
    doubling = shown["tasks"]["doubling"]
    assert (doubling["state"], doubling["try_number"]) == ("success", 3)
    doubling = _attempts(home, "retry", "doubling")
    assert [a["state"] for a in doubling] == ["failed", "failed", "success"]
    # A retry never starts before its delay; how late it may start depends on the machine's
    # load, so only the lower bounds are asserted here (the delays themselves, backoff and
    # cap, are computed and checked in test_run_book.py's retry_delay cases).
    assert _gap(doubling[0], doubling[1]) >= 0.3
    assert _gap(doubling[1], doubling[2]) >= 0.6
    capped = _attempts(home, "retry", "capped")
    assert _gap(capped[1], capped[2]) >= 0.35
    assert "RuntimeError: try 1 fails" in str(doubling[0]["cause"])


def test_timeout_kills_a_task_that_ignores_sigterm(home: Home, tmp_path: Path) -> None:
    home.configure(task_kill_grace_seconds=0.5)
    pid_file = tmp_path / "pid"
    home.write_dag(
        "stubborn.py",
        f"""
        import os, signal, time
        from datetime import datetime
        from flowtui import DAG, PythonOperator, BashOperator

        def stubborn():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)

        with DAG("stubborn", start_date=datetime(2024, 1, 1)) as dag:
            PythonOperator(task_id="ignores_term", python_callable=stubborn,
                           execution_timeout=0.5)
            BashOperator(task_id="bash_sleeps", bash_command="sleep 60", execution_timeout=0.5)
    """,
    )
    done = home.run("dags", "test", "stubborn", timeout=30)
    assert done.returncode == 1
    shown = home.runs_show("stubborn")
    assert shown["tasks"]["ignores_term"]["state"] == "failed"
    assert shown["tasks"]["bash_sleeps"]["state"] == "failed"
    cause = str(_attempts(home, "stubborn", "ignores_term")[0]["cause"])
    assert "execution_timeout of 0.5 s exceeded" in cause
    assert "SIGKILL" in cause
    assert "SIGTERM" in str(_attempts(home, "stubborn", "bash_sleeps")[0]["cause"])
    pid = int(pid_file.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    log = next((home.path / "logs" / "stubborn").rglob("ignores_term/attempt=1.log"))
    assert "execution_timeout" in log.read_text()


def test_crashes_and_bad_returns_fail_with_the_cause(home: Home) -> None:
    home.write_dag(
        "crashes.py",
        """
        import os, signal
        from datetime import datetime
        from flowtui import DAG, PythonOperator, SkipTask, FailTask

        def exits():
            os._exit(3)

        def killed():
            os.kill(os.getpid(), signal.SIGKILL)

        def returns_a_set():
            return {1, 2}

        def skips():
            raise SkipTask("nothing to do today")

        def fails_for_good():
            raise FailTask("bad input, retrying is pointless")

        with DAG("crashes", start_date=datetime(2024, 1, 1)) as dag:
            for f in (exits, killed, returns_a_set, skips):
                PythonOperator(task_id=f.__name__, python_callable=f)
            PythonOperator(task_id="fails_for_good", python_callable=fails_for_good, retries=3)
    """,
    )
    done = home.run("dags", "test", "crashes")
    assert done.returncode == 1
    tasks = home.runs_show("crashes")["tasks"]
    assert tasks["exits"]["state"] == "failed"
    assert tasks["killed"]["state"] == "failed"
    assert tasks["returns_a_set"]["state"] == "failed"
    assert tasks["skips"]["state"] == "skipped"
    assert (tasks["fails_for_good"]["state"], tasks["fails_for_good"]["try_number"]) == (
        "failed",
        1,
    )
    assert "exited with code 3" in str(_attempts(home, "crashes", "exits")[0]["cause"])
    assert "SIGKILL" in str(_attempts(home, "crashes", "killed")[0]["cause"])
    assert "'set'" in str(_attempts(home, "crashes", "returns_a_set")[0]["cause"])
    exits_log = next((home.path / "logs" / "crashes").rglob("exits/attempt=1.log"))
    assert "exited with code 3" in exits_log.read_text()


def test_parallelism_bounds_concurrent_attempts(home: Home) -> None:
    home.configure(parallelism=2)
    home.write_dag(
        "wide.py",
        """
        import time
        from datetime import datetime
        from flowtui import DAG, PythonOperator

        with DAG("wide", start_date=datetime(2024, 1, 1)) as dag:
            for i in range(6):
                PythonOperator(task_id=f"t{i}", python_callable=lambda: time.sleep(0.3))
    """,
    )
    assert home.run("dags", "test", "wide").returncode == 0
    spans = []
    for i in range(6):
        (attempt,) = _attempts(home, "wide", f"t{i}")
        spans.append(
            (
                datetime.fromisoformat(str(attempt["start_date"])),
                datetime.fromisoformat(str(attempt["end_date"])),
            )
        )
    overlap = max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)
    assert overlap == 2


def test_home_database_and_logs_are_private(home: Home) -> None:
    home.write_dag(
        "tiny.py",
        """
        from datetime import datetime
        from flowtui import DAG, BashOperator
        with DAG("tiny", start_date=datetime(2024, 1, 1)) as dag:
            BashOperator(task_id="hello", bash_command="echo hello")
    """,
    )
    assert home.run("dags", "test", "tiny").returncode == 0
    assert stat.S_IMODE(home.path.stat().st_mode) == 0o700
    assert stat.S_IMODE((home.path / "flowtui.db").stat().st_mode) == 0o600
    log = next((home.path / "logs" / "tiny").rglob("attempt=1.log"))
    assert "hello" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_a_dag_without_tasks_succeeds_at_once(home: Home) -> None:
    home.write_dag(
        "empty.py",
        """
        from datetime import datetime
        from flowtui import DAG
        with DAG("empty", start_date=datetime(2024, 1, 1)) as dag:
            pass
    """,
    )
    done = home.run("dags", "test", "empty", timeout=20)
    assert done.returncode == 0, done.stderr
    assert home.runs_show("empty")["state"] == "success"
