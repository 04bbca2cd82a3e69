"""Vapi (voice AI) live calls: the calls of a recent time window whose status is live.

Facts and where they come from (Vapi's OpenAPI file, VapiAI/docs ``fern/apis/api/openapi.json``
at commit eabfa530, operations ``CallController_findAll`` and ``CallController_findOne``; the
official SDK VapiAI/server-sdk-python at commit 72303d15, ``src/vapi/calls/raw_client.py``):

* Base ``https://api.vapi.ai``; ``Authorization: Bearer <private API key>`` (security ``bearer``).
* ``GET /call`` answers a bare JSON array of call objects (no envelope, no total, no cursor).
  Its query: ``id``, ``assistantId``, ``phoneNumberId``, ``limit`` (0-1000, default 100),
  ``createdAtGt``/``Lt``/``Ge``/``Le`` and ``updatedAtGt``/``Lt``/``Ge``/``Le`` (ISO 8601). There
  is no status filter: the live list reads the calls created within ``VAPI_LOOKBACK_HOURS``
  (default 12: the OpenAPI's largest ``maxDurationSeconds`` is 43200, its default 600) and keeps
  those whose status is live (``queued``, ``ringing``, ``in-progress``, ``forwarding``; see
  ``records``). A scheduled call created before the window that starts later is not seen.
* The order of the array is not documented. A page of ``limit`` calls is followed by the page
  before its oldest call (``createdAtLe`` of the oldest ``createdAt`` seen, as Vapi wrote it; the
  calls of that same instant, batch calls among them, come again and are dropped, where
  ``createdAtLt`` would skip any the page cut off), or, if the page ran oldest first, by the page
  after its newest (``createdAtGe``). A short page is the last. Pages are ``PAGE_SIZE`` calls: a
  call object carries its transcript, messages and costs, so a page of 1000 would pass the
  response-size cap; a cursor that comes again, or ``MAX_LIST_PAGES``, stops with a note.
* The agent filter is upstream (``assistantId``); every other filter is applied here.
* ``GET /call/{id}`` (``id`` a UUID) answers one call object; a call whose status is not live is
  ``CallNotFound``, and so is an id that is not a UUID (Vapi's ids are), without a request.
* Errors: the body NestJS writes, ``{"message": str | [str], "error": str, "statusCode": int}``
  (not in the OpenAPI file: unsettled; any other JSON falls back to the shared reading).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from pydantic import SecretStr

from mcp_livecalls.core.models import LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import CallNotFound, ProviderError
from mcp_livecalls.providers.base import (
    Capabilities,
    EnvSpec,
    LiveCallsProvider,
    ProviderSlice,
    Wire,
    call_fields,
)
from mcp_livecalls.providers.joined import scan_joined
from mcp_livecalls.providers.paging import PageGuard
from mcp_livecalls.providers.reading import json_array
from mcp_livecalls.providers.vapi.records import NOT_OFFERED, VapiCall, call_of, is_live, vapi_stream
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import find_message

__all__ = ["MAX_LIST_PAGES", "PAGE_SIZE", "VapiProvider", "VapiSettings"]

DEFAULT_BASE_URL = "https://api.vapi.ai"
PAGE_SIZE = 50
MAX_LIST_PAGES = 10
DEFAULT_LOOKBACK_HOURS = 12.0
FIELDS = call_fields("caller_name", "agent", "cost", "transcript")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class VapiSettings:
    """``VAPI_API_KEY`` (the private key); for server messages ``VAPI_SERVER_SECRET`` (the token
    Vapi sends as ``X-Vapi-Secret`` or ``Authorization: Bearer``) and/or ``VAPI_HMAC_SECRET`` (the
    HMAC credential's secret key); ``VAPI_LOOKBACK_HOURS``: how far back the live list looks."""

    api_key: SecretStr
    lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    server_secret: str = ""
    hmac_secret: str = ""
    base_url: str = DEFAULT_BASE_URL


@dataclass
class _Page:
    calls: list[tuple[VapiCall, LiveCall]]
    count: int
    unreadable: int = 0


@dataclass
class _Window:
    """The calls of the window read so far, and what is partial about them."""

    calls: list[LiveCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: int = 0


def _cursor(page: _Page, since: str) -> tuple[dict[str, str], set[str]] | None:
    """The next page's time bounds and the ids at that bound (which come again), or ``None``."""
    stamps = [(raw.created(), raw.createdAt, raw.id) for raw, _ in page.calls]
    if not stamps:
        return None
    descending = stamps[0][0] >= stamps[-1][0]
    edge = min(stamps) if descending else max(stamps)
    again = {one for when, _, one in stamps if when == edge[0]}
    bound = {"createdAtGt": since, "createdAtLe": edge[1]} if descending else {"createdAtGe": edge[1]}
    return bound, again


class VapiProvider(LiveCallsProvider):
    name = ProviderName("vapi")
    credential_vars = ("VAPI_API_KEY",)
    env = EnvSpec(
        "VAPI",
        DEFAULT_BASE_URL,
        secrets=("api_key",),
        texts=("server_secret", "hmac_secret"),
        numbers=(("lookback_hours", 0.1),),
    )
    settings_type = VapiSettings
    call_id_words = "Vapi call id (UUID)"
    capabilities = Capabilities(
        upstream_filters=("agent_id",),
        fields=FIELDS,
        not_offered=NOT_OFFERED,
    )

    def __init__(self, http: ProviderHTTP, *, lookback: timedelta, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._lookback = lookback
        self._now = now
        self.page_size = PAGE_SIZE
        """Calls asked per page (tests page with fewer)."""

    @classmethod
    def wire(cls, settings: VapiSettings) -> Wire:
        key = settings.api_key.get_secret_value()
        secrets = [key, *(s for s in (settings.server_secret, settings.hmac_secret) if s)]
        return Wire(headers={"Authorization": f"Bearer {key}"}, secrets=secrets)

    @classmethod
    def built(cls, settings: VapiSettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, lookback=timedelta(hours=settings.lookback_hours), now=now)

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """NestJS's ``message`` (a text or a list of them), else its ``error``."""
        if isinstance(payload, dict):
            said = payload.get("message")
            if isinstance(said, list):
                said = "; ".join(item for item in said if isinstance(item, str))
            if isinstance(said, str) and said:
                return said
        return find_message(payload)

    # -- one call ------------------------------------------------------------------------------

    async def _read(self, call_id: str) -> tuple[VapiCall, LiveCall]:
        self.check_call_id(call_id)
        if not _UUID.fullmatch(call_id):
            raise CallNotFound(self.name.value, call_id)  # no Vapi call has such an id

        def parse(payload: Any) -> tuple[VapiCall, LiveCall]:
            raw = VapiCall.model_validate(payload)
            return raw, call_of(raw, now=self._now())

        raw, call = await self.http.get_json(f"/call/{call_id}", call_id=call_id, parse=parse)
        if not is_live(raw):
            raise CallNotFound(self.name.value, call_id)
        return raw, call

    async def _get_call(self, call_id: str) -> LiveCall:
        return (await self._read(call_id))[1]

    async def _get_stream(self, call_id: str) -> StreamDetails:
        raw, call = await self._read(call_id)
        self.vet_call_id(call.call_id)
        return vapi_stream(raw, call)

    # -- the live list -------------------------------------------------------------------------

    def _page(self, payload: Any) -> _Page:
        items = json_array(payload)
        page = _Page([], len(items))
        first: ValueError | None = None
        for item in items:
            try:
                raw = VapiCall.model_validate(item)
                page.calls.append((raw, call_of(raw, now=self._now())))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                first = first or exc
        if first is not None and not page.calls:
            raise first  # not one call readable: the answer is not what Vapi documents
        page.unreadable = len(items) - len(page.calls)
        return page

    async def _window(self, agent_id: str | None) -> _Window:
        """The live calls created within the lookback window, page after page."""
        since = (
            (self._now() - self._lookback)
            .astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        window = _Window()
        guard = PageGuard(max_pages=MAX_LIST_PAGES, list_name="the call list", calls="live calls")
        base: dict[str, str | int] = {"limit": self.page_size}
        if agent_id:
            base["assistantId"] = agent_id
        params: dict[str, str | int] = {**base, "createdAtGt": since}
        again: set[str] = set()
        while guard.page():
            try:
                page = await self.http.get_json("/call", params=params, parse=self._page)
            except ProviderError as exc:
                if not guard.seen and not window.unreadable:
                    raise
                window.notes.append(f"the call list could be read only to {len(guard.seen)} calls: {exc}")
                break
            window.unreadable += page.unreadable
            calls = [(raw, call) for raw, call in page.calls if raw.id not in again]
            fresh = guard.fresh([raw.id for raw, _ in calls])
            window.calls += [
                call for (raw, call), new in zip(calls, fresh, strict=True) if new and is_live(raw)
            ]
            following = _cursor(page, since) if page.count >= self.page_size else None
            if following is None or guard.stopped:
                break
            bound, again = following
            if not guard.follows(tuple(sorted(bound.items()))):
                break
            params = {**base, **bound}
        window.notes += guard.notes
        if window.unreadable:
            count = window.unreadable
            window.notes.append(
                f"{count} call{'s' if count != 1 else ''} of the call list left out: unreadable"
            )
        return window

    async def _live_calls(self, agent_id: str | None) -> tuple[list[LiveCall], list[str]]:
        window = await self._window(agent_id)
        return window.calls, window.notes

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        return await scan_joined(
            functools.partial(self._live_calls, query.agent_id),
            query=query,
            local_filters=self.local_filters(query),
            offset=offset,
            limit=limit,
        )


ADAPTER = VapiProvider
"""What the registry loads for this folder."""
