"""Which task-instance transitions alert someone, as `SendAlert` effects the run book keeps until
its transaction commits: a failure (no retries left) or a retry mails the task's `email` when
`email_on_failure` / `email_on_retry` say so (Airflow's defaults: both true), and goes to each
`[[notify.webhook]]` that asks for it; so does a success or an SLA miss. upstream_failed and a
user's mark alert nobody, as in Airflow. Delivering is `alert_delivery`'s."""

from __future__ import annotations

from flowtui.notify.notice import Notice
from flowtui.scheduling.active_run import TI, ActiveRun
from flowtui.scheduling.effects import SendAlert
from flowtui.scheduling.run_book import RunBook
from flowtui.spec import TaskSpec


def plan(
    book: RunBook,
    run: ActiveRun,
    ti: TI,
    task: TaskSpec | None,
    event: str,
    error: str | None = None,
) -> None:
    """`ti` just moved for `event` (failure, retry, success, sla_miss): alert whoever wants it.
    Cheap when nobody does (a success without a webhook for it)."""
    emails = _recipients(task, event)
    if not emails and event not in book.webhook_events:
        return
    notice = Notice(
        event,
        run.dag_id,
        run.run_id,
        ti.task_id,
        ti.try_number,
        ti.state.value,
        run.logical_date,
        error,
        ti.log_path,
        emails,
    )
    book.effects.append(SendAlert(notice))


def sla_miss(book: RunBook, run: ActiveRun, ti: TI, detail: str | None = None) -> None:
    """The task instance missed its SLA: mail its `email` (as Airflow's SLA miss mail does,
    whatever email_on_failure says) and post to webhooks with "sla_miss"."""
    plan(book, run, ti, run.spec.tasks.get(ti.task_id), "sla_miss", detail)


def _recipients(task: TaskSpec | None, event: str) -> tuple[str, ...]:
    if task is None or not task.email:
        return ()
    if event == "failure" and task.email_on_failure:
        return task.email
    if event == "retry" and task.email_on_retry:
        return task.email
    return task.email if event == "sla_miss" else ()
