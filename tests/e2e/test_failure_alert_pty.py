"""End to end: the real `flowtui` in a pseudo-terminal, its output read from the master side
byte for byte. A task that fails while the dashboard is open rings the bell and writes the
desktop-notification escapes (OSC 9, OSC 777) once per failed attempt; `[dashboard] notify =
false` writes none."""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator

import pytest

from flowtui.scheduling.background import BackgroundScheduler, NoScheduler
from tests.conftest import FLOWTUI, Home, wait_until

FAILING = """
    from datetime import datetime, timedelta
    from flowtui import DAG, PythonOperator

    def boom():
        raise RuntimeError("the disk is full")

    with DAG("alert_e2e", start_date=datetime(2024, 1, 1)) as dag:
        PythonOperator(task_id="boom", python_callable=boom, retries=1,
                       retry_delay=timedelta(seconds=0))
"""

OSC9 = b"\x1b]9;flowtui: alert_e2e.boom "
OSC777 = b"\x1b]777;notify;flowtui;alert_e2e.boom "


class PtyOutput:
    """`flowtui` on a fresh 80x24 pseudo-terminal; everything it writes, kept."""

    def __init__(self, home: Home) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**home.env, "TERM": "xterm-256color", "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [FLOWTUI], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.data = bytearray()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.data += chunk

    def output(self) -> bytes:
        with self._lock:
            return bytes(self.data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, b"\x04")  # ctrl+d: quit, the scheduler goes on
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        os.close(self.master)


@pytest.fixture
def dashboard(home: Home) -> Iterator[PtyOutput]:
    home.dags.mkdir(parents=True, exist_ok=True)
    home.write_dag("failing.py", FAILING)
    shown = PtyOutput(home)
    try:
        yield shown
    finally:
        shown.close()
        with contextlib.suppress(NoScheduler):
            BackgroundScheduler(home.settings).stop()


def _trigger_when_loaded(home: Home) -> None:
    wait_until(
        lambda: home.run("dags", "trigger", "alert_e2e").returncode == 0,
        30,
        interval=0.3,
        what="the dashboard's scheduler to load and trigger alert_e2e",
    )


def test_each_failed_attempt_rings_and_notifies_once(home: Home, dashboard: PtyOutput) -> None:
    wait_until(lambda: b"alert_e2e" in dashboard.output(), 30, what="the DAG list")
    _trigger_when_loaded(home)
    run_id = home.latest_run_id("alert_e2e")
    wait_until(
        lambda: home.task_state("alert_e2e", run_id, "boom") == "failed",
        30,
        what="both tries of boom to fail",
    )
    wait_until(lambda: dashboard.output().count(OSC9) >= 2, 10, what="two notifications")
    time.sleep(1.5)  # several more refreshes of the dashboard: nothing is announced again
    output = dashboard.output()
    assert output.count(OSC9) == 2
    assert output.count(OSC777) == 2
    assert output.count(OSC9 + b"failed, will retry") == 1
    assert output.count(OSC9 + b"failed (" + run_id.encode()) == 1
    assert b"RuntimeError: the disk is full\x07" in output
    assert output.count(b"\x07" + OSC9) == 2  # the bell first


def test_notify_false_writes_no_alert(home: Home) -> None:
    home.path.mkdir(parents=True, exist_ok=True)
    (home.path / "flowtui.toml").write_text("[dashboard]\nnotify = false\n")
    home.dags.mkdir(parents=True, exist_ok=True)
    home.write_dag("failing.py", FAILING)
    quiet = PtyOutput(home)
    try:
        wait_until(lambda: b"alert_e2e" in quiet.output(), 30, what="the DAG list")
        _trigger_when_loaded(home)
        run_id = home.latest_run_id("alert_e2e")
        wait_until(
            lambda: home.task_state("alert_e2e", run_id, "boom") == "failed",
            30,
            what="both tries of boom to fail",
        )
        time.sleep(1.5)
        output = quiet.output()
        assert OSC9 not in output
        assert OSC777 not in output
    finally:
        quiet.close()
        with contextlib.suppress(NoScheduler):
            BackgroundScheduler(home.settings).stop()
