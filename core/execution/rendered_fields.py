"""A task's templated fields as one attempt rendered them, as plain JSON values for the store
(what Airflow's Rendered Template view shows): each field as rendered (a value that is not JSON
as its repr), secrets masked, a long one cut at `MAX_LENGTH` characters as Airflow cuts at
`max_templated_field_length`."""

from __future__ import annotations

import json
from typing import Any

from flowtui.authoring.baseoperator import BaseOperator
from flowtui.execution.mask_filter import Masker

MAX_LENGTH = 4096
"""Characters of one field's value kept (its JSON text, or the string itself)."""


def rendered_fields(task: BaseOperator, masker: Masker) -> dict[str, Any]:
    """Field name -> value of each of `task.template_fields`, read after rendering."""
    return {name: _stored(getattr(task, name, None), masker) for name in task.template_fields}


_PLAIN = (type(None), bool, int, float)
"""Values stored as they are when no secret is known (most attempts): no JSON round trip."""


def _stored(value: Any, masker: Masker) -> Any:
    if isinstance(value, str):
        return _cut(masker.mask(value))
    if not masker:
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, (dict, list, tuple)) and not value:  # op_args, op_kwargs unset
            return {} if isinstance(value, dict) else []
    try:
        # The masker knows a secret's escaped form inside JSON text: mask the text, not the value.
        text = masker.mask(json.dumps(value, default=repr))
    except (TypeError, ValueError):  # e.g. a dict with tuple keys, a circular value
        return _cut(masker.mask(repr(value)))
    return json.loads(text) if len(text) <= MAX_LENGTH else _cut(text)


def _cut(text: str) -> str:
    if len(text) <= MAX_LENGTH:
        return text
    return f"{text[:MAX_LENGTH]}… (cut: {len(text)} characters)"
