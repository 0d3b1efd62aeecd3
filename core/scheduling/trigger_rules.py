"""Trigger rules: whether a task may run, must wait, or ends now, given its upstream states.

Pure functions over counts, with the scheduler semantics of Airflow (a task is marked `skipped`
or `upstream_failed` as soon as the outcome is certain); loading and storing states is elsewhere.

"failed" below means failed or upstream_failed; "done" means finished (success, failed,
skipped, upstream_failed or removed). A rule that is not met yet makes the task wait.

===========================  =============================  ================================
rule                         runs when                      ends at once as
===========================  =============================  ================================
all_success (default)        every upstream succeeded       upstream_failed on a failure,
                                                            else skipped on a skip
all_failed                   every upstream failed          skipped on a success or skip
all_done                     every upstream is done         (never)
all_done_min_one_success     all done, one succeeded        skipped on a skip; upstream_failed
                                                            when all done with no success
all_skipped                  every upstream was skipped     skipped on a success or failure
one_success                  one upstream succeeded         when all done without a success:
                                                            skipped if all skipped, else
                                                            upstream_failed
one_failed                   one upstream failed            skipped when all done, none failed
one_done                     one succeeded or failed        skipped when all done with neither
none_failed                  all succeeded or skipped       upstream_failed on a failure
none_failed_min_one_success  as none_failed, one success    upstream_failed on a failure,
                                                            skipped when all skipped
none_skipped                 all done, none skipped         skipped on a skip
always                       at once                        (never)
all_done_setup_success       all done, and one direct       when all done: skipped if every
(a teardown's)               setup succeeded (if it has     direct setup was skipped, else
                             any)                           upstream_failed if none succeeded
===========================  =============================  ================================

Setup tasks (Airflow 2.7's setup/teardown) add one rule before any of these, for a task that is
no teardown: it waits until every relevant setup above it that is not a direct upstream (its
`indirect_setups`) succeeded, and becomes upstream_failed as soon as one failed or skipped as
soon as one was skipped (`evaluate_indirect_setups`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import NamedTuple

from flowtui.states import FINISHED, TaskState, TriggerRule, parse_trigger_rule


class Decision(StrEnum):
    """What the scheduler does with a task whose trigger rule was evaluated."""

    RUN = "run"
    """Dependencies are met: the task may be scheduled now."""
    WAIT = "wait"
    """Not decidable yet: evaluate again when an upstream state changes."""
    SKIP = "skip"
    """The task becomes `skipped` now."""
    UPSTREAM_FAILED = "upstream_failed"
    """The task becomes `upstream_failed` now."""


class _Counts(NamedTuple):
    success: int
    skipped: int
    failed: int
    upstream_failed: int
    removed: int
    done: int
    """Upstream in any finished state: the sum of the five counts above."""
    total: int
    """All direct upstream, finished or not."""


class UpstreamCounts(_Counts):
    """How many of a task's direct upstream task instances are in each finished state.

    A named tuple checked when made, not a frozen dataclass: making the class costs ~0.13 ms
    at start-up instead of ~1 ms (`dags test` imports it), and making a value is cheaper too
    (the scheduler makes one per evaluation). Nothing compares it with another tuple."""

    __slots__ = ()

    def __new__(
        cls,
        success: int,
        skipped: int,
        failed: int,
        upstream_failed: int,
        removed: int,
        done: int,
        total: int,
    ) -> UpstreamCounts:
        self = tuple.__new__(cls, (success, skipped, failed, upstream_failed, removed, done, total))
        if min(success, skipped, failed, upstream_failed, removed) < 0:
            raise ValueError(f"negative upstream count in {self!r}")
        if done != success + skipped + failed + upstream_failed + removed or done > total:
            raise ValueError(f"inconsistent upstream counts {self!r}")
        return self

    @classmethod
    def from_states(cls, states: Iterable[TaskState | str]) -> UpstreamCounts:
        """Count the states of a task's direct upstream task instances.

        Raises:
            ValueError: a state is not a `TaskState` value.
        """
        # TaskState(x) is the member itself for a member (the usual case), at enum-call cost:
        # skip the call for those, as a task with many upstream is evaluated often.
        counter = Counter(s if type(s) is TaskState else TaskState(s) for s in states)
        return cls(
            success=counter[TaskState.SUCCESS],
            skipped=counter[TaskState.SKIPPED],
            failed=counter[TaskState.FAILED],
            upstream_failed=counter[TaskState.UPSTREAM_FAILED],
            removed=counter[TaskState.REMOVED],
            done=sum(n for state, n in counter.items() if state in FINISHED),
            total=sum(counter.values()),
        )

    @property
    def is_all_done(self) -> bool:
        """Whether every upstream task instance has finished."""
        return self.done >= self.total

    @property
    def any_failed(self) -> bool:
        """Whether an upstream failed, itself or because of its own upstream."""
        return self.failed + self.upstream_failed > 0


def evaluate(
    rule: TriggerRule | str, counts: UpstreamCounts, setups: UpstreamCounts | None = None
) -> Decision:
    """Decide what happens to a task, given its rule and its direct upstream's states;
    `setups` counts the direct upstream that are setup tasks (only all_done_setup_success
    looks at them).

    Raises:
        ValueError: `rule` names no rule.
    """
    rule = parse_trigger_rule(rule)
    if counts.total == 0:
        return Decision.RUN
    if rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:
        return _all_done_setup_success(counts, setups)
    return _RULES[rule](counts)


def evaluate_indirect_setups(setups: UpstreamCounts) -> Decision:
    """What the relevant setups above a task, other than its direct upstream, allow: RUN once
    all succeeded, UPSTREAM_FAILED on a failure, SKIP on a skip, else WAIT (Airflow's setup
    constraint, checked before the task's own rule)."""
    if setups.any_failed:
        return Decision.UPSTREAM_FAILED
    if setups.skipped:
        return Decision.SKIP
    return Decision.RUN if setups.success >= setups.total else Decision.WAIT


# Removed upstream count as done but as neither success, failure nor skip, as in Airflow for
# unmapped tasks: under all_success, all_failed, all_skipped, none_failed and
# none_failed_min_one_success a removed upstream keeps the task waiting unless another upstream
# decides it; finding such stuck tasks is the scheduler's deadlock check.


def _all_success(c: UpstreamCounts) -> Decision:
    if c.any_failed:
        return Decision.UPSTREAM_FAILED
    if c.skipped:
        return Decision.SKIP
    return Decision.RUN if c.success >= c.total else Decision.WAIT


def _all_failed(c: UpstreamCounts) -> Decision:
    if c.success or c.skipped:
        return Decision.SKIP
    return Decision.RUN if c.failed + c.upstream_failed >= c.total else Decision.WAIT


def _all_done(c: UpstreamCounts) -> Decision:
    return Decision.RUN if c.is_all_done else Decision.WAIT


def _all_done_min_one_success(c: UpstreamCounts) -> Decision:
    # Airflow skips on the first skipped upstream, even when others succeeded.
    if c.skipped:
        return Decision.SKIP
    if not c.is_all_done:
        return Decision.WAIT
    return Decision.RUN if c.success else Decision.UPSTREAM_FAILED


def _all_skipped(c: UpstreamCounts) -> Decision:
    if c.success or c.any_failed:
        return Decision.SKIP
    return Decision.RUN if c.skipped >= c.total else Decision.WAIT


def _one_success(c: UpstreamCounts) -> Decision:
    if c.success:
        return Decision.RUN
    if not c.is_all_done:
        return Decision.WAIT
    # Only an all-skipped upstream skips; any other mix (even skipped + removed) fails.
    return Decision.SKIP if c.skipped == c.done else Decision.UPSTREAM_FAILED


def _one_failed(c: UpstreamCounts) -> Decision:
    if c.any_failed:
        return Decision.RUN
    return Decision.SKIP if c.is_all_done else Decision.WAIT


def _one_done(c: UpstreamCounts) -> Decision:
    # upstream_failed does not count: it means the upstream never ran.
    if c.success or c.failed:
        return Decision.RUN
    return Decision.SKIP if c.is_all_done else Decision.WAIT


def _none_failed(c: UpstreamCounts) -> Decision:
    if c.any_failed:
        return Decision.UPSTREAM_FAILED
    return Decision.RUN if c.success + c.skipped >= c.total else Decision.WAIT


def _none_failed_min_one_success(c: UpstreamCounts) -> Decision:
    if c.any_failed:
        return Decision.UPSTREAM_FAILED
    if c.skipped >= c.total:
        return Decision.SKIP
    return Decision.RUN if c.success + c.skipped >= c.total else Decision.WAIT


def _none_skipped(c: UpstreamCounts) -> Decision:
    if c.skipped:
        return Decision.SKIP
    return Decision.RUN if c.is_all_done else Decision.WAIT


def _always(c: UpstreamCounts) -> Decision:
    return Decision.RUN


def _all_done_setup_success(c: UpstreamCounts, setups: UpstreamCounts | None) -> Decision:
    # A teardown runs whatever its work did, unless none of its setups ran.
    if not c.is_all_done:
        return Decision.WAIT
    if setups is None or not setups.total:
        return Decision.RUN
    if setups.skipped >= setups.total:
        return Decision.SKIP
    return Decision.RUN if setups.success else Decision.UPSTREAM_FAILED


_RULES: dict[TriggerRule, Callable[[UpstreamCounts], Decision]] = {
    TriggerRule.ALL_SUCCESS: _all_success,
    TriggerRule.ALL_FAILED: _all_failed,
    TriggerRule.ALL_DONE: _all_done,
    TriggerRule.ALL_DONE_MIN_ONE_SUCCESS: _all_done_min_one_success,
    TriggerRule.ALL_SKIPPED: _all_skipped,
    TriggerRule.ONE_SUCCESS: _one_success,
    TriggerRule.ONE_FAILED: _one_failed,
    TriggerRule.ONE_DONE: _one_done,
    TriggerRule.NONE_FAILED: _none_failed,
    TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: _none_failed_min_one_success,
    TriggerRule.NONE_SKIPPED: _none_skipped,
    TriggerRule.ALWAYS: _always,
}
"""One decision function per rule but all_done_setup_success (which needs the setups' counts),
used once a task has at least one upstream."""
