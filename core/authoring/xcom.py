"""XCom values as JSON text (never pickle) and reading them from the store's `xcom` table;
writing them after an attempt is the store's job."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from flowtui.errors import XComNotSerializable

if TYPE_CHECKING:
    from flowtui.store.access import StoreReader

RETURN_KEY = "return_value"
"""The key a task's return value is pushed under."""


class _Unserializable(TypeError):
    def __init__(self, type_name: str) -> None:
        super().__init__(type_name)
        self.type_name = type_name


def _refuse(value: object) -> Any:
    raise _Unserializable(type(value).__name__)


def encode_xcom(value: Any, *, task_id: str = "?", key: str = RETURN_KEY) -> str:
    """Return `value` as JSON text.

    Raises:
        XComNotSerializable: `value` (or something inside it) is not JSON; names task, key
            and type.
    """
    import json

    try:
        return json.dumps(value, default=_refuse)
    except _Unserializable as exc:
        raise XComNotSerializable(task_id, key, type(value).__name__, exc.type_name) from None
    except (TypeError, ValueError) as exc:  # e.g. a dict with tuple keys, or a circular value
        raise XComNotSerializable(task_id, key, type(value).__name__) from exc


def decode_xcom(text: str) -> Any:
    """Return the value of XCom JSON text."""
    import json

    return json.loads(text)


def pull(
    conn: StoreReader,
    dag_id: str,
    run_id: str,
    task_ids: Sequence[str],
    key: str,
    mapped: Collection[str] = (),
    map_index: int | None = None,
) -> dict[str, Any]:
    """Read XCom `key` of each of `task_ids` in one run.

    Args:
        mapped: the ids among `task_ids` of mapped tasks: the value of each is the list of its
            instances' values, by map index ([] when none pushed), as Airflow's lazy sequence.
        map_index: read only that instance's value of each task.

    Returns:
        task_id -> decoded value, for the tasks that pushed `key`; others are absent.
    """
    if not task_ids:
        return {}
    marks = ",".join("?" * len(task_ids))
    rows = conn.execute(
        f"SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? "
        f"AND key = ? AND task_id IN ({marks}) ORDER BY map_index",
        (dag_id, run_id, key, *task_ids),
    ).fetchall()
    found: dict[str, Any] = {t: [] for t in mapped if map_index is None}
    for task_id, index, value in rows:
        if map_index is not None:
            if index == map_index:
                found[task_id] = decode_xcom(value)
        elif task_id in mapped:
            if index >= 0:
                found[task_id].append(decode_xcom(value))
        elif index < 0:
            found[task_id] = decode_xcom(value)
    return found
