"""Retell AI live calls (the voice-AI platform whose call object Zudu's follows).

One call: ``GET /v2/get-call/{call_id}`` answers the call object itself (no envelope). The list:
``POST /v3/list-calls`` with ``filter_criteria`` written as typed conditions
(``{"call_status": {"type": "enum", "op": "in", "value": ["ongoing"]}, "agent": [{"agent_id"}],
"direction": {...}}``), ``limit`` (at most 1000), ``sort_order`` and an opaque
``pagination_key`` → ``{items, has_more, pagination_key, total}``. The record is read by the
Retell-family reader (``providers.families.retell``, shared with Zudu: statuses, transcript, latency,
cost, storage settings), so both providers read the same fields the same way.

Choices where the documentation is silent or its sources disagree:

* Live means ``ongoing``: the list filter refuses ``registered`` (its enum is ``not_connected``,
  ``ongoing``, ``ended``, ``error``), so a registered call (an id issued, the call not started)
  is not listed; looked up by id it reports ``queued``. A listed entry whose known status is not
  live is left out (the upstream filter should have done so); a status word no document names
  stays in the list as ``unknown`` rather than hidden.
* One list endpoint: ``POST /v3/list-calls``. The older ``POST /v2/list-calls`` (a bare array,
  plain filter lists, the last call id as key) is gone: retell-python-sdk moved its ``list`` to
  v3 on 2026-05-11 (commit 1720325, "feat(api): api update"), Retell's deprecation notice of
  06/15/2026 ("Legacy list endpoints are deprecated") lists List Calls, and the reference's
  deprecated List Calls page says there is no ``v2/list-calls``, the successor being v3. So no
  fallback is asked: a 404 from v3 is the provider's answer (a wrong ``RETELL_BASE_URL``).
* Offsets: the project pages by upstream offset (``scan``); Retell pages by key. The key that
  leads to an offset is remembered when a page ends there (the answer's ``pagination_key``), per
  filter, so paging on with the cross-provider cursor returns each call once. An offset with no
  remembered key is asked with v3's documented ``skip``.
* ``has_more`` is not trusted blindly: a ``pagination_key`` that leads back (the one the page was
  asked with, or one already leading to an earlier offset of the same filter's list), or a page
  whose calls were all listed already in this scan, ends the list with a note. A call met twice
  in one scan is listed once (its slot kept).
* ``total`` is only answered when ``include_total`` is sent: it is sent on every v3 request.
* An unknown call id is answered ``422`` ("Cannot find requested asset under given api key",
  the get-call page's only documented not-found answer) or ``404``: both are ``CallNotFound``.
  Error bodies are ``{"status": "error", "message": ...}``; a 2xx answer in that shape is an
  error too.
* ``call_cost.combined_cost`` is in cents (the SDK's types say so) of US dollars (Retell's
  prices): reported as dollars with ``currency: USD``.
* A looked-up call that has ended is answered with status ``ended`` and its
  ``disconnection_reason``, like Zudu's, rather than ``CallNotFound``.
* Privacy follows ``data_storage_setting`` as for Zudu (see ``providers.families.retell``): sensitive
  fields are dropped before the record is parsed, ``sensitive_data_hidden`` says so.
  ``call_analysis`` adds only ``call_successful``, ``user_sentiment`` and ``in_voicemail``
  (never the summary or custom data, which are free text).
* Transcript and latency are documented as "available after call ends": optional while live.
  Transcript turns carry no wall time (their words have audio offsets), so turns have no ``at``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from mcp_livecalls.core.models import Cost, Direction, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import BadResponse, CallNotFound
from mcp_livecalls.providers.base import Capabilities, EnvSpec, PageGuard, RawPayload, Wire
from mcp_livecalls.providers.families.retell import (
    FAMILY_FIELDS,
    FamilyMember,
    normalize_family_call,
    normalize_family_stream,
)
from mcp_livecalls.providers.families.retell_lists import ListedPage, unseen_entries
from mcp_livecalls.providers.families.retell_provider import FamilyProvider, FamilyRecords
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import EnvelopeError

__all__ = [
    "RETELL",
    "RetellProvider",
    "RetellSettings",
    "normalize_retell_call",
    "normalize_retell_stream",
]

DEFAULT_BASE_URL = "https://api.retellai.com"
V3_LIST = "/v3/list-calls"
LIVE_FILTER_WORDS = ("ongoing",)
"""The ``call_status`` values the list asks for (the filter refuses ``registered``)."""
MAX_PAGE_SIZE = 1000
"""The largest ``limit`` Retell takes."""
_MAX_KNOWN_KEYS = 4096
_ANALYSIS_FIELDS = ("call_successful", "user_sentiment", "in_voicemail")


def _cents(combined_cost: float) -> Cost:
    return Cost(total=round(combined_cost / 100, 6), currency="USD")


RETELL = FamilyMember(
    ProviderName("retell"),
    cost=_cents,
    # Retell's spec spells the carrier's call id ``twilio_call_sid``.
    telephony_keys=("call_sid", "conference_sid", "twilio_call_sid"),
)


class _Analysis(RawPayload):
    call_successful: bool | None = None
    user_sentiment: str | None = None
    in_voicemail: bool | None = None


def _analysis(data: Any) -> dict[str, str | int | float | bool]:
    """The scalar verdicts of ``call_analysis`` (never its free text); an analysis that cannot be
    read is left out, not the call."""
    raw = data.get("call_analysis") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return {}
    try:
        analysis = _Analysis.model_validate(raw)
    except ValueError:  # pydantic's ValidationError
        return {}
    found = {name: getattr(analysis, name) for name in _ANALYSIS_FIELDS}
    return {
        name: value[:32] if isinstance(value, str) else value
        for name, value in found.items()
        if value is not None
    }


def normalize_retell_call(data: Any, *, now: datetime) -> LiveCall:
    """One Retell call object (get-call's answer, or one list item). Raises on garbage."""
    call = normalize_family_call(data, RETELL, now=now)
    extras = _analysis(data)
    return call.model_copy(update={"extras": {**call.extras, **extras}}) if extras else call


def normalize_retell_stream(data: Any, *, now: datetime) -> StreamDetails:
    """The media side of one Retell call object: telephony id, recording, latency, transcript."""
    return normalize_family_stream(data, RETELL, now=now)


def retell_envelope_error(payload: Any) -> EnvelopeError | None:
    """Retell's error shape ``{"status": "error", "message": ...}`` inside a 2xx answer."""
    if not isinstance(payload, dict) or "call_id" in payload:
        return None
    status = payload.get("status")
    if not (isinstance(status, str) and status.strip().lower() == "error"):
        return None
    said = payload.get("message")
    if isinstance(said, str) and said.strip():
        return EnvelopeError("Retell AI answered with an error: {said}", said=said)
    return EnvelopeError("Retell AI answered with an error.")


class _V3Page(RawPayload):
    items: list[Any] | None = None
    has_more: bool | None = None
    pagination_key: str | None = None
    total: int | None = None


def _read_list(payload: Any, size: int) -> ListedPage:
    page = _V3Page.model_validate(payload)
    records = page.items or []
    if page.has_more is not None:
        more = page.has_more
    else:
        more = page.pagination_key is not None and len(records) >= size
    return ListedPage(records, more=more and bool(records), total=page.total, next_key=page.pagination_key)


@dataclass(frozen=True)
class RetellSettings:
    api_key: SecretStr
    base_url: str = DEFAULT_BASE_URL


class RetellProvider(FamilyProvider):
    name = ProviderName("retell")
    member = RETELL
    env = EnvSpec("RETELL", DEFAULT_BASE_URL, secrets=("api_key",))
    settings_type = RetellSettings
    call_id_words = "Retell AI call_id"
    capabilities = Capabilities(
        upstream_filters=("agent_id", "direction"),
        # The Retell-family record's fields (Zudu's), without the event log Retell does not keep.
        fields=tuple(field for field in FAMILY_FIELDS if field != "events"),
        not_offered=RETELL.not_offered,
    )

    def __init__(self, http: ProviderHTTP, *, now: Callable[[], datetime]) -> None:
        super().__init__(http, now=now)
        # (agent, direction, offset) -> the pagination key that starts the page there.
        self._keys: OrderedDict[tuple[str | None, str | None, int], str] = OrderedDict()

    @classmethod
    def wire(cls, settings: RetellSettings) -> Wire:
        api_key = settings.api_key.get_secret_value()
        return Wire(headers={"Authorization": f"Bearer {api_key}"}, secrets=[api_key])

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        return retell_envelope_error(payload)

    async def _record(self, call_id: str, read: Callable[[Any], Any]) -> Any:
        self.check_call_id(call_id)
        try:
            return await self.http.get_json(f"/v2/get-call/{call_id}", call_id=call_id, parse=read)
        except BadResponse as exc:
            if exc.status_code == 422:  # "Cannot find requested asset under given api key."
                raise CallNotFound(self.name.value, call_id) from None
            raise

    async def _get_call(self, call_id: str) -> LiveCall:
        call: LiveCall = await self._record(
            call_id, lambda data: normalize_retell_call(data, now=self._now())
        )
        return call

    async def _get_stream(self, call_id: str) -> StreamDetails:
        stream: StreamDetails = await self._record(
            call_id, lambda data: normalize_retell_stream(data, now=self._now())
        )
        return stream

    def _body(self, query: ListQuery, size: int) -> dict[str, Any]:
        direction = _direction_word(query.direction)
        criteria: dict[str, Any] = {
            "call_status": {"type": "enum", "op": "in", "value": list(LIVE_FILTER_WORDS)}
        }
        if query.agent_id is not None:
            criteria["agent"] = [{"agent_id": query.agent_id}]
        if direction is not None:
            criteria["direction"] = {"type": "enum", "op": "in", "value": [direction]}
        return {"filter_criteria": criteria, "limit": size, "sort_order": "descending", "include_total": True}

    async def _page_at(self, query: ListQuery, position: int, size: int, key: str | None) -> ListedPage:
        """The page that starts at ``position``: by its remembered ``key``, else by ``skip``."""
        body = self._body(query, min(size, MAX_PAGE_SIZE))
        if key is not None:
            body["pagination_key"] = key
        elif position:
            body["skip"] = position
        limit = body["limit"]

        def parse(payload: Any) -> ListedPage:
            return _read_list(payload, limit)

        page: ListedPage = await self.http.post_json(V3_LIST, body, parse=parse)
        return page

    def _key_slot(self, query: ListQuery, position: int) -> tuple[str | None, str | None, int]:
        return (query.agent_id, _direction_word(query.direction), position)

    def _remember(self, query: ListQuery, position: int, key: str | None) -> None:
        if not key or position <= 0:
            return
        slot = self._key_slot(query, position)
        self._keys[slot] = key
        self._keys.move_to_end(slot)
        while len(self._keys) > _MAX_KNOWN_KEYS:
            self._keys.popitem(last=False)

    def _read_summary(self, record: Any, now: datetime) -> LiveCall:
        return normalize_retell_call(record, now=now)

    def _summary(self, record: Any, query: ListQuery, now: datetime) -> LiveCall | None:
        """The family's list entry, also left out when its direction is not the one asked for."""
        call = super()._summary(record, query, now)
        if call is not None and query.direction is not None and call.direction not in (query.direction, None):
            return None
        return call

    def _known_key(self, query: ListQuery, key: str, at: int) -> bool:
        """Whether ``key`` already leads to another offset of this filter's list than ``at`` (a
        cycle). The same key for the same offset is the same page asked again (a later list call
        reading on from there), not a cycle."""
        agent, direction = query.agent_id, _direction_word(query.direction)
        return any(
            slot[:2] == (agent, direction) and slot[2] != at and known == key
            for slot, known in self._keys.items()
        )

    async def _fetch_records(
        self, query: ListQuery, guard: PageGuard, position: int, count: int
    ) -> FamilyRecords:
        size = max(1, min(count, MAX_PAGE_SIZE))
        key = self._keys.get(self._key_slot(query, position))
        page = await self._page_at(query, position, size, key)
        records = page.records[:size]
        consumed_all = size >= len(page.records)
        slot = (query.agent_id, _direction_word(query.direction), size)
        again = self._first_pages.starts_over(slot, position == 0, page.records)
        fresh = unseen_entries(records, guard, known=again)  # the first page again: listed already
        following = page.next_key
        if not guard.stopped and page.more and following is not None:
            # A key that leads back: the one asked with, or one leading to an earlier offset.
            back = following == key or self._known_key(query, following, position + len(records))
            if guard.follows(following, known=back) and consumed_all:
                self._remember(query, position + len(records), following)
        more = page.more and not guard.stopped
        return FamilyRecords(fresh, exhausted=consumed_all and not more, total=page.total)


def _direction_word(direction: Direction | None) -> str | None:
    return direction.value if direction is not None else None


ADAPTER = RetellProvider
"""What the registry loads for this folder."""
