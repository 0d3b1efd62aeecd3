"""Plain records written out rather than as dataclasses: a dataclass costs ~1 ms at import to
compile its methods, and these types are imported by every command. A subclass names its
fields in `_fields` (in order) and sets them in its `__init__`; it gets what `@dataclass`
would generate for equality and repr (and, frozen, hash and immutability)."""

from __future__ import annotations

from typing import Any


class Record:
    """Mutable: equality and repr over `_fields`; unhashable, as a dataclass with eq is."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({args})"


class FrozenRecord(Record):
    """Immutable (its `__init__` sets fields with `object.__setattr__`), hashable; copy and
    pickle call `__init__` again with the fields' values."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]  # unhashable above, hashable here
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[FrozenRecord], tuple[Any, ...]]:
        return (type(self), self._values())
