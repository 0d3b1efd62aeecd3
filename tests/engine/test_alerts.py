"""Which transitions plan an alert (`scheduling.alerts`), on a run book over a real store: a
failure or retry mails the task's `email` as email_on_failure / email_on_retry say; a success
alerts only when a webhook asks for it; upstream_failed never does; an SLA miss mails `email`."""

from __future__ import annotations

from flowtui.execution.base import AttemptOutcome
from flowtui.notify.notice import Notice
from flowtui.scheduling import alerts
from flowtui.scheduling.effects import SendAlert
from flowtui.states import TaskState
from tests.engine.conftest import World
from tests.engine.conftest import dag_spec as dag
from tests.engine.conftest import task_spec as task

FAILED = AttemptOutcome(TaskState.FAILED, "boom", exit_code=1)
MAILED = ("ops@example.com",)


def _notices(world: World) -> list[Notice]:
    return [e.notice for e in world.book.effects if isinstance(e, SendAlert)]


def test_a_failure_mails_the_task_and_its_downstream_stays_silent(world: World) -> None:
    spec = dag(
        "etl", task("load", email=MAILED), task("report", email=MAILED), edges=[("load", "report")]
    )
    run = world.start(spec)
    world.take_ready()
    world.attempt(run, "load", FAILED)
    assert world.states(run)["report"] == "upstream_failed"
    (notice,) = _notices(world)
    assert notice == Notice(
        "failure",
        "etl",
        "manual__1",
        "load",
        1,
        "failed",
        run.logical_date,
        "boom",
        "/logs/etl/manual__1/load/attempt=1.log",
        MAILED,
    )


def test_a_retry_mails_unless_email_on_retry_is_false(world: World) -> None:
    spec = dag(
        "etl",
        task("a", email=MAILED, retries=1),
        task("b", email=MAILED, retries=1, email_on_retry=False),
    )
    run = world.start(spec)
    world.take_ready()
    world.attempt(run, "a", FAILED)
    world.attempt(run, "b", FAILED)
    assert [(n.task_id, n.event, n.state) for n in _notices(world)] == [
        ("a", "retry", "up_for_retry")
    ]


def test_no_email_and_no_webhook_plans_nothing(world: World) -> None:
    spec = dag("etl", task("a"), task("b", email=MAILED, email_on_failure=False))
    run = world.start(spec)
    world.take_ready()
    world.attempt(run, "a", FAILED)
    world.attempt(run, "b", FAILED)
    assert _notices(world) == []


def test_webhook_events_make_success_and_unmailed_failures_alert(world: World) -> None:
    world.book.webhook_events = frozenset({"success", "failure"})
    run = world.start(dag("etl", task("a"), task("b")))
    world.take_ready()
    world.attempt(run, "a")
    world.attempt(run, "b", FAILED)
    assert [(n.task_id, n.event, n.emails) for n in _notices(world)] == [
        ("a", "success", ()),
        ("b", "failure", ()),
    ]


def test_an_sla_miss_mails_the_tasks_email(world: World) -> None:
    run = world.start(dag("etl", task("a", email=MAILED, email_on_failure=False)))
    alerts.sla_miss(world.book, run, run.tis["a"], "not done 1 h after the interval")
    (notice,) = _notices(world)
    assert (notice.event, notice.emails, notice.error) == (
        "sla_miss",
        MAILED,
        "not done 1 h after the interval",
    )
