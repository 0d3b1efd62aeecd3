"""`flowtui variables get|set|list|delete`. Reads come from the store (the environment's
`FLOWTUI_VAR_<KEY>` wins, as in tasks); changes are commands, so that each is audited."""

from __future__ import annotations

import argparse
import json
import os
import sys

from flowtui.cli.arguments import Group, add_command, add_group, add_output
from flowtui.cli.home import open_store, send
from flowtui.cli.output import one_line, print_json, print_table
from flowtui.config import Settings
from flowtui.errors import InvalidInput


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_group(top, "variables", "get, set, list and delete variables", _commands, common)


def _commands(verbs: Group, common: argparse.ArgumentParser) -> None:
    """`flowtui variables COMMAND`'s parsers; made only when the command line names the group."""
    sub = add_command(verbs, "get", _get, "print a variable (FLOWTUI_VAR_<KEY> wins)", common)
    sub.add_argument("key")
    sub.add_argument("--json", action="store_true", help="parse it as JSON and pretty-print it")
    sub = add_command(verbs, "set", _set, "store a variable", common)
    sub.add_argument("key")
    sub.add_argument("value")
    sub.add_argument("--json", action="store_true", help="refuse VALUE unless it is JSON")
    sub.add_argument("--description", help="what the variable is for")
    add_output(add_command(verbs, "list", _list, "stored variables; secret values masked", common))
    sub = add_command(verbs, "delete", _delete, "remove a variable from the store", common)
    sub.add_argument("key")


def _get(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.authoring.variables import Variable, configure
    from flowtui.errors import VariableNotJson

    configure(settings.db_path)
    text: str = Variable.get(args.key)
    if not args.json:
        print(text)
        return 0
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VariableNotJson(args.key, exc.msg) from None
    return print_json(value)


def _set(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import SetVariable
    from flowtui.store import variables

    key = variables.check_key(args.key)
    if args.json:
        try:
            json.loads(args.value)
        except json.JSONDecodeError as exc:
            raise InvalidInput("VALUE", args.value, f"--json needs JSON ({exc.msg})") from None
    send(settings, SetVariable(key, args.value, args.description))
    print(f"variable {key} set")
    if variables.env_name(key) in os.environ:
        print(f"note: {variables.env_name(key)} is set here and overrides it", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import variables

    with open_store(settings) as store:
        found = variables.overview(store.conn, os.environ)
    rows = [
        {
            "key": row.key,
            "value": row.shown_value(),
            "description": row.description,
            "env_override": row.env_override,
        }
        for row in found
    ]
    if args.output == "json":
        return print_json(rows)
    short = {"value": lambda v: one_line(v, 60), "description": lambda v: one_line(v, 40)}
    print_table(rows, ["key", "value", "description", "env_override"], short)
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import DeleteVariable
    from flowtui.errors import VariableNotStored
    from flowtui.store import variables

    if variables.env_name(args.key) in os.environ:
        with open_store(settings) as store:
            stored = variables.read(store.conn, args.key) is not None
        if not stored:  # name where it does come from
            raise VariableNotStored(args.key, env_set=True)
    send(settings, DeleteVariable(args.key))
    print(f"variable {args.key} deleted")
    return 0
