"""`EmptyOperator`: a task that does nothing, to group or join branches."""

from __future__ import annotations

from typing import Any

from flowtui.authoring.baseoperator import BaseOperator, Context


class EmptyOperator(BaseOperator):
    """Does nothing and succeeds; useful as a join point or placeholder."""

    def execute(self, context: Context) -> Any:
        """Return None at once."""
        return None
