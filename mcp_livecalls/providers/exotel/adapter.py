"""Exotel (v3) live calls.

Three endpoints, HTTP basic auth ``api_key:api_token``, the account sid in the path:

* ``GET /v3/accounts/{sid}/calls/active`` (``limit``, ``offset``, ``agent_id``, ``direction``) lists
  the live calls: call sid, direction, status, from, to, start time, duration, agent and whether
  the call is recorded. ``list_active_calls`` reads it page by page (at most 100 per request);
  ``direction`` and ``agent_id`` are filtered upstream, ``status`` locally.
* ``GET /v3/accounts/{sid}/calls/{call_sid}`` (call details, Beta; examples: see ``records.py``) says
  what one call is. It is read tolerantly across the spellings of Exotel's sibling call-details
  endpoints: ``response.call_details`` with ``sid``/``call_sid``, ``state``/``call_state``
  (``terminal`` = ended), ``status``/``call_status``, ``direction``, ``from``/``to`` or
  ``customer_details.number`` with ``virtual_number``, ``start_time`` (``Z`` or ``+05:30``),
  ``duration``/``total_duration``, ``agent_details`` or ``assigned_agent_details``, and
  ``recording {available, url}`` or ``recording_url``.
* ``GET /v3/accounts/{sid}/calls/{call_sid}/stream`` describes one call's media: status, duration,
  legs (contact, direction, status, network, muted, on hold), bridge and recording. It is documented
  only "for an active call": it may answer 404 while a call rings.

``get_live_call`` asks call details and the stream concurrently (details first: it decides whether
the call is live). Details give the summary, the stream adds legs, hold and recording; a stream that
fails loses only the legs (said in ``extras["missing"]``). When call details cannot be read (404 on a
cluster without the endpoint, an unknown shape, a 5xx) the call is looked for in the active list
instead (at most ``LOOKUP_PAGES`` pages); once details answered 404 for a call the list shows, the
endpoint is taken as absent and later lookups ask the list and the stream. A lookup is "not live"
only when every source says so (details say ended or 404 and the list does not show it, and the
stream does not describe it). ``get_stream_details`` asks the stream alone and, only when that
fails, the call's summary, answering without legs (said in ``not_offered``) when the call is live.

Both documented versions of the list are read: version B has no ``direction`` and no
``agent_details`` and takes no ``limit``/``offset``/filters. A page at an offset past 0 that
repeats the first page (or the page before) means Exotel ignored ``offset``: the calls are then
cut locally from that one answer and paging stops, so no call is listed twice and no loop
happens. Calls that contradict a filter Exotel should have applied are dropped here and the page
says so; an ended call in the list is never listed. Status words outside the documented ones
give ``unknown`` with the raw word kept. A ``200`` whose envelope says ``http_code`` 400 or more,
or that has no ``response``, is a ``BadResponse`` (a ``404`` in the envelope of a call lookup is
``CallNotFound``). Phone numbers are kept as Exotel writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self
from urllib.parse import quote

from pydantic import SecretStr

from mcp_livecalls.core.models import (
    LiveCall,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound, ProviderError, RateLimited
from mcp_livecalls.providers.base import (
    CALL_FIELDS,
    Capabilities,
    EnvSpec,
    LiveCallsProvider,
    ProviderSlice,
    UpstreamPage,
    Wire,
    scan,
)
from mcp_livecalls.providers.exotel.legs import (
    exotel_call_from_stream,
    exotel_call_with_stream,
    exotel_leg_status,
    missing_legs,
    normalize_exotel_stream,
)
from mcp_livecalls.providers.exotel.records import (
    NOT_LIVE,
    NOT_OFFERED,
    exotel_envelope_error,
    exotel_status,
    normalize_exotel_active_call,
    normalize_exotel_active_page,
    normalize_exotel_call_details,
)
from mcp_livecalls.providers.exotel.scanning import Scan, contradicts, hosts_hint, repeats, unknown_for
from mcp_livecalls.providers.tasks import attempt, both
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import EnvelopeError, find_message

__all__ = [
    "ExotelProvider",
    "ExotelSettings",
    "exotel_call_from_stream",
    "exotel_call_with_stream",
    "exotel_leg_status",
    "exotel_status",
    "normalize_exotel_active_call",
    "normalize_exotel_active_page",
    "normalize_exotel_call_details",
    "normalize_exotel_stream",
]


MAX_PAGE = 100
"""The most calls asked of Exotel in one list request."""


DEFAULT_BASE_URL = "https://api.exotel.com"


@dataclass(frozen=True)
class ExotelSettings:
    account_sid: SecretStr
    api_key: SecretStr
    api_token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    requests_per_minute: float = 200.0
    """Exotel's documented limit for voice APIs, per account; requests are paced under it."""
    webhook_token: str = field(default="", repr=False)
    """The secret path token of ``/webhooks/exotel/<token>`` (Exotel does not sign its callbacks)."""
    webhook_sources: str = ""
    """Addresses allowed to post callbacks, comma-separated (empty: any)."""


