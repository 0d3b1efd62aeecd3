"""The `flowtui` command line (DESIGN.md): the parser, made of one module per command group,
and the one place errors become messages. argparse rather than click: it is in the standard
library and imports in a few milliseconds, and start-up time is part of `dags test`'s budget.
Every error a user can cause ends as one `flowtui: error: ...` line on stderr, exit code 1."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from flowtui.cli import crontab, dags, dashboard, logs, runs, scheduler, tasks, variables
from flowtui.cli.arguments import Handler, common_options
from flowtui.config import load_settings
from flowtui.errors import FlowtuiError


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(getattr(args, "home", None), getattr(args, "dags_folder", None))
        # Tasks (and the fork server) learn the home from the environment, like DAG code does.
        os.environ["FLOWTUI_HOME"] = str(settings.home)
        handler: Handler = getattr(args, "handler", dashboard.run)
        return handler(args, settings)
    except FlowtuiError as exc:
        print(f"flowtui: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of our output went away (`| head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: the traceback goes to a file, the user gets one line
        where = _log_crash(args)
        print(
            f"flowtui: error: unexpected {type(exc).__name__}: {exc} (traceback in {where})",
            file=sys.stderr,
        )
        return 1


def _log_crash(args: argparse.Namespace) -> str:
    import tempfile
    import traceback

    try:
        folder = load_settings(
            getattr(args, "home", None), getattr(args, "dags_folder", None)
        ).logs_dir
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except Exception:
        folder = Path(tempfile.gettempdir())
    path = folder / "flowtui-crash.log"
    with path.open("a") as file:
        traceback.print_exc(file=file)
    return str(path)


def _parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="flowtui",
        parents=[common],
        description="Airflow-style DAGs on one machine. Without a command: the dashboard.",
    )
    top = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in (scheduler, dags, runs, tasks, logs, crontab, variables):
        group.register(top, common)
    return parser


if __name__ == "__main__":
    sys.exit(main())
