"""`Dataset`: data a task updates (`outlets=[...]`) and a DAG may be scheduled on
(`schedule=[...]`). What an update triggers is the scheduler's business."""

from __future__ import annotations

from flowtui.errors import InvalidArgument


class Dataset:
    """A data set named by its `uri`.

    Immutable and compared by `uri`, like a frozen dataclass; written by hand because
    `dataclasses` would double the cost of `import flowtui`.
    """

    __slots__ = ("uri",)
    uri: str

    def __init__(self, uri: str) -> None:
        if not isinstance(uri, str) or not uri:
            raise InvalidArgument("Dataset", f"uri must be a non-empty string, got {uri!r}")
        object.__setattr__(self, "uri", uri)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Dataset is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"Dataset(uri={self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(("Dataset", self.uri))
