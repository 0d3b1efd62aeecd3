"""What every command group of the command line shares: how a group and a command are added to
the parser, the common options (`--home`, `--dags-folder`, `--output`, `--logical-date`,
`--conf`), and reading the values a user types (dates, a JSON conf) into one-line errors when
they are wrong."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from flowtui.config import Settings
from flowtui.errors import InvalidInput

if TYPE_CHECKING:
    from datetime import datetime

Handler = Callable[[argparse.Namespace, Settings], int]
Group = Any  # argparse's _SubParsersAction, which the standard library does not export
Commands = Callable[[Group, argparse.ArgumentParser], None]
"""Adds a group's commands to it (the group, the common options)."""


class CommandParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose content can be added when it is first used to parse: a group's
    commands are made only when the command line names the group, so that one command does not
    pay for building every other command's parser (about half of which is argparse looking
    for translations of its own words). Its subparsers are of this class too."""

    _fill: Callable[[], None] | None = None

    def fill_on_use(self, fill: Callable[[], None]) -> None:
        self._fill = fill

    def parse_known_args(  # type: ignore[override]  # typeshed's overloads; same signature
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._fill is not None:
            fill, self._fill = self._fill, None
            fill()
        return super().parse_known_args(args, namespace)


def common_options() -> argparse.ArgumentParser:
    """`--home` and `--dags-folder`, accepted before or after any command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help="state directory (default $FLOWTUI_HOME or ~/.flowtui)",
    )
    common.add_argument("--dags-folder", default=argparse.SUPPRESS, help="folder of DAG files")
    return common


def add_group(
    top: Group, name: str, help_text: str, commands: Commands, common: argparse.ArgumentParser
) -> None:
    """`flowtui NAME COMMAND`: a group of commands, one of which must be given. `commands` adds
    them once the command line names the group (`top` is a `CommandParser`'s subparsers)."""
    parser: CommandParser = top.add_parser(name, help=help_text)

    def fill() -> None:
        group = parser.add_subparsers(title=f"{name} commands", metavar="COMMAND", required=True)
        commands(group, common)

    parser.fill_on_use(fill)


def add_command(
    group: Group, name: str, handler: Handler, help_text: str, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help_text)
    sub.set_defaults(handler=handler)
    return sub


def add_output(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--output", choices=["table", "json"], default="table")


def add_logical_date(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--logical-date", help="ISO date or datetime (default: now)")


def add_conf(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--conf", help="run configuration as a JSON object")


def date_argument(text: str | None) -> datetime | None:
    """`--logical-date`: a date or ISO datetime (naive means UTC), or None."""
    from flowtui.commands.model import user_date

    return None if text is None else user_date(text)


def conf_argument(text: str | None) -> dict[str, Any] | None:
    """`--conf`: a JSON object, or None."""
    if text is None:
        return None
    import json

    try:
        conf = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("--conf", text, f"it must be a JSON object ({exc.msg})") from None
    if not isinstance(conf, dict):
        raise InvalidInput("--conf", text, 'it must be a JSON object, e.g. {"day": "mon"}')
    return conf
