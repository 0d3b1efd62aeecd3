"""Posting one JSON body to a webhook URL (Slack's incoming webhooks and anything that takes
`{"text": ...}`), through the standard library's urllib: a 2xx answer is delivered; errors
become `DeliveryFailed`, transient for timeouts, refused connections, 5xx and 429."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flowtui.notify import DeliveryFailed


def post_json(url: str, body: dict[str, Any], timeout: float) -> None:
    """POST `body` as JSON to `url`; `timeout` bounds each blocking step (connect, read).

    Raises:
        DeliveryFailed: the endpoint could not be reached in time or did not take it.
    """
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "flowtui"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1 << 16)
    except urllib.error.HTTPError as exc:
        transient = exc.code >= 500 or exc.code == 429
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}", transient=transient) from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(f"cannot reach it: {exc.reason}", transient=True) from None
    except TimeoutError:
        raise DeliveryFailed(f"no answer within {timeout:g} s", transient=True) from None
    except OSError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}", transient=True) from None


def shown_url(url: str) -> str:
    """The URL as logs and events show it: scheme, host and port only, since a webhook's path
    or query often is its secret (Slack's is)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…"
