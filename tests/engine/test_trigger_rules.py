"""Trigger rules against a truth table written from Airflow's scheduler semantics."""

from __future__ import annotations

import itertools

import pytest

from flowtui.scheduling.trigger_rules import (
    Decision,
    UpstreamCounts,
    evaluate,
    evaluate_indirect_setups,
)
from flowtui.states import TaskState, TriggerRule, parse_trigger_rule

S = TaskState.SUCCESS
F = TaskState.FAILED
K = TaskState.SKIPPED
UF = TaskState.UPSTREAM_FAILED
RM = TaskState.REMOVED
R = TaskState.RUNNING
N = TaskState.NONE
Q = TaskState.QUEUED
RETRY = TaskState.UP_FOR_RETRY

RUN = Decision.RUN
WAIT = Decision.WAIT
SKIP = Decision.SKIP
UPF = Decision.UPSTREAM_FAILED

TR = TriggerRule

TRUTH_TABLE: list[tuple[TriggerRule, list[TaskState], Decision]] = [
    # all_success: a failure or a skip decides at once, even with upstream still running.
    (TR.ALL_SUCCESS, [S], RUN),
    (TR.ALL_SUCCESS, [S, S], RUN),
    (TR.ALL_SUCCESS, [F, F], UPF),
    (TR.ALL_SUCCESS, [K, K], SKIP),
    (TR.ALL_SUCCESS, [S, R], WAIT),
    (TR.ALL_SUCCESS, [S, N], WAIT),
    (TR.ALL_SUCCESS, [S, RETRY], WAIT),
    (TR.ALL_SUCCESS, [S, F], UPF),
    (TR.ALL_SUCCESS, [S, K], SKIP),
    (TR.ALL_SUCCESS, [F, K], UPF),
    (TR.ALL_SUCCESS, [UF, S], UPF),
    (TR.ALL_SUCCESS, [F, R], UPF),
    (TR.ALL_SUCCESS, [K, R], SKIP),
    (TR.ALL_SUCCESS, [S, RM], WAIT),
    # all_failed
    (TR.ALL_FAILED, [F], RUN),
    (TR.ALL_FAILED, [F, F], RUN),
    (TR.ALL_FAILED, [F, UF], RUN),
    (TR.ALL_FAILED, [UF], RUN),
    (TR.ALL_FAILED, [S, S], SKIP),
    (TR.ALL_FAILED, [K, K], SKIP),
    (TR.ALL_FAILED, [S, F], SKIP),
    (TR.ALL_FAILED, [F, K], SKIP),
    (TR.ALL_FAILED, [F, R], WAIT),
    (TR.ALL_FAILED, [S, R], SKIP),
    (TR.ALL_FAILED, [N, N], WAIT),
    (TR.ALL_FAILED, [F, RM], WAIT),
    # all_done
    (TR.ALL_DONE, [S], RUN),
    (TR.ALL_DONE, [S, S], RUN),
    (TR.ALL_DONE, [F, F], RUN),
    (TR.ALL_DONE, [K, K], RUN),
    (TR.ALL_DONE, [UF], RUN),
    (TR.ALL_DONE, [S, F, K, UF], RUN),
    (TR.ALL_DONE, [RM], RUN),
    (TR.ALL_DONE, [S, R], WAIT),
    (TR.ALL_DONE, [F, RETRY], WAIT),
    (TR.ALL_DONE, [S, N], WAIT),
    # all_done_min_one_success: any skipped upstream skips the task at once.
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [S], RUN),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [S, S], RUN),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [S, F], RUN),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [S, UF], RUN),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [F, F], UPF),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [UF], UPF),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [K, K], SKIP),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [S, K], SKIP),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [F, K], SKIP),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [K, R], SKIP),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [S, R], WAIT),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [F, R], WAIT),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [S, RM], RUN),
    (TR.ALL_DONE_MIN_ONE_SUCCESS, [RM], UPF),
    # all_skipped
    (TR.ALL_SKIPPED, [K], RUN),
    (TR.ALL_SKIPPED, [K, K], RUN),
    (TR.ALL_SKIPPED, [S, S], SKIP),
    (TR.ALL_SKIPPED, [F, F], SKIP),
    (TR.ALL_SKIPPED, [UF], SKIP),
    (TR.ALL_SKIPPED, [S, K], SKIP),
    (TR.ALL_SKIPPED, [F, K], SKIP),
    (TR.ALL_SKIPPED, [S, R], SKIP),
    (TR.ALL_SKIPPED, [K, R], WAIT),
    (TR.ALL_SKIPPED, [N], WAIT),
    (TR.ALL_SKIPPED, [K, RM], WAIT),
    # one_success: runs on the first success; with none, all-skipped skips, anything else fails.
    (TR.ONE_SUCCESS, [S], RUN),
    (TR.ONE_SUCCESS, [S, S], RUN),
    (TR.ONE_SUCCESS, [S, R], RUN),
    (TR.ONE_SUCCESS, [S, F], RUN),
    (TR.ONE_SUCCESS, [S, K], RUN),
    (TR.ONE_SUCCESS, [F, F], UPF),
    (TR.ONE_SUCCESS, [UF], UPF),
    (TR.ONE_SUCCESS, [K], SKIP),
    (TR.ONE_SUCCESS, [K, K], SKIP),
    (TR.ONE_SUCCESS, [F, K], UPF),
    (TR.ONE_SUCCESS, [UF, K], UPF),
    (TR.ONE_SUCCESS, [RM, K], UPF),
    (TR.ONE_SUCCESS, [F, R], WAIT),
    (TR.ONE_SUCCESS, [K, R], WAIT),
    (TR.ONE_SUCCESS, [N, N], WAIT),
    # one_failed: upstream_failed counts as a failure.
    (TR.ONE_FAILED, [F], RUN),
    (TR.ONE_FAILED, [UF], RUN),
    (TR.ONE_FAILED, [F, F], RUN),
    (TR.ONE_FAILED, [F, R], RUN),
    (TR.ONE_FAILED, [UF, N], RUN),
    (TR.ONE_FAILED, [S, F], RUN),
    (TR.ONE_FAILED, [F, K], RUN),
    (TR.ONE_FAILED, [S, S], SKIP),
    (TR.ONE_FAILED, [K, K], SKIP),
    (TR.ONE_FAILED, [S, K], SKIP),
    (TR.ONE_FAILED, [S, RM], SKIP),
    (TR.ONE_FAILED, [S, R], WAIT),
    (TR.ONE_FAILED, [N], WAIT),
    # one_done: only success or failed count; upstream_failed and skipped do not.
    (TR.ONE_DONE, [S], RUN),
    (TR.ONE_DONE, [F], RUN),
    (TR.ONE_DONE, [S, R], RUN),
    (TR.ONE_DONE, [F, R], RUN),
    (TR.ONE_DONE, [S, F], RUN),
    (TR.ONE_DONE, [S, K], RUN),
    (TR.ONE_DONE, [F, K], RUN),
    (TR.ONE_DONE, [K, K], SKIP),
    (TR.ONE_DONE, [UF, UF], SKIP),
    (TR.ONE_DONE, [UF, K], SKIP),
    (TR.ONE_DONE, [UF, R], WAIT),
    (TR.ONE_DONE, [K, R], WAIT),
    (TR.ONE_DONE, [N, N], WAIT),
    # none_failed: all skipped still runs.
    (TR.NONE_FAILED, [S], RUN),
    (TR.NONE_FAILED, [S, S], RUN),
    (TR.NONE_FAILED, [K, K], RUN),
    (TR.NONE_FAILED, [S, K], RUN),
    (TR.NONE_FAILED, [F, F], UPF),
    (TR.NONE_FAILED, [S, F], UPF),
    (TR.NONE_FAILED, [F, K], UPF),
    (TR.NONE_FAILED, [UF, S], UPF),
    (TR.NONE_FAILED, [F, R], UPF),
    (TR.NONE_FAILED, [S, R], WAIT),
    (TR.NONE_FAILED, [K, N], WAIT),
    (TR.NONE_FAILED, [S, RM], WAIT),
    # none_failed_min_one_success
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [S], RUN),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [S, S], RUN),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [S, K], RUN),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [K], SKIP),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [K, K], SKIP),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [F, F], UPF),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [S, F], UPF),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [F, K], UPF),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [UF, K], UPF),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [F, R], UPF),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [S, R], WAIT),
    (TR.NONE_FAILED_MIN_ONE_SUCCESS, [K, R], WAIT),
    # none_skipped: failures are fine, a skip decides at once.
    (TR.NONE_SKIPPED, [S], RUN),
    (TR.NONE_SKIPPED, [S, S], RUN),
    (TR.NONE_SKIPPED, [F, F], RUN),
    (TR.NONE_SKIPPED, [S, F], RUN),
    (TR.NONE_SKIPPED, [UF, S], RUN),
    (TR.NONE_SKIPPED, [S, RM], RUN),
    (TR.NONE_SKIPPED, [K, K], SKIP),
    (TR.NONE_SKIPPED, [S, K], SKIP),
    (TR.NONE_SKIPPED, [F, K], SKIP),
    (TR.NONE_SKIPPED, [K, R], SKIP),
    (TR.NONE_SKIPPED, [S, R], WAIT),
    (TR.NONE_SKIPPED, [F, N], WAIT),
    # always
    (TR.ALWAYS, [S], RUN),
    (TR.ALWAYS, [S, S], RUN),
    (TR.ALWAYS, [F, F], RUN),
    (TR.ALWAYS, [K, K], RUN),
    (TR.ALWAYS, [UF], RUN),
    (TR.ALWAYS, [R, N], RUN),
    (TR.ALWAYS, [Q, RETRY], RUN),
    # all_done_setup_success without setups upstream: all_done.
    (TR.ALL_DONE_SETUP_SUCCESS, [S, F], RUN),
    (TR.ALL_DONE_SETUP_SUCCESS, [K, UF], RUN),
    (TR.ALL_DONE_SETUP_SUCCESS, [S, R], WAIT),
]