LOOKUP_PAGES = 5
"""Active-list pages a lookup reads at most when call details cannot be read (500 calls)."""


class ExotelProvider(LiveCallsProvider):
    name = ProviderName("exotel")
    credential_vars = ("EXOTEL_API_KEY", "EXOTEL_API_TOKEN")  # the account SID is the path, not the login
    env = EnvSpec(
        "EXOTEL",
        DEFAULT_BASE_URL,
        secrets=("account_sid", "api_key", "api_token"),
        texts=("webhook_token", "webhook_sources"),
        numbers=(("requests_per_minute", 1.0),),
    )
    settings_type = ExotelSettings
    call_id_words = "Exotel call_sid"
    max_call_id_length = 64
    capabilities = Capabilities(
        upstream_filters=("direction", "agent_id"),
        fields=(*CALL_FIELDS, "agent", "legs", "recording"),
        not_offered=NOT_OFFERED,
    )

    def __init__(self, http: ProviderHTTP, *, account_sid: str, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._calls_path = f"/v3/accounts/{quote(account_sid, safe='')}/calls"
        self._now = now
        self._first_page: list[str] = []
        """The call sids of the latest answer for offset 0 (a later page equal to it repeats it)."""
        self.offset_ignored = False
        """Learned: Exotel answers every page from the start (version B of the list)."""
        self.details_absent = False
        """Learned: call details answered 404 for a call the active list shows (no such endpoint)."""

    @classmethod
    def wire(cls, settings: ExotelSettings) -> Wire:
        key, token = settings.api_key.get_secret_value(), settings.api_token.get_secret_value()
        return Wire(
            auth=(key, token),
            secrets=[settings.account_sid.get_secret_value(), key, token],
            requests_per_minute=settings.requests_per_minute,
            not_found_hint=hosts_hint(settings.base_url),
        )

    @classmethod
    def built(cls, settings: ExotelSettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, account_sid=settings.account_sid.get_secret_value(), now=now)

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        return exotel_envelope_error(payload)

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """Exotel nests its message: ``error_data`` (v3), ``RestException`` (v1), ``response``."""
        if isinstance(payload, dict):
            for key in ("error_data", "RestException", "response"):
                inner = payload.get(key)
                if isinstance(inner, dict):
                    found = cls.error_message(inner)
                    if found:
                        return found
        return find_message(payload)

    @classmethod
    def pacing_account(cls, settings: ExotelSettings) -> str:
        """Exotel's limit (200 a minute) is per account: replicas of one account share it."""
        return settings.account_sid.get_secret_value()

    @classmethod
    def redaction_pairs(cls, settings: ExotelSettings) -> list[tuple[str, str]]:
        """Basic auth joins key and token (``key:token`` in base64): the pair is a secret of its own."""
        return [(settings.api_key.get_secret_value(), settings.api_token.get_secret_value())]

    # -- one call ----------------------------------------------------------------------------
    async def _details(self, call_id: str) -> LiveCall:
        return await self.http.get_json(
            f"{self._calls_path}/{call_id}",
            call_id=call_id,
            parse=lambda payload: normalize_exotel_call_details(payload, call_id=call_id, now=self._now()),
        )

    async def _stream(self, call_id: str) -> StreamDetails:
        return await self.http.get_json(
            f"{self._calls_path}/{call_id}/stream",
            call_id=call_id,
            parse=lambda payload: normalize_exotel_stream(payload, call_id=call_id),
        )

    async def _listed(self, call_id: str) -> LiveCall | None:
        """The call as the active list shows it, reading at most ``LOOKUP_PAGES`` pages."""
        scan_state = Scan()
        position = 0
        for _ in range(LOOKUP_PAGES):
            page = await self._page(ListQuery(), position, MAX_PAGE, scan_state)
            for call in page.calls:
                if call is not None and call.call_id == call_id:
                    return call
            position += len(page.calls)
            if page.exhausted or not page.calls:
                return None
        return None

    async def _summary(
        self, details: LiveCall | ProviderError | None, call_id: str
    ) -> LiveCall | ProviderError:
        """The call's summary from its details, else from the active list.

        Answers the ``LiveCall`` (live or not), ``CallNotFound`` when no source shows it, or the
        error that kept every source from answering.
        """
        if isinstance(details, LiveCall):
            return details
        if isinstance(details, AuthError | RateLimited):
            return details  # the list would answer the same
        listed = await attempt(lambda: self._listed(call_id))
        if isinstance(listed, LiveCall):
            if isinstance(details, CallNotFound):
                self.details_absent = True
            return listed
        if listed is None:
            return CallNotFound(self.name.value, call_id)
        if details is None or isinstance(details, CallNotFound):
            return listed
        return details

    async def _get_call(self, call_id: str) -> LiveCall:
        self.check_call_id(call_id)
        if self.details_absent:
            summary, stream = await both(
                lambda: self._summary(None, call_id), lambda: attempt(lambda: self._stream(call_id))
            )
        else:
            # Details first: they decide whether the call is live; the stream only adds legs.
            details, stream = await both(
                lambda: attempt(lambda: self._details(call_id)),
                lambda: attempt(lambda: self._stream(call_id)),
            )
            summary = await self._summary(details, call_id)
        if isinstance(summary, LiveCall) and summary.status not in NOT_LIVE:
            if isinstance(stream, StreamDetails):
                return exotel_call_with_stream(summary, stream)
            extras = {**summary.extras, "missing": missing_legs(stream)}
            return summary.model_copy(update={"extras": extras})
        if isinstance(stream, StreamDetails) and stream.status not in NOT_LIVE:
            return exotel_call_from_stream(stream)
        raise self._not_live(call_id, summary, stream)

    def _not_live(
        self, call_id: str, summary: LiveCall | ProviderError, stream: StreamDetails | ProviderError
    ) -> ProviderError:
        """The error for a call no source shows live: ``CallNotFound`` only when every source says so.

        An ended state in call details (or the list) is taken at its word; otherwise a source that
        failed is what is reported, so a failure is never mistaken for "not live".
        """
        if isinstance(summary, LiveCall):
            return CallNotFound(self.name.value, call_id)  # details (or the list) say it ended
        if not isinstance(summary, CallNotFound):
            return summary  # details and the list failed: that, not "not live", is the answer
        if isinstance(stream, ProviderError) and not isinstance(stream, CallNotFound):
            return stream  # the stream failed: it did not say the call is gone
        return CallNotFound(self.name.value, call_id)

    async def _get_stream(self, call_id: str) -> StreamDetails:
        self.check_call_id(call_id)
        stream = await attempt(lambda: self._stream(call_id))
        if isinstance(stream, StreamDetails):
            return stream
        if isinstance(stream, AuthError | RateLimited):
            raise stream
        details = None if self.details_absent else await attempt(lambda: self._details(call_id))
        summary = await self._summary(details, call_id)
        if isinstance(summary, LiveCall) and summary.status not in NOT_LIVE:
            return StreamDetails(
                provider=ProviderName("exotel"),
                call_id=summary.call_id,
                status=summary.status,
                provider_status=summary.provider_status,
                duration_s=summary.duration_s,
                recording=summary.recording,
                not_offered=[*NOT_OFFERED, missing_legs(stream)],
            )
        raise self._not_live(call_id, summary, stream)

    # -- the active list ---------------------------------------------------------------------
    async def _page(self, query: ListQuery, position: int, count: int, seen: Scan) -> UpstreamPage:
        count = max(1, min(count, MAX_PAGE))
        params: dict[str, str | int] = {"limit": count, "offset": position}
        if query.agent_id is not None:
            params["agent_id"] = query.agent_id
        if query.direction is not None:
            params["direction"] = query.direction.value
        calls, total = await self.http.get_json(
            f"{self._calls_path}/active",
            params=params,
            parse=lambda payload: normalize_exotel_active_page(payload, now=self._now()),
        )
        sids = [call.call_id for call in calls]
        if len(calls) > count:
            self.offset_ignored = True  # more than asked: Exotel ignores limit, so offset too (version B)
        if position == 0:
            self._first_page = sids
        elif sids and (
            self.offset_ignored or repeats(sids, seen.previous) or repeats(sids, self._first_page)
        ):
            # Exotel ignored the offset (version B): this answer starts at the first call again.
            # The calls past ``position`` are cut out of it; nothing beyond it can be asked.
            self.offset_ignored = True
            calls = calls[position:]
        seen.previous = sids
        if self.offset_ignored:
            seen.note("the active-calls API ignored offset and limit; pages were cut here from its answer")
            exhausted = True
        elif total is not None:
            # The total decides: a page shorter than asked may only be Exotel's own page cap.
            exhausted = not calls or position + len(calls) >= total
        else:
            exhausted = len(calls) < count
        fresh = seen.guard.fresh([call.call_id for call in calls])
        exhausted = exhausted or seen.guard.stopped
        kept: list[LiveCall | None] = []
        for call, new in zip(calls, fresh, strict=True):
            if not new:
                kept.append(None)  # listed already in this run (a page that repeats)
            elif contradicts(call, query):
                # Exotel did not apply a filter it documents: a gap here keeps offsets in line.
                seen.note("Exotel's answer ignored the direction/agent_id filter; filtered here")
                total = None
                kept.append(None)
            elif call.status in NOT_LIVE:
                total = None
                kept.append(None)  # an ended call is not live, whatever the list says
            else:
                unknown = unknown_for(call, query)
                if unknown:
                    seen.note(
                        f"some calls do not say their {'/'.join(unknown)} (older API version); "
                        "kept unfiltered"
                    )
                kept.append(call)
        return UpstreamPage(kept, exhausted=exhausted, total=total)

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        seen = Scan()

        async def fetch(position: int, count: int) -> UpstreamPage:
            return await self._page(query, position, count, seen)

        found = await scan(
            fetch, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )
        notes = [*seen.notes, *seen.guard.notes]
        return replace(found, notes=notes) if notes else found


ADAPTER = ExotelProvider
"""What the registry loads for this folder."""
