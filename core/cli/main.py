"""The `flowtui` command line (DESIGN.md): the parser, made of one module per command group,
and the one place errors become messages. argparse rather than click: it is in the standard
library and imports in a few milliseconds, and start-up time is part of `dags test`'s budget.
Every error a user can cause ends as one `flowtui: error: ...` line on stderr, exit code 1."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from flowtui.cli import crontab, dags, dashboard, logs, pools, runs, scheduler, tasks, variables
from flowtui.cli.arguments import CommandParser, Handler, common_options
from flowtui.cli.crash import save_traceback
from flowtui.config import Settings, keep_files_private, load_settings
from flowtui.errors import FlowtuiError


def main(argv: Sequence[str] | None = None) -> int:
    keep_files_private()  # first: every file and folder made from here on is the user's alone
    args = _parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings(getattr(args, "home", None), getattr(args, "dags_folder", None))
        for warning in settings.config_warnings:
            print(f"flowtui: warning: {warning}", file=sys.stderr)
        # Tasks (and the fork server) learn the home from the environment, like DAG code does.
        os.environ["FLOWTUI_HOME"] = str(settings.home)
        handler: Handler = getattr(args, "handler", _dashboard)
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
        problem = _store_problem(exc, settings)
        if problem is not None:
            print(f"flowtui: error: {problem}", file=sys.stderr)
            return 1
        where = save_traceback(getattr(args, "home", None))
        print(f"flowtui: error: unexpected {type(exc).__name__}: {exc} ({where})", file=sys.stderr)
        return 1


def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    """The dashboard, on a home known to be usable: a bad home must be one line on the
    terminal, said before the dashboard takes the screen (where the line would be lost) or a
    scheduler starts on it in the background (where it would go to a log)."""
    from flowtui.store import Store

    settings.ensure_home()
    Store(settings.db_path).close()
    return dashboard.run(args, settings)


def _store_problem(exc: Exception, settings: Settings | None) -> FlowtuiError | None:
    """The one-line error for an SQLite error that the store file itself causes (found
    damaged after it opened, made read-only meanwhile); None for anything else."""
    sqlite3 = sys.modules.get("sqlite3")  # not imported by us unless a command used SQLite
    if settings is None or sqlite3 is None or not isinstance(exc, sqlite3.DatabaseError):
        return None
    from flowtui.store.schema import store_error

    return store_error(settings.db_path, exc)


def _parser() -> CommandParser:
    common = common_options()
    parser = CommandParser(
        prog="flowtui",
        parents=[common],
        description="Airflow-style DAGs on one machine. Without a command: the dashboard.",
    )
    top = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in (scheduler, dags, runs, tasks, logs, crontab, variables, pools):
        group.register(top, common)
    return parser


if __name__ == "__main__":
    sys.exit(main())
