"""`flowtui crontab import`: a DAG file per crontab entry (see `flowtui.crontab`)."""

from __future__ import annotations

import argparse

from flowtui.cli.arguments import Group, add_command, add_group
from flowtui.config import Settings


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_group(top, "crontab", "turn a crontab into DAGs", _commands, common)


def _commands(crontab: Group, common: argparse.ArgumentParser) -> None:
    """`flowtui crontab COMMAND`'s parsers; made only when the command line names the group."""
    sub = add_command(crontab, "import", _import, "write a DAG file per crontab entry", common)
    sub.add_argument("file", nargs="?", default="-", help="crontab file, or - for stdin")
    sub.add_argument("--into", metavar="DIR", help="folder to write to (default: DAG folder)")
    sub.add_argument("--skip-invalid", action="store_true", help="import the lines that can be")
    sub.add_argument("--force", action="store_true", help="overwrite existing DAG files")


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.config import restore_user_umask
    from flowtui.crontab.writer import import_crontab

    restore_user_umask()  # DAG files are the user's, not private to flowtui like its home
    return import_crontab(
        args.file, args.into, settings, skip_invalid=args.skip_invalid, force=args.force
    )
