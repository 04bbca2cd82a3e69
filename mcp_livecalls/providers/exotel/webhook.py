"""Exotel's status callbacks: Exotel does not sign them, so a secret path token stands in.

Facts (``shared/provider-docs/webhooks-and-next-providers.md`` §1, Exotel;
developer.exotel.com/docs/voice-v1/api-reference/status-callback, advanced-config/ip-whitelisting):
``StatusCallback`` per call (Calls/connect) with ``StatusCallbackEvents[]`` terminal / answered;
parameters ``CallSid``, ``Status``, ``DateUpdated`` (extended: ``EventType`` …); no signature is
documented, only IP allow-listing. So the URL is ``/webhooks/exotel/<EXOTEL_WEBHOOK_TOKEN>``
(compared in constant time), ``EXOTEL_WEBHOOK_SOURCES`` optionally lists the addresses allowed.
Only Exotel (and whoever else was given the secret URL) can post there, so a callback on the token
path is taken as data, like a signed body: its ``Status`` is applied (issue #20, "Exotel-with-
token"). Without a status word the callback is a hint (the call is fetched upstream).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.exotel.records import exotel_status
from mcp_livecalls.providers.hooks import WebhookEvent, WebhookReader, WebhookRefused, WebhookRequest, same

__all__ = ["MIN_TOKEN_LENGTH", "READER", "ExotelWebhook"]

MIN_TOKEN_LENGTH = 24
"""A path token shorter than this (or with characters a path would mangle) keeps webhooks off."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class ExotelWebhook(WebhookReader):
    provider = ProviderName("exotel")
    signs_body = True
    """Not signed, but only a holder of the secret path token can post: trusted as if signed."""
    path_token = True

    def __init__(self, token: str, sources: frozenset[str] = frozenset()) -> None:
        self._token = token
        self._sources = sources

    def __repr__(self) -> str:
        return f"ExotelWebhook(token=***, sources={sorted(self._sources)})"

    @classmethod
    def from_settings(cls, settings: Any) -> ExotelWebhook | None:
        token = str(getattr(settings, "webhook_token", "") or "")
        if len(token) < MIN_TOKEN_LENGTH or _TOKEN.fullmatch(token) is None:
            return None
        sources = str(getattr(settings, "webhook_sources", "") or "")
        return cls(token, frozenset(part.strip() for part in sources.split(",") if part.strip()))

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        if not same(self._token, request.path_token):
            raise WebhookRefused("signature", "the path token does not match")
        if self._sources and request.remote not in self._sources:
            raise WebhookRefused("signature", "the source address is not allowed")
        call_id = request.param("CallSid")
        if not call_id:
            return []
        status = request.param("Status")
        updated = request.param("DateUpdated") or ""
        said = exotel_status(status) if status else None
        return [
            self.event(
                call_id,
                f"{call_id}:{status}:{updated}",
                status=said if said is not CallStatus.UNKNOWN else None,
                provider_status=request.param("EventType") or status,
            )
        ]

    def path(self) -> str:
        return f"/webhooks/{self.provider.value}/{self._token}"

    def shown_path(self) -> str:
        return f"/webhooks/{self.provider.value}/<EXOTEL_WEBHOOK_TOKEN>"

    def setup(self, url: str) -> str:
        return f"StatusCallback={url} with StatusCallbackEvents[]=terminal and answered (Calls/connect)"


READER = ExotelWebhook
