"""`Variable`: named settings kept in the store, readable from DAG files, templates
(`var.value.X`) and tasks, where `FLOWTUI_VAR_<KEY>` in the environment overrides the store.
Storage and secrecy rules are `flowtui.store.variables`'; the CLI and the dashboard change
variables through commands, so that each change is audited."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowtui.errors import VariableNotFound

if TYPE_CHECKING:
    from flowtui.store.access import StoreAccess

_db_path: Path | str | None = None
_MISSING: Any = object()


def configure(db_path: Path | str) -> None:
    """Make Variable use the store at `db_path` (the attempt runner calls this in the child)."""
    global _db_path
    _db_path = db_path  # made a Path when used: most attempts never use it


def db_path() -> Path:
    """The store Variable uses: the configured one, else the home's (`$FLOWTUI_HOME`)."""
    if _db_path is not None:
        return Path(_db_path)
    from flowtui.config import resolve_home  # here: reading flowtui.toml costs 10 ms

    return resolve_home() / "flowtui.db"


class Variable:
    """Airflow-style access to variables: `Variable.get("key")`, `Variable.set("key", v)`."""

    @staticmethod
    def get(key: str, default_var: Any = _MISSING, deserialize_json: bool = False) -> Any:
        """Return the value of variable `key`; the environment wins over the store.

        Args:
            key: the variable's name.
            default_var: returned (as given) when the variable is not set anywhere.
            deserialize_json: parse the stored text as JSON.

        Raises:
            VariableNotFound: not set and no default given.
        """
        from flowtui.store.variables import env_name

        text = os.environ.get(env_name(key))
        if text is None:
            text = _store().variable(key)
        if text is None:
            if default_var is _MISSING:
                raise VariableNotFound(key)
            return default_var
        if deserialize_json:
            return json.loads(text)
        return text

    @staticmethod
    def set(
        key: str, value: Any, serialize_json: bool = False, description: str | None = None
    ) -> None:
        """Store `value` (as text, or JSON with `serialize_json`) under `key` in the store."""
        text = json.dumps(value) if serialize_json else str(value)
        _store().set_variable(key, text, description)

    @staticmethod
    def delete(key: str) -> bool:
        """Remove `key` from the store; returns whether it was there."""
        return _store().delete_variable(key)


def _store() -> StoreAccess:
    from flowtui.store import access  # here: the store's package costs ~70 ms to import

    return access.at(db_path())
