"""`flowtui scheduler`: the home's scheduler without a dashboard, in the foreground (systemd,
tmux) or, with `--detach`, in the background; `scheduler stop` and `scheduler status` for the
one that serves the home, whoever started it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from flowtui.cli.arguments import Group, add_command, add_output
from flowtui.cli.output import print_json
from flowtui.config import Settings
from flowtui.errors import CommandRejected

if TYPE_CHECKING:
    from flowtui.commands.model import SchedulerStatus


def register(top: Group, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        top, "scheduler", _scheduler, "run the scheduler without the dashboard", common
    )
    parser.add_argument(
        "--detach",
        action="store_true",
        help="start it in the background (its output in <home>/logs/scheduler.log) and print "
        "its PID once it answers commands",
    )
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also print its log (runs started and ended, tasks failed, ...) on stderr",
    )
    group = parser.add_subparsers(title="scheduler commands", metavar="COMMAND")
    add_command(
        group, "stop", _stop, "stop the home's scheduler and its running tasks; wait", common
    )
    status = add_command(
        group, "status", _status, "which process serves the home, since when, what runs", common
    )
    add_output(status)


def _scheduler(args: argparse.Namespace, settings: Settings) -> int:
    if args.detach:
        if args.verbose:
            raise CommandRejected(
                "--verbose prints the log of a scheduler in the foreground; a detached "
                "scheduler's output is its log (<home>/logs/scheduler.log): leave one out"
            )
        return _detach(settings)
    import signal

    from flowtui.cli.home import warn_about_dags_folder
    from flowtui.scheduling.host import SchedulerHost, log_to_file

    log_to_file(settings, to_stderr=args.verbose)
    host = SchedulerHost(settings)
    host.acquire()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: host.request_stop())
    try:
        host.start()
    except BaseException:
        host.abort()
        raise
    print(f"flowtui scheduler: home {settings.home}, DAGs {settings.dags_folder}", flush=True)
    warn_about_dags_folder(settings)  # after the line that says it answers (scripts wait for it)
    failure = host.serve()
    if failure:  # systemd's Restart=on-failure starts another, which adopts the attempts
        print(f"flowtui: error: {failure}", file=sys.stderr)
        return 1
    return 0


def _detach(settings: Settings) -> int:
    from flowtui.scheduling.background import BackgroundScheduler

    scheduler = BackgroundScheduler(settings)
    pid = scheduler.start()
    print(
        f"flowtui scheduler: pid {pid} serves {settings.home} in the background "
        f"(log {scheduler.log_path}; `flowtui scheduler stop` stops it)"
    )
    return 0


def _stop(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.scheduling.background import BackgroundScheduler

    pid = BackgroundScheduler(settings).stop()
    print(f"flowtui scheduler: pid {pid} on {settings.home} stopped")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import SchedulerState, SchedulerStatus
    from flowtui.scheduling.background import BackgroundScheduler, NoScheduler

    seen = BackgroundScheduler(settings).probe()
    if args.output == "json":
        if isinstance(seen, SchedulerStatus):
            return print_json({"state": "running", **seen._asdict()})
        print_json({"state": str(seen), "home": str(settings.home)})
        return 1
    if isinstance(seen, SchedulerStatus):
        _print_status(seen)
        return 0
    if seen is SchedulerState.NOT_RUNNING:
        raise NoScheduler(settings.home)
    print(
        f"flowtui: the scheduler on {settings.home} is {seen}; it does not answer yet",
        file=sys.stderr,
    )
    return 1


def _print_status(status: SchedulerStatus) -> None:
    from flowtui.clock import parse_datetime, utcnow

    started = parse_datetime(status.started_at)
    minutes = int((utcnow() - started).total_seconds()) // 60
    for name, value in (
        ("pid", status.pid),
        ("since", f"{started:%Y-%m-%d %H:%M:%S} UTC ({minutes // 60} h {minutes % 60} min ago)"),
        ("running", f"{status.running_attempts} task attempt(s)"),
        ("home", status.home),
        ("dags", status.dags_folder),
        ("executor", status.executor_text()),
    ):
        print(f"{name:<8} {value}")
