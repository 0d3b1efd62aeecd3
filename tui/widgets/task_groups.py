"""Task groups as the grid and the graph show them: a DAG's tasks gathered under their groups
(`TaskSpec.task_groups`, outermost first), nested, in the order the first task of each group
comes in the DAG, as Airflow's root group orders them; a group's name as its parent shows it;
and a group's state in one run, as Airflow's grid sums it up."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flowtui.states import summary_state

GROUP_KEY = "group:"
"""What a group row's key starts with: a task id cannot hold ':'."""

Groups = Mapping[str, tuple[str, ...]]
"""task_id -> the full ids of its groups, outermost first (a task in none is absent or ())."""


@dataclass(frozen=True)
class Row:
    """One row: a group (`key` is `GROUP_KEY` + its id) or a task (`key` is its id)."""

    key: str
    label: str
    """The group's name as its parent shows it, or the task's id without its group's prefix."""
    depth: int
    """How many groups the row is in."""
    group_id: str | None = None
    """The group's full id; None for a task row."""


def group_key(group_id: str) -> str:
    return GROUP_KEY + group_id


def group_of(key: str) -> str | None:
    """The group id of a group row's key; None for a task's."""
    return key[len(GROUP_KEY) :] if key.startswith(GROUP_KEY) else None


def group_state(states: Iterable[str | None]) -> str | None:
    """The group's state from its task instances' (None: no task instance), as Airflow's grid
    sums a group up: the most pressing one (`flowtui.states.summary_state`, as for a mapped
    task's instances), so one failed task makes the group failed."""
    present = [s for s in states if s is not None]
    return summary_state(present) if present else None


def members(task_ids: Sequence[str], groups: Groups) -> dict[str, list[str]]:
    """group id -> the tasks in it or in the groups below it, in DAG order."""
    found: dict[str, list[str]] = {}
    for task_id in task_ids:
        for group_id in groups.get(task_id, ()):
            found.setdefault(group_id, []).append(task_id)
    return found


def rows(task_ids: Sequence[str], groups: Groups, folded: Iterable[str] = ()) -> list[Row]:
    """The rows of `task_ids` under their groups; the rows inside a group in `folded` are left
    out (its own row stays)."""
    tree: dict[str | None, list[str]] = {None: []}
    """parent group (None: the top) -> its children's keys, in order of appearance."""
    for task_id in task_ids:
        parent: str | None = None
        for group_id in groups.get(task_id, ()):
            if group_id not in tree:
                tree[group_id] = []
                tree[parent].append(group_key(group_id))
            parent = group_id
        tree[parent].append(task_id)
    hidden = set(folded)
    result: list[Row] = []

    def walk(parent: str | None, depth: int) -> None:
        for key in tree[parent]:
            group_id = group_of(key)
            if group_id is None:
                result.append(Row(key, short_name(key, parent), depth))
                continue
            result.append(Row(key, short_name(group_id, parent), depth, group_id))
            if group_id not in hidden:
                walk(group_id, depth + 1)

    walk(None, 0)
    return result


def short_name(full_id: str, parent: str | None) -> str:
    """A task's or group's id as its group shows it: without the group's prefix."""
    if parent is not None and full_id.startswith(parent + "."):
        return full_id[len(parent) + 1 :]
    return full_id
