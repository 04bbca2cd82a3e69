"""Zudu live calls (a voice-AI agent platform whose call objects follow Retell's).

One call: ``GET /api/calls/{callId}`` inside the envelope ``{message, status, error, data}``.
The list: ``POST /api/calls`` with 0-based pages, newest start first, filtered upstream by
``call_status`` and ``agent_id``; direction and status are filtered locally. The list answers
full records, so a page of summaries is one request (two when an offset straddles pages).

Choices where the documentation is silent:

* Live means ``ONGOING`` plus ``REGISTERED`` (created, waiting for the call to start; reported as
  ``queued``, like the queued calls of the other providers). ``SCHEDULED`` calls are future
  outbound calls and are not listed; looked up by id they report ``queued`` too. A list entry
  whose status word no document mentions is listed as ``unknown`` rather than hidden.
* A record has two ids, ``id`` (UUID) and ``call_id`` (``call_...``). The single-call path is
  documented with ``call_id``; whether ``id`` opens it too is unsettled, so the id the caller gave is
  tried first, and a record id Zudu answers 404 for is tried again as the ``call_id`` a list or an
  earlier answer showed beside it (remembered per provider instance). The call is reported under
  the id the caller used; otherwise (lists) under ``id``, or ``call_id`` when an entry has no
  ``id``. The other id goes to ``extras`` (``zudu_call_id`` or ``record_id``).
* The list filter has two documented forms: the list page writes ``filter_criteria.agent_id`` as a
  string and statuses in upper case, the OpenAPI page an array and lower case. The list page's form
  is sent first; a 400 is retried once in the other form, and the form that worked is used from
  then on. Statuses are compared case-insensitively everywhere.
* A list entry that cannot be read is left out with a note in the slice; the rest of the page stands.
  An answer of several entries none of which can be read is a ``BadResponse``, as a whole page is.
* Transcript, latency and cost are optional (Retell fills them only after the call ends; Zudu's
  ONGOING example has them). Retell's spec types every ``latency.<name>`` figure, ``num`` (the
  sample count) included, as ``number``: a figure that cannot be read (a fractional or negative
  count, a non-number) costs only that figure, never the call.
* A looked-up call that has ended is answered with status ``ended`` (and its
  ``disconnection_reason``) instead of ``CallNotFound``: Zudu keeps the record, and saying how the
  call ended is more useful than "not live".
* ``call_type`` is shown only for ``WEB_CALL`` (phone calls are the default). At most three short
  scalar ``metadata`` values are shown, as ``meta.<key>``; nested values are skipped.
* ``call_cost.combined_cost`` is reported without a currency: none is documented (Retell, the
  model for Zudu's object, counts in cents; Zudu's example looks like currency units).
* ``public_log_url`` is never returned: it is a link to logs, not live state, and may expose
  what the call said.
* Privacy: sensitive fields are dropped before the record is even parsed, and the models say
  ``sensitive_data_hidden``. ``opt_out_sensitive_data_storage: true`` and ``data_storage_setting:
  basic_attributes_only`` (Retell's successor of the flag, honoured in case Zudu follows) drop the
  transcript fields, the recording URL, the log URL and the metadata; ``everything_except_pii``
  drops the transcript fields, the log URL and the metadata (the text that may carry PII) and keeps
  the recording URL (the stored recording is the one with PII excluded); ``everything`` drops
  nothing. A setting no document names, or a malformed one, drops as much as
  ``basic_attributes_only``. Phone numbers stay (masking them is a separate setting). Event
  payloads (``events[].data``) are never copied, for any call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from pydantic import SecretStr

from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import BadResponse, CallNotFound
from mcp_livecalls.providers.base import Capabilities, EnvSpec, PageGuard, RawPayload, Wire
from mcp_livecalls.providers.families.retell import (
    FAMILY_FIELDS,
    FamilyMember,
    family_status,
    normalize_family_call,
    normalize_family_stream,
)
from mcp_livecalls.providers.families.retell_lists import ListedPage, unseen_entries
from mcp_livecalls.providers.families.retell_provider import FamilyProvider, FamilyRecords
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import EnvelopeError, envelope_failure

__all__ = [
    "ZUDU",
    "ZuduProvider",
    "ZuduSettings",
    "normalize_zudu_call",
    "normalize_zudu_stream",
    "unwrap_zudu",
    "zudu_status",
]

LIVE_CALL_STATUSES = ("ONGOING", "REGISTERED")
"""The upstream ``call_status`` values ``list_active`` asks for."""

MAX_PAGE_SIZE = 100
"""The largest ``limit`` one list request asks for (Zudu's documented lists cap at 100)."""

_T = TypeVar("_T")

_MAX_KNOWN_IDS = 4096
"""How many record-id → call_id pairs seen in lists one provider instance remembers."""


class _Pagination(RawPayload):
    page: int | None = None
    limit: int | None = None
    total: int | None = None
    total_count: int | None = None
    total_pages: int | None = None
    has_next_page: bool | None = None


class _CallList(RawPayload):
    calls: list[Any]
    pagination: _Pagination | None = None


def zudu_envelope_error(payload: Any) -> EnvelopeError | None:
    """Zudu's error envelope (``"status": "error"`` with ``error`` or ``message``), if it is one."""
    if not isinstance(payload, dict):
        return None
    status = payload.get("status")
    if not (isinstance(status, str) and status.strip().lower() == "error"):
        return None
    said = payload.get("error") or payload.get("message")
    if isinstance(said, str) and said.strip():
        return EnvelopeError("Zudu answered with an error: {said}.", said=said)
    return EnvelopeError("Zudu answered with an error.")


def unwrap_zudu(payload: Any) -> Any:
    """The ``data`` of Zudu's envelope; an error envelope or a missing ``data`` is ``BadResponse``.

    Through ``ProviderHTTP`` an error envelope never gets here (the hook raised it, redacted);
    called on its own this refuses it the same way."""
    if not isinstance(payload, dict):
        raise TypeError("not an object")
    reported = zudu_envelope_error(payload)
    if reported is not None:
        raise envelope_failure("zudu", reported)
    data = payload.get("data")
    if data is None:
        raise BadResponse("zudu", "Zudu answered without data.")
    return data


ZUDU = FamilyMember(
    ProviderName("zudu"),
    telephony_keys=("call_sid", "conference_sid", "twilio_call_sid"),
    call_id_extra="zudu_call_id",
)


def zudu_status(raw: str | None) -> CallStatus:
    """Map ``call_status`` (upper or lower case) to the common vocabulary."""
    return family_status(raw)


def normalize_zudu_call(data: Any, *, now: datetime, requested_id: str | None = None) -> LiveCall:
    """One Zudu call record (the envelope's ``data``, or one list entry). Raises on garbage."""
    return normalize_family_call(data, ZUDU, now=now, requested_id=requested_id)


def normalize_zudu_stream(data: Any, *, now: datetime, requested_id: str | None = None) -> StreamDetails:
    """The media side of one Zudu call record."""
    return normalize_family_stream(data, ZUDU, now=now, requested_id=requested_id)


@dataclass(frozen=True)
class FilterForm:
    """One documented spelling of the list's ``filter_criteria``."""

    label: str
    agent_id_as_array: bool
    lower_case_statuses: bool

    def criteria(self, agent_id: str | None) -> dict[str, Any]:
        statuses = [word.lower() if self.lower_case_statuses else word for word in LIVE_CALL_STATUSES]
        criteria: dict[str, Any] = {"call_status": statuses}
        if agent_id is not None:
            criteria["agent_id"] = [agent_id] if self.agent_id_as_array else agent_id
        return criteria


LIST_PAGE_FORM = FilterForm(
    "agent_id as a string with upper-case statuses (the list page)",
    agent_id_as_array=False,
    lower_case_statuses=False,
)
OPENAPI_FORM = FilterForm(
    "agent_id as an array with lower-case statuses (the OpenAPI page)",
    agent_id_as_array=True,
    lower_case_statuses=True,
)


def _list_page(data: Any, page: int, size: int) -> ListedPage:
    parsed = _CallList.model_validate(data)
    paging = parsed.pagination or _Pagination()
    total = paging.total if paging.total is not None else paging.total_count
    if paging.has_next_page is not None:
        more = paging.has_next_page
    elif paging.total_pages is not None:
        more = page + 1 < paging.total_pages
    elif total is not None:
        more = (page + 1) * size < total
    else:
        more = len(parsed.calls) >= size
    return ListedPage(parsed.calls, more=more, total=total)


DEFAULT_BASE_URL = "https://api.zudu.ai"


@dataclass(frozen=True)
class ZuduSettings:
    api_key: SecretStr
    api_secret: SecretStr
    base_url: str = DEFAULT_BASE_URL


class ZuduProvider(FamilyProvider):
    name = ProviderName("zudu")
    member = ZUDU
    env = EnvSpec("ZUDU", DEFAULT_BASE_URL, secrets=("api_key", "api_secret"))
    settings_type = ZuduSettings
    call_id_words = "Zudu id or call_id"
    capabilities = Capabilities(
        upstream_filters=("agent_id",),
        fields=FAMILY_FIELDS,
        not_offered=ZUDU.not_offered,
    )

    def __init__(self, http: ProviderHTTP, *, now: Callable[[], datetime]) -> None:
        super().__init__(http, now=now)
        self._filter_form = LIST_PAGE_FORM
        # Record id -> call_id, as seen side by side in list entries and records: the way back to a
        # call whose record id the single-call path does not take (the documented path id is ``call_id``).
        self._call_ids: OrderedDict[str, str] = OrderedDict()

    @classmethod
    def wire(cls, settings: ZuduSettings) -> Wire:
        api_key = settings.api_key.get_secret_value()
        api_secret = settings.api_secret.get_secret_value()
        return Wire(headers={"X-API-KEY": api_key, "X-API-SECRET": api_secret}, secrets=[api_key, api_secret])

    async def _record(self, call_id: str, read: Callable[[Any], _T]) -> _T:
        """``read`` of the call's record (inside ``ProviderHTTP``'s translation), by the id given or,
        for a record id the path does not take, by the ``call_id`` a list showed with it."""
        self.check_call_id(call_id)

        def parse(payload: Any) -> _T:
            data = unwrap_zudu(payload)
            self._learn_ids(data)
            return read(data)

        try:
            return await self.http.get_json(f"/api/calls/{call_id}", call_id=call_id, parse=parse)
        except CallNotFound:
            zudu_call_id = self._call_ids.get(call_id)
            if zudu_call_id is None:
                raise
            # A record id from a list that the path did not take: ask by the documented id.
            return await self.http.get_json(f"/api/calls/{zudu_call_id}", call_id=call_id, parse=parse)

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        return zudu_envelope_error(payload)

    def _learn_ids(self, record: Any) -> None:
        if not isinstance(record, dict):
            return
        record_id, zudu_call_id = record.get("id"), record.get("call_id")
        if not (isinstance(record_id, str) and isinstance(zudu_call_id, str)) or record_id == zudu_call_id:
            return
        if not (self.accepts_call_id(record_id) and self.accepts_call_id(zudu_call_id)):
            return
        self._call_ids[record_id] = zudu_call_id
        self._call_ids.move_to_end(record_id)
        while len(self._call_ids) > _MAX_KNOWN_IDS:
            self._call_ids.popitem(last=False)

    async def _get_call(self, call_id: str) -> LiveCall:
        return await self._record(
            call_id, lambda data: normalize_zudu_call(data, now=self._now(), requested_id=call_id)
        )

    async def _get_stream(self, call_id: str) -> StreamDetails:
        return await self._record(
            call_id, lambda data: normalize_zudu_stream(data, now=self._now(), requested_id=call_id)
        )

    async def _list_request(self, query: ListQuery, page: int, size: int) -> ListedPage:
        """One list page, in the filter form that last worked; a 400 is retried once in the other."""
        first = self._filter_form
        refused: list[BadResponse] = []
        for form in (first, OPENAPI_FORM if first is LIST_PAGE_FORM else LIST_PAGE_FORM):
            body = {
                "page": page,
                "limit": size,
                "sort_by": "start_timestamp",
                "sort_order": "descending",
                "filter_criteria": form.criteria(query.agent_id),
            }
            try:
                answer = await self.http.post_json(
                    "/api/calls", body, parse=lambda payload: _list_page(unwrap_zudu(payload), page, size)
                )
            except BadResponse as exc:
                if exc.status_code != 400:
                    raise
                refused.append(exc)
                continue
            self._filter_form = form
            return answer
        said = refused[-1].message.partition(" Zudu says: ")[2]
        raise BadResponse(
            self.name.value,
            f"Zudu refused the request (400) for its live-calls list in both documented filter forms: "
            f"{first.label}, then {OPENAPI_FORM.label if first is LIST_PAGE_FORM else LIST_PAGE_FORM.label}; "
            f"this server may not match Zudu's API any more.{' Zudu says: ' + said if said else ''}",
            status_code=400,
        )

    def _read_summary(self, record: Any, now: datetime) -> LiveCall:
        return normalize_zudu_call(record, now=now)

    def _summary(self, record: Any, query: ListQuery, now: datetime) -> LiveCall | None:
        self._learn_ids(record)
        return super()._summary(record, query, now)

    async def _fetch_records(
        self, query: ListQuery, guard: PageGuard, position: int, count: int
    ) -> FamilyRecords:
        # Item offsets onto 0-based pages of ``size``: the window [position, position + count)
        # starts ``skip`` items into ``page`` and may run into the next page(s).
        size = max(1, min(count, MAX_PAGE_SIZE))
        page, skip = divmod(position, size)
        records: list[Any] = []
        while True:
            answer = await self._list_request(query, page, size)
            rest = answer.records[skip:]
            wanted = count - len(records)
            again = self._first_pages.starts_over((query.agent_id, size), page == 0, answer.records)
            taken = unseen_entries(rest[:wanted], guard, known=again)
            if guard.stopped:
                # The page repeats calls already listed (a server ignoring ``page``): stop.
                answer, consumed_all = replace(answer, more=False), True
                break
            records.extend(taken)
            consumed_all = len(rest) <= wanted
            if len(records) >= count or not answer.more or not answer.records:
                break
            page, skip = page + 1, 0
        return FamilyRecords(records, exhausted=consumed_all and not answer.more, total=answer.total)


ADAPTER = ZuduProvider
"""What the registry loads for this folder."""
