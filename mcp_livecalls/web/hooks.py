"""The webhook receiver: ``POST /webhooks/<provider>`` (Exotel: ``/webhooks/exotel/<token>``).

Outside ``/mcp`` and its sign-in (providers cannot sign in): each request is verified by the
provider's reader (``providers.hooks``) against the URL the provider was given,
``LIVECALLS_PUBLIC_URL`` + path + query, and its events go to ``LiveCallsApp.pushed``. A provider
is served when its verification secret is known. Answers: 429 for a flood from one address
(before any work), 404 for a provider not served, 413 over ``MAX_WEBHOOK_BODY``, 400 for a body
that cannot be read, 403 with no detail for anything not signed right (one log line per kind and
interval: ``logs.RateLimitedLog``), 204 otherwise. The receiver never sends a request anywhere a
request names: a hint only wakes the poller of a call someone already watches.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.logs import RateLimitedLog
from mcp_livecalls.providers.hooks import MAX_WEBHOOK_BODY, WebhookReader, WebhookRefused, parse_request
from mcp_livecalls.service.pushed import PushedEvents

__all__ = ["FLOOD_BURST", "FLOOD_PER_S", "WebhookReceiver"]

logger = logging.getLogger(__name__)
logger.addFilter(RateLimitedLog())

FLOOD_BURST = 60.0
"""Requests one address may send at once before it is refused (429)."""
FLOOD_PER_S = 10.0
"""Requests per second one address may keep sending."""
_ADDRESSES = 4096


class WebhookReceiver:
    """The Starlette endpoint for every provider's webhooks."""

    def __init__(
        self,
        readers: Mapping[ProviderName, WebhookReader],
        pushed: Callable[[], PushedEvents],
        public_url: str,
        *,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._readers = {name.value: reader for name, reader in readers.items()}
        self._pushed = pushed
        self._public = public_url.rstrip("/")
        self._now = now
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _flooding(self, address: str) -> bool:
        now = self._clock()
        level, at = self._buckets.pop(address, (FLOOD_BURST, now))
        level = min(FLOOD_BURST, level + (now - at) * FLOOD_PER_S)
        self._buckets[address] = (level - 1.0 if level >= 1.0 else level, now)
        while len(self._buckets) > _ADDRESSES:
            self._buckets.popitem(last=False)
        return level < 1.0

    async def handle(self, request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        if self._flooding(address):
            return Response(status_code=429)
        reader = self._readers.get(str(request.path_params.get("provider", "")))
        token = request.path_params.get("token")
        if reader is None or (token is not None) != reader.path_token:
            return Response(status_code=404)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_WEBHOOK_BODY:
            return Response(status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_WEBHOOK_BODY:
                return Response(status_code=413)
        url = self._public + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            parsed = parse_request(
                request.method, url, dict(request.headers), body, remote=address, path_token=token
            )
            events = reader.read(parsed, self._now())
        except WebhookRefused as refused:
            if refused.reason == "malformed":
                return Response(status_code=400)
            logger.warning("webhook refused for %s: %s", reader.provider.value, refused.detail or "signature")
            return Response(status_code=403)
        await self._pushed().take(events)
        return Response(status_code=204)
