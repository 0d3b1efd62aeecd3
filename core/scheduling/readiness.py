"""What the trigger rules decide for a task of an active run: the states of its upstream
instances (a mapped upstream counts each of its instances, as in Airflow), Airflow's setup
constraint on top, and which of its instances wait for that decision."""

from __future__ import annotations

from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.trigger_rules import (
    Decision,
    UpstreamCounts,
    evaluate,
    evaluate_indirect_setups,
)
from flowtui.spec import TaskSpec
from flowtui.states import TaskState, TriggerRule


def decide(run: ActiveRun, task: TaskSpec) -> Decision:
    """The trigger rule's decision for a task of `run`, after Airflow's setup constraint: the
    relevant setups above it that are not its direct upstream must all succeed (a failure or a
    skip among them decides at once, ahead of the rule; while they run, only a rule that
    already failed or skipped the task decides)."""
    counts = upstream_counts(run, task)
    setups = None
    if task.trigger_rule == TriggerRule.ALL_DONE_SETUP_SUCCESS:
        setups = UpstreamCounts.from_states(
            ti.state for u in task.upstream if run.spec.tasks[u].is_setup for ti in run.instances(u)
        )
    decision = evaluate(task.trigger_rule, counts, setups)
    if not task.indirect_setups or task.trigger_rule == TriggerRule.ALWAYS:
        return decision
    above = evaluate_indirect_setups(
        UpstreamCounts.from_states(
            ti.state for s in task.indirect_setups for ti in run.instances(s)
        )
    )
    if above is Decision.RUN or (above is Decision.WAIT and decision is not Decision.RUN):
        return decision
    return above


def waiting(run: ActiveRun, task_id: str) -> list[TI]:
    """The task's instances in state `none` (its trigger rule decides what becomes of them)."""
    ti = run.tis.get(task_id)
    if ti is not None:
        return [ti] if ti.state is TaskState.NONE else []
    return [ti for ti in run.mapped.get(task_id, ()) if ti.state is TaskState.NONE]


def upstream_counts(run: ActiveRun, task: TaskSpec) -> UpstreamCounts:
    """The states of the task's direct upstream instances; a mapped upstream counts each of
    its instances, as in Airflow."""
    tis = run.tis
    if not run.mapped:  # most runs: one instance per task
        return UpstreamCounts.from_states(tis[u].state for u in task.upstream if u in tis)
    return UpstreamCounts.from_states(ti.state for u in task.upstream for ti in run.instances(u))
