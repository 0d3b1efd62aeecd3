"""`Label`: text on the edges between tasks, as Airflow's `airflow.utils.edgemodifier.Label`.
`a >> Label("on success") >> b` wires `a >> b` and keeps the text in the DAG's `edge_info`
(the spec's `labels`, for the graph view); the scheduler ignores it."""

from __future__ import annotations

from collections.abc import Sequence

from flowtui.authoring.baseoperator import BaseOperator
from flowtui.authoring.dependencies import DependencyMixin, flatten


class Label(DependencyMixin):
    """A label on every edge drawn through it: the tasks on its left run before those on its
    right. It works on either side of `>>`/`<<`, with lists, groups and XComArgs, in
    `chain(...)`, and as `edge_modifier=` of `set_upstream`/`set_downstream`."""

    def __init__(self, label: str) -> None:
        self.label = str(label)
        self._upstream: list[BaseOperator] = []
        self._downstream: list[BaseOperator] = []

    def __repr__(self) -> str:
        return f"Label({self.label!r})"

    def _operators(self) -> list[BaseOperator]:
        return []

    def _ends(self, *, as_upstream: bool, source: BaseOperator | None) -> list[BaseOperator]:
        # A task wired to the label waits for the other side: `a >> label` keeps `a`.
        if source is not None:
            (self._downstream if as_upstream else self._upstream).append(source)
        return []

    def set_upstream(
        self, other: DependencyMixin | Sequence[DependencyMixin], edge_modifier: object = None
    ) -> None:
        """`other` runs before the tasks already on the label's right (and later ones)."""
        tasks = flatten(other, as_upstream=True)
        self._upstream.extend(tasks)
        for task in self._downstream:
            task._relate(tasks, upstream=True, label=self.label)

    def set_downstream(
        self, other: DependencyMixin | Sequence[DependencyMixin], edge_modifier: object = None
    ) -> None:
        """`other` runs after the tasks already on the label's left (and earlier ones)."""
        tasks = flatten(other, as_upstream=False)
        self._downstream.extend(tasks)
        for task in self._upstream:
            task._relate(tasks, upstream=False, label=self.label)
