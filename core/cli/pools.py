"""`flowtui pools list|set|delete`. The list reads the store (slots, the slots running attempts
hold, the task instances waiting); changes are commands, so that a running scheduler applies
them at once and each is audited."""

from __future__ import annotations

import argparse

from flowtui.cli.arguments import Group, add_command, add_group, add_output
from flowtui.cli.home import open_store, send
from flowtui.cli.output import one_line, print_json, print_table
from flowtui.config import Settings
from flowtui.errors import InvalidInput


def register(top: Group, common: argparse.ArgumentParser) -> None:
    add_group(top, "pools", "list, set and delete pools", _commands, common)


def _commands(verbs: Group, common: argparse.ArgumentParser) -> None:
    """`flowtui pools COMMAND`'s parsers; made only when the command line names the group."""
    add_output(add_command(verbs, "list", _list, "pools: slots, used, queued", common))
    sub = add_command(verbs, "set", _set, "create a pool or change its slots", common)
    sub.add_argument("name")
    sub.add_argument("slots", metavar="SLOTS", help="how many slots (a whole number >= 0)")
    sub.add_argument("--description", help="what the pool is for")
    sub = add_command(verbs, "delete", _delete, "remove a pool (not default_pool)", common)
    sub.add_argument("name")


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.store import reads

    with open_store(settings) as store:
        rows = [row._asdict() for row in reads.pools(store.conn, settings.parallelism)]
    if args.output == "json":
        return print_json(rows)
    short = {"name": lambda v: one_line(v, 40), "description": lambda v: one_line(v, 50)}
    print_table(rows, ["name", "slots", "used", "queued", "description"], short)
    return 0


def _set(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import SetPool

    try:
        slots = int(args.slots)
    except ValueError:
        raise InvalidInput("pool slots", args.slots, "give a whole number >= 0") from None
    send(settings, SetPool(args.name, slots, args.description))
    print(f"pool {args.name} set to {slots} slots")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from flowtui.commands.model import DeletePool

    send(settings, DeletePool(args.name))
    print(f"pool {args.name} deleted")
    return 0
