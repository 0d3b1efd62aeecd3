"""A terminal that vanishes without a hang-up signal (its pty's master closed by a program that
never made it the controlling terminal): the dashboard quits within a second or two instead of
reading end-of-file at 100% CPU for good, and its scheduler goes on in the background."""

from __future__ import annotations

import os
import subprocess

import psutil

from flowtui.commands.model import SchedulerStatus
from flowtui.errors import CommandRejected
from flowtui.scheduling.background import BackgroundScheduler, NoScheduler
from tests.conftest import Home, wait_until
from tests.e2e.test_failure_alert_pty import PtyOutput


def test_the_dashboard_quits_when_its_terminal_goes_and_the_scheduler_goes_on(
    home: Home,
) -> None:
    home.dags.mkdir(parents=True, exist_ok=True)
    home.write_dag(
        "one.py",
        "from flowtui import DAG, EmptyOperator\n"
        "with DAG('gone_e2e', schedule=None):\n    EmptyOperator(task_id='t')\n",
    )
    shown = PtyOutput(home)
    control = BackgroundScheduler(home.settings)
    try:
        wait_until(lambda: b"gone_e2e" in shown.output(), 30, what="the DAG list")
        scheduler = wait_until(
            lambda: isinstance(seen := control.probe(), SchedulerStatus) and seen,
            30,
            what="the dashboard's scheduler to answer",
        )
        os.close(shown.master)  # the terminal goes; no SIGHUP: it is not the controlling tty
        try:
            shown.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            cpu = psutil.Process(shown.process.pid).cpu_percent(interval=0.5)
            raise AssertionError(f"the dashboard outlived its terminal ({cpu:.0f}% CPU)") from None
        assert shown.process.returncode == 0
        still = control.probe()
        assert isinstance(still, SchedulerStatus)
        assert still.pid == scheduler.pid  # the scheduler it started goes on
    finally:
        if shown.process.poll() is None:
            os.killpg(shown.process.pid, 9)
            shown.process.wait()
        wait_until(lambda: _stopped(control), 30, what="the scheduler to stop")


def _stopped(control: BackgroundScheduler) -> bool:
    """Stop the scheduler; False while it does not answer yet (a loaded machine)."""
    try:
        control.stop()
    except NoScheduler:
        return True
    except CommandRejected:
        return False
    return True
