"""`Param`, Airflow's DAG or task param with a JSON schema (`Param(5, type="integer",
minimum=1)`), how a params dict of Params and plain values splits into values and schemas, and
whether a value satisfies a schema (jsonschema, as Airflow; ~130 ms to import, so imported only
when a schema constrains a value). When params are checked is `param_validation`'s."""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterator, Mapping, MutableMapping, ValuesView
from datetime import datetime, time
from functools import cache
from typing import Any, Final

from flowtui.authoring.exceptions import AirflowException
from flowtui.errors import FlowtuiError, one_line


class ArgNotSet:
    """The type of `NOTSET`: no default was given (a required param), as in Airflow."""

    _instance: ArgNotSet | None = None

    def __new__(cls) -> ArgNotSet:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOTSET"

    def __bool__(self) -> bool:
        return False


NOTSET: Final = ArgNotSet()
"""A Param's default when it has none: a run must then be given a value in its conf."""

_ANNOTATIONS = frozenset(
    {"title", "description", "description_md", "examples", "values_display", "section"}
)
"""JSON-schema (and Airflow form) keywords that describe a value without constraining it: a
schema of only these needs no validation, so jsonschema is not imported for it."""


class ParamValidationError(FlowtuiError, AirflowException):
    """A value does not satisfy its param's schema (Airflow's name and base class)."""


class Param:
    """A param with a default and a JSON schema, as Airflow's `Param`.

    Args:
        default: The value a run gets when its conf does not give one; none (`NOTSET`)
            makes the param required: a trigger must give it, and the DAG cannot have a
            schedule.
        description: Shown with the param; also kept in the schema.
        **kwargs: JSON-schema keywords (`type`, `enum`, `minimum`, `maximum`,
            `exclusiveMinimum`, `minLength`, `pattern`, `format`, `items`, `const`, ...), or
            one `schema=` dict holding them.
    """

    __slots__ = ("description", "schema", "value")

    def __init__(self, default: Any = NOTSET, description: str | None = None, **kwargs: Any):
        self.value = default
        """The default; `NOTSET` when there is none."""
        self.description = description
        schema = dict(kwargs.pop("schema")) if "schema" in kwargs else kwargs
        if description is not None:
            schema.setdefault("description", description)
        self.schema: dict[str, Any] = schema
        """The JSON schema a value must satisfy."""

    def __repr__(self) -> str:
        return f"Param({self.value!r}, {self.schema!r})"

    @property
    def has_value(self) -> bool:
        """Whether the param has a default (Airflow's name)."""
        return self.value is not NOTSET

    def resolve(self, value: Any = NOTSET, suppress_exception: bool = False) -> Any:
        """`value` (or the default) checked against the schema, as Airflow's `resolve`.

        Raises:
            ParamValidationError: the value fails the schema, or there is none.
        """
        final = self.value if value is NOTSET else value
        problem = (
            "no value was given and the param has no default"
            if final is NOTSET
            else schema_problem(self.schema, final)
        )
        if problem is None:
            return final
        if suppress_exception:
            return None
        raise ParamValidationError(problem)

    def dump(self) -> dict[str, Any]:
        """The param as plain data (Airflow's `dump`): value, description and schema."""
        return {
            "value": None if self.value is NOTSET else self.value,
            "description": self.description,
            "schema": self.schema,
        }


class ParamsDict(MutableMapping[str, Any]):
    """Airflow's `ParamsDict`: Params by name, where reading a key gives the Param's value
    (checked against its schema) and `get_param` the Param; setting a plain value checks it
    against the Param of that name, if any, else wraps it in one. `items()` and `values()`
    give the Params, as Airflow's do, so `DAG(params=ParamsDict(...))` keeps their schemas.

    Raises:
        ParamValidationError: a value read or set fails its schema (unless
            `suppress_exception`, which reads it as None and sets it anyway).
    """

    def __init__(
        self, dict_obj: Mapping[str, Any] | None = None, suppress_exception: bool = False
    ) -> None:
        source = dict_obj.items() if dict_obj is not None else ()
        self._params = {k: v if isinstance(v, Param) else Param(v) for k, v in source}
        self.suppress_exception = suppress_exception

    def __repr__(self) -> str:
        return repr(self.dump())

    def __getitem__(self, key: str) -> Any:
        return self._params[key].resolve(suppress_exception=self.suppress_exception)

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Param):
            self._params[key] = value
            return
        param = self._params.get(key)
        if param is None:
            self._params[key] = Param(value)
            return
        try:
            param.resolve(value, suppress_exception=self.suppress_exception)
        except ParamValidationError as exc:
            raise ParamValidationError(f"Invalid input for param {key}: {exc}") from None
        param.value = value

    def __delitem__(self, key: str) -> None:
        del self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def get_param(self, key: str) -> Param:
        """The Param itself."""
        return self._params[key]

    def items(self) -> ItemsView[str, Any]:
        return self._params.items()

    def values(self) -> ValuesView[Any]:
        return self._params.values()

    def dump(self) -> dict[str, Any]:
        """Every value, None for one that fails its schema."""
        return {k: v.resolve(suppress_exception=True) for k, v in self._params.items()}

    def validate(self) -> dict[str, Any]:
        """Every value, checked against its schema."""
        resolved = {}
        for key, param in self._params.items():
            try:
                resolved[key] = param.resolve(suppress_exception=self.suppress_exception)
            except ParamValidationError as exc:
                raise ParamValidationError(f"Invalid input for param {key}: {exc}") from None
        return resolved


def param_values(params: dict[str, Any]) -> dict[str, Any]:
    """What a run sees of `params`: each Param's default, each plain value as it is; a
    required Param (no default) is left out."""
    return {
        key: value.value if isinstance(value, Param) else value
        for key, value in params.items()
        if not (isinstance(value, Param) and value.value is NOTSET)
    }


def param_schemas(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The JSON schema of each Param in `params`, as JSON (plain values have none)."""
    schemas = {key: value.schema for key, value in params.items() if isinstance(value, Param)}
    return json.loads(json.dumps(schemas, default=str)) if schemas else {}


def schema_problem(schema: dict[str, Any], value: Any) -> str | None:
    """Why `value` fails `schema` (jsonschema's most relevant error), or None when it passes."""
    if _ANNOTATIONS.issuperset(schema):
        return None
    from jsonschema.exceptions import SchemaError, best_match
    from jsonschema.validators import validator_for

    validator = validator_for(schema)
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        return f"the param's schema is not valid JSON schema: {one_line(exc.message, 200)}"
    error = best_match(validator(schema, format_checker=_format_checker()).iter_errors(value))
    return None if error is None else one_line(error.message, 300)


@cache
def _format_checker() -> Any:
    """jsonschema's format checker, as Airflow uses it, with "date-time" and "time" checked by
    Python's ISO parser (jsonschema checks them only when an extra package is installed)."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    if "date-time" not in checker.checkers:
        checker.checks("date-time", raises=ValueError)(_is_iso_datetime)
    if "time" not in checker.checkers:
        checker.checks("time", raises=ValueError)(_is_iso_time)
    return checker


def _is_iso_datetime(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _is_iso_time(value: object) -> bool:
    if isinstance(value, str):
        time.fromisoformat(value.replace("Z", "+00:00"))
    return True