DESIGN_RULES = (
    "all_success",
    "all_failed",
    "all_done",
    "all_done_min_one_success",
    "all_skipped",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
)
"""The rule names listed in DESIGN.md, "Trigger rules"."""


@pytest.mark.parametrize(
    ("rule", "upstream", "expected"),
    TRUTH_TABLE,
    ids=[f"{rule}-{'+'.join(states)}" for rule, states, _ in TRUTH_TABLE],
)
def test_truth_table(rule: TriggerRule, upstream: list[TaskState], expected: Decision) -> None:
    assert evaluate(rule, UpstreamCounts.from_states(upstream)) is expected


def test_truth_table_covers_every_rule() -> None:
    assert {rule for rule, _, _ in TRUTH_TABLE} == set(TriggerRule)


@pytest.mark.parametrize("rule", list(TriggerRule))
def test_a_task_without_upstream_runs_whatever_its_rule(rule: TriggerRule) -> None:
    assert evaluate(rule, UpstreamCounts.from_states([])) is Decision.RUN


_DECISIVE = (S, F, K, UF)


@pytest.mark.parametrize("rule", list(TriggerRule))
def test_finished_upstream_never_leaves_a_task_waiting(rule: TriggerRule) -> None:
    """Apart from `removed` upstream, every rule decides once all upstream have finished."""
    for size in (1, 2, 3):
        for upstream in itertools.combinations_with_replacement(_DECISIVE, size):
            decision = evaluate(rule, UpstreamCounts.from_states(upstream))
            assert decision is not Decision.WAIT, (rule, upstream)


