"""Airflow 3.3's retry policies: a task's `retry_policy` looks at the exception that failed an
attempt and decides to retry (maybe after another delay), to fail now, or to leave it to
`retries` and `retry_delay`. Evaluated in the attempt's process (`execution.task_runner`); the
scheduler sees only the outcome."""

from __future__ import annotations

import enum
import logging
from datetime import timedelta
from typing import Any, NamedTuple

from flowtui.errors import InvalidArgument

logger = logging.getLogger(__name__)


class RetryAction(enum.Enum):
    """What a policy decides after a failure."""

    RETRY = "retry"
    """Retry, within the task's `retries` (a policy can fail earlier, never retry more)."""
    FAIL = "fail"
    """Fail now, whatever retries remain."""
    DEFAULT = "default"
    """Leave it to `retries`, `retry_delay` and the backoff settings."""


class RetryDecision(NamedTuple):
    """A policy's decision: the action, the delay before the retry (None: the task's), why."""

    action: RetryAction = RetryAction.DEFAULT
    retry_delay: timedelta | None = None
    reason: str | None = None

    @classmethod
    def fail(cls, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.FAIL, None, reason)

    @classmethod
    def retry(cls, delay: timedelta | None = None, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.RETRY, delay, reason)

    @classmethod
    def default(cls) -> RetryDecision:
        return cls()


class RetryPolicy:
    """The base of retry policies: subclass it and implement `evaluate`."""

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: dict[str, Any] | None = None,
    ) -> RetryDecision:
        """Decide after the attempt `try_number` (1-based) failed with `exception`; never
        asked for AirflowFailException or a sensor's timeout, which fail the task at once."""
        raise NotImplementedError(f"{type(self).__name__} must implement evaluate()")


class RetryRule:
    """One exception-to-action mapping of an `ExceptionRetryPolicy`.

    Args:
        exception: an exception class, a dotted import path ("requests.HTTPError"), or a list
            of them (the rule matches any).
        action: what to do when it matches.
        retry_delay: the delay before that retry, instead of the task's.
        reason: said in the log.
        match_subclasses: match subclasses too (isinstance), else the exact class only.
    """

    def __init__(
        self,
        exception: type[BaseException] | str | list[type[BaseException] | str],
        action: RetryAction = RetryAction.RETRY,
        retry_delay: timedelta | None = None,
        reason: str | None = None,
        match_subclasses: bool = True,
    ) -> None:
        specs = list(exception) if isinstance(exception, list) else [exception]
        for spec in specs:
            if isinstance(spec, str) and "." not in spec:
                raise InvalidArgument(
                    "RetryRule",
                    f"exception {spec!r} must be a class or a dotted import path, "
                    f"e.g. 'builtins.ValueError'",
                )
            if not isinstance(spec, str) and not (
                isinstance(spec, type) and issubclass(spec, BaseException)
            ):
                raise InvalidArgument("RetryRule", f"{spec!r} is not an exception class")
        self.exception = exception
        self.action = RetryAction(action)
        self.retry_delay = retry_delay
        self.reason = reason
        self.match_subclasses = bool(match_subclasses)
        self._specs = specs
        self._classes: list[type[BaseException]] | None = None

    def matches(self, exc: BaseException) -> bool:
        """Whether `exc` is one of the rule's exceptions."""
        classes = self._resolved()
        if self.match_subclasses:
            return isinstance(exc, tuple(classes))
        return type(exc) in classes

    def _resolved(self) -> list[type[BaseException]]:
        if self._classes is None:
            self._classes = [c for c in map(_exception_class, self._specs) if c is not None]
        return self._classes


def _exception_class(spec: type[BaseException] | str) -> type[BaseException] | None:
    if not isinstance(spec, str):
        return spec
    import importlib

    module, _, name = spec.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        logger.warning("RetryRule: cannot import %s; it matches nothing", spec)
        return None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


class ExceptionRetryPolicy(RetryPolicy):
    """Rules tried in order, the first that matches deciding; `default` when none does."""

    def __init__(self, rules: list[RetryRule], default: RetryAction = RetryAction.DEFAULT) -> None:
        self.rules = list(rules)
        self.default = RetryAction(default)

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: dict[str, Any] | None = None,
    ) -> RetryDecision:
        for rule in self.rules:
            if rule.matches(exception):
                reason = rule.reason or f"Matched rule for {type(exception).__name__}"
                return RetryDecision(rule.action, rule.retry_delay, reason)
        return RetryDecision(self.default)
