"""Attempts' futures published on the Dask scheduler, each under a name its try determines
(`dataset_name`), so that they outlive the flowtui scheduler that submitted them: the next one
(after a crash, or a lost connection) finds them there and awaits them rather than running the
try again. Publishing and unpublishing run on the client's event loop: the scheduler's thread
does not wait for them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, NamedTuple

from flowtui.execution.base import AttemptRequest
from flowtui.execution.dask.log_stream import LOG_TOPIC
from flowtui.execution.dask.worker import STARTED_TOPIC

if TYPE_CHECKING:
    from distributed import Client, Future

logger = logging.getLogger(__name__)

_PREFIX = "flowtui-attempt-"


def dataset_name(home: str, request: AttemptRequest) -> str:
    """The same for the same try of the same home, whichever process asks."""
    what = f"{home}\0{tuple(request.key)}\0{request.queued_at}"
    return _PREFIX + hashlib.sha256(what.encode()).hexdigest()[:32]


def published_names(client: Client) -> set[str]:
    """The attempts' datasets on the Dask scheduler now."""
    return {str(n) for n in client.list_datasets() if str(n).startswith(_PREFIX)}


class KeptEvents(NamedTuple):
    """What the Dask scheduler still keeps of what workers said while no flowtui scheduler
    listened: the attempts' starts (STARTED_TOPIC messages, by Dask key) and the pieces of
    their logs (LOG_TOPIC events)."""

    starts: dict[str, dict[str, Any]]
    logs: list[tuple[float, dict[str, Any]]]


def kept_events(client: Client) -> KeptEvents:
    starts = {str(m.get("name")): m for _at, m in client.get_events(STARTED_TOPIC)}
    return KeptEvents(starts, list(client.get_events(LOG_TOPIC)))


def publish(client: Client, future: Future[Any], name: str) -> None:
    _on_loop(client, _publish(client, future, name))


def unpublish(client: Client, name: str) -> None:
    _on_loop(client, _unpublish(client, name))


def _on_loop(client: Client, work: Coroutine[Any, Any, None]) -> None:
    loop = client.loop
    assert loop is not None  # a connected client has its loop
    loop.add_callback(lambda: work)


async def _publish(client: Client, future: Future[Any], name: str) -> None:
    try:
        await client.publish_dataset(future, name=name, override=True, asynchronous=True)
    except Exception as exc:  # it ended already, or the connection went: it is not adoptable
        logger.warning("could not publish %s (%s): %s", future.key, name, exc)


async def _unpublish(client: Client, name: str) -> None:
    try:
        await client.unpublish_dataset(name, asynchronous=True)
    except Exception as exc:
        logger.warning("could not unpublish %s: %s", name, exc)