def test_evaluate_accepts_the_rule_name_as_a_string() -> None:
    counts = UpstreamCounts.from_states(["success", "skipped"])
    assert evaluate("none_failed_min_one_success", counts) is Decision.RUN
    assert evaluate("all_success", counts) is Decision.SKIP


def test_evaluate_rejects_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="all_sucess"):
        evaluate("all_sucess", UpstreamCounts.from_states([S]))


def test_from_states_counts_each_finished_state() -> None:
    counts = UpstreamCounts.from_states([S, S, F, K, UF, RM, R, N, "queued", "up_for_retry"])
    assert counts == UpstreamCounts(
        success=2, skipped=1, failed=1, upstream_failed=1, removed=1, done=6, total=10
    )


def test_from_states_rejects_an_unknown_state() -> None:
    with pytest.raises(ValueError, match="finished"):
        UpstreamCounts.from_states(["success", "finished"])


def test_counts_reject_a_done_count_that_does_not_add_up() -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        UpstreamCounts(
            success=1, skipped=0, failed=0, upstream_failed=0, removed=0, done=2, total=2
        )


def test_parse_trigger_rule_returns_the_member() -> None:
    assert parse_trigger_rule("one_done") is TriggerRule.ONE_DONE


@pytest.mark.parametrize("name", ["all_sucess", "ALL_SUCCESS", "", "dummy", " all_done"])
def test_parse_trigger_rule_rejects_an_unknown_name(name: str) -> None:
    with pytest.raises(ValueError, match="unknown trigger rule") as info:
        parse_trigger_rule(name)
    assert "none_failed_min_one_success" in str(info.value)


def test_there_are_the_twelve_rules_of_the_design_and_airflows_teardown_rule() -> None:
    assert tuple(TriggerRule) == (*DESIGN_RULES, "all_done_setup_success")


@pytest.mark.parametrize(
    ("upstream", "setups", "expected"),
    [
        # A teardown runs once all its upstream are done if one of its setups succeeded,
        # whatever the work did.
        ([S, F], [S], RUN),
        ([S, K], [S], RUN),
        ([S, F, UF], [S, F], RUN),
        ([S, R], [S], WAIT),
        ([R, F], [R], WAIT),
        # Every setup skipped: skipped; none succeeded: upstream_failed (only once all done).
        ([K, K], [K], SKIP),
        ([K, S, K], [K, K], SKIP),
        ([F, UF], [F], UPF),
        ([K, F, UF], [K, F], UPF),
        ([F, R], [F], WAIT),
    ],
)
def test_all_done_setup_success_judges_the_direct_setups(
    upstream: list[TaskState], setups: list[TaskState], expected: Decision
) -> None:
    """Airflow's teardown rule; `setups` are the states of the direct upstream that are setup
    tasks (also among `upstream`)."""
    decision = evaluate(
        TR.ALL_DONE_SETUP_SUCCESS,
        UpstreamCounts.from_states(upstream),
        UpstreamCounts.from_states(setups),
    )
    assert decision is expected


@pytest.mark.parametrize(
    ("setups", "expected"),
    [([S, S], RUN), ([S, R], WAIT), ([N], WAIT), ([S, F], UPF), ([UF, R], UPF), ([K, R], SKIP)],
)
def test_indirect_setups_must_all_succeed_and_decide_a_failure_or_skip_at_once(
    setups: list[TaskState], expected: Decision
) -> None:
    assert evaluate_indirect_setups(UpstreamCounts.from_states(setups)) is expected
