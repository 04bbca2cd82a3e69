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

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, TypeVar

import httpx2
from pydantic import BeforeValidator, SecretStr

from mcp_livecalls.core.models import (
    Agent,
    CallEvent,
    CallStatus,
    Cost,
    LatencyStats,
    LiveCall,
    ProviderName,
    Recording,
    StreamDetails,
    TranscriptTurn,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import BadResponse, CallNotFound
from mcp_livecalls.providers.base import (
    Capabilities,
    EnvSpec,
    LiveCallsProvider,
    ProviderSlice,
    RawPayload,
    UpstreamPage,
    parse_direction,
    parse_epoch_ms,
    scan,
)
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.pacing import LOCAL_PACING, Pacing
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.translate import EnvelopeError, envelope_failure

__all__ = [
    "ZUDU",
    "FamilyMember",
    "FirstPages",
    "ZuduProvider",
    "ZuduSettings",
    "normalize_family_call",
    "normalize_family_stream",
    "normalize_zudu_call",
    "normalize_zudu_stream",
    "noting_unreadable",
    "read_entries",
    "unseen_entries",
    "unwrap_zudu",
    "zudu_status",
]

_CALL_STATUS = {
    "REGISTERED": CallStatus.QUEUED,  # created, waiting for the call to start
    "SCHEDULED": CallStatus.QUEUED,  # an outbound call planned for later
    "ONGOING": CallStatus.IN_PROGRESS,
    "ENDED": CallStatus.ENDED,
    "ERROR": CallStatus.FAILED,
    "NOT_CONNECTED": CallStatus.FAILED,  # Retell's word for a call that never connected
}
LIVE_CALL_STATUSES = ("ONGOING", "REGISTERED")
"""The upstream ``call_status`` values ``list_active`` asks for."""

MAX_PAGE_SIZE = 100
"""The largest ``limit`` one list request asks for (Zudu's documented lists cap at 100)."""

_TRANSCRIPT_FIELDS = frozenset({"transcript", "transcript_object", "transcript_with_tool_calls"})
_SENSITIVE_FIELDS = _TRANSCRIPT_FIELDS | {"recording_url", "public_log_url", "metadata"}
_HIDDEN_BY_STORAGE_SETTING: dict[str, frozenset[str]] = {
    "everything": frozenset(),
    "everything_except_pii": _TRANSCRIPT_FIELDS | {"public_log_url", "metadata"},
    "basic_attributes_only": _SENSITIVE_FIELDS,
}
_MAX_SETTING_TEXT = 40
_T = TypeVar("_T")

_MAX_KNOWN_IDS = 4096
"""How many record-id → call_id pairs seen in lists one provider instance remembers."""
_MAX_NOTED_IDS = 3
_MAX_META_VALUES = 3
_MAX_META_KEY = 32
_MAX_META_TEXT = 64


def zudu_status(raw: str | None) -> CallStatus:
    """Map ``call_status`` (upper or lower case) to the common vocabulary."""
    if not raw:
        return CallStatus.UNKNOWN
    return _CALL_STATUS.get(raw.strip().upper(), CallStatus.UNKNOWN)


def _finite_or_none(value: Any) -> float | None:
    """A latency figure (a JSON ``number``, or a numeric string as before), or ``None`` for one
    that cannot be read."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _count_or_none(value: Any) -> int | None:
    """A sample count: Retell types ``num`` as ``number``, so ``4.0`` is 4 and a fraction, a negative
    or a non-number is no count (the field is lost, never the call)."""
    number = _finite_or_none(value)
    if number is None or number < 0 or not number.is_integer():
        return None
    return int(number)


_Figure = Annotated[float | None, BeforeValidator(_finite_or_none)]


class _Latency(RawPayload):
    """One ``latency.<name>`` object; each figure that cannot be read is ``None`` on its own."""

    p50: _Figure = None
    p90: _Figure = None
    p99: _Figure = None
    max: _Figure = None
    num: Annotated[int | None, BeforeValidator(_count_or_none)] = None


class _Turn(RawPayload):
    role: str | None = None
    content: str | None = None
    timestamp: float | None = None


class _Event(RawPayload):
    timestamp: float | None = None
    event: str | None = None


class _Cost(RawPayload):
    combined_cost: float | None = None


class _Telephony(RawPayload):
    call_sid: str | None = None
    conference_sid: str | None = None
    twilio_call_sid: str | None = None  # Retell's spelling


class _ZuduCall(RawPayload):
    id: str | None = None
    call_id: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    call_status: str | None = None
    call_type: str | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    start_timestamp: float | None = None
    end_timestamp: float | None = None
    call_duration: float | None = None
    duration_ms: float | None = None  # Retell's name for call_duration
    disconnection_reason: str | None = None
    recording_url: str | None = None
    metadata: dict[str, Any] | None = None
    events: list[_Event] | None = None
    transcript: str | None = None
    transcript_object: list[_Turn] | None = None
    latency: dict[str, _Latency | None] | None = None
    call_cost: _Cost | None = None
    telephony_identifier: _Telephony | None = None


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


@dataclass(frozen=True)
class _Record:
    """One parsed call record, with sensitive fields already removed when the call opted out."""

    raw: _ZuduCall
    hidden: bool
    call_id: str
    extras: dict[str, str | int | float | bool]


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


def _hidden_fields(data: dict[str, Any]) -> tuple[frozenset[str], str | None]:
    """The fields the record's storage settings keep out, and the ``data_storage_setting`` word.

    Fails closed: an opt-out flag that is neither absent nor false, or a storage setting no
    document names, hides as much as ``basic_attributes_only``.
    """
    hidden: set[str] = set()
    opt_out = data.get("opt_out_sensitive_data_storage")
    if opt_out is not None and opt_out is not False and str(opt_out).strip().lower() != "false":
        hidden |= _SENSITIVE_FIELDS
    setting = data.get("data_storage_setting")
    word: str | None = None
    if isinstance(setting, str):
        word = setting.strip().lower()[:_MAX_SETTING_TEXT]
        hidden |= _HIDDEN_BY_STORAGE_SETTING.get(word, _SENSITIVE_FIELDS)
    elif setting is not None:
        hidden |= _SENSITIVE_FIELDS
    return frozenset(hidden), word


def _parse(data: Any, requested_id: str | None) -> _Record:
    if not isinstance(data, dict):
        raise TypeError("not an object")
    dropped, storage_setting = _hidden_fields(data)
    hidden = bool(dropped)
    if hidden:
        # Dropped before parsing: what the call's settings keep out never enters a model.
        data = {key: value for key, value in data.items() if key not in dropped}
    raw = _ZuduCall.model_validate(data)
    record_id = raw.id or None
    zudu_call_id = raw.call_id or None
    extras: dict[str, str | int | float | bool] = {}
    if requested_id is not None and requested_id == zudu_call_id and requested_id != record_id:
        call_id = zudu_call_id
        if record_id:
            extras["record_id"] = record_id
    elif record_id:
        call_id = record_id
        if zudu_call_id and zudu_call_id != record_id:
            extras["zudu_call_id"] = zudu_call_id
    elif zudu_call_id:
        call_id = zudu_call_id
    else:
        raise ValueError("a call record without id and call_id")
    if (raw.call_type or "").strip().upper() == "WEB_CALL":
        extras["call_type"] = "web_call"
    if raw.disconnection_reason:
        extras["disconnection_reason"] = raw.disconnection_reason
    if storage_setting and storage_setting != "everything":
        extras["data_storage_setting"] = storage_setting
    extras.update(_metadata(raw.metadata))
    return _Record(raw=raw, hidden=hidden, call_id=call_id, extras=extras)


def _metadata(metadata: dict[str, Any] | None) -> dict[str, str | int | float | bool]:
    """A few short scalar metadata values (``meta.<key>``); nested or long values are skipped."""
    kept: dict[str, str | int | float | bool] = {}
    for key, value in (metadata or {}).items():
        if len(kept) == _MAX_META_VALUES:
            break
        if not isinstance(key, str) or not key or len(key) > _MAX_META_KEY:
            continue
        if isinstance(value, str):
            if value and len(value) <= _MAX_META_TEXT:
                kept[f"meta.{key}"] = value
        elif isinstance(value, bool | int | float):
            kept[f"meta.{key}"] = value
    return kept


def _duration_s(raw: _ZuduCall, now: datetime) -> int | None:
    duration_ms = raw.call_duration if raw.call_duration is not None else raw.duration_ms
    if duration_ms is not None:
        return max(0, int(duration_ms // 1000))
    started = parse_epoch_ms(raw.start_timestamp)
    if started is None:
        return None
    until = parse_epoch_ms(raw.end_timestamp) or now
    return max(0, int((until - started).total_seconds()))


def _latency(raw: _ZuduCall) -> dict[str, LatencyStats]:
    latency: dict[str, LatencyStats] = {}
    for name, stats in (raw.latency or {}).items():
        if stats is None:
            continue
        normalized = LatencyStats(
            p50_ms=stats.p50, p90_ms=stats.p90, p99_ms=stats.p99, max_ms=stats.max, samples=stats.num
        )
        if normalized != LatencyStats():
            latency[name] = normalized
    return latency


def _transcript(raw: _ZuduCall) -> list[TranscriptTurn]:
    turns = [
        TranscriptTurn(role=turn.role or "unknown", text=turn.content, at=parse_epoch_ms(turn.timestamp))
        for turn in raw.transcript_object or []
        if turn.content
    ]
    if not turns and raw.transcript and raw.transcript.strip():
        turns = [TranscriptTurn(role="transcript", text=raw.transcript)]
    return turns


def _recording(raw: _ZuduCall) -> Recording | None:
    return Recording(url=raw.recording_url) if raw.recording_url else None


def _same_cost(combined_cost: float) -> Cost:
    return Cost(total=combined_cost)


_NOT_OFFERED = ("legs", "bridge", "hold/mute per leg")


@dataclass(frozen=True)
class FamilyMember:
    """What differs between providers whose call records follow Retell's (Zudu, Retell itself):
    the reading of a record below is shared, these are its parameters."""

    provider: ProviderName
    not_offered: tuple[str, ...] = _NOT_OFFERED
    cost: Callable[[float], Cost] = _same_cost
    """``Cost`` of ``call_cost.combined_cost`` (Retell counts cents; Zudu names no unit)."""


ZUDU = FamilyMember(ProviderName("zudu"))


def normalize_family_call(
    data: Any, member: FamilyMember, *, now: datetime, requested_id: str | None = None
) -> LiveCall:
    """One call record of ``member`` (an envelope's ``data``, or one list entry). Raises on garbage.

    ``requested_id`` is the id the caller looked the call up by, to report the call under it.
    """
    record = _parse(data, requested_id)
    raw = record.raw
    return LiveCall(
        provider=member.provider,
        call_id=record.call_id,
        status=zudu_status(raw.call_status),
        provider_status=raw.call_status or None,
        direction=parse_direction(raw.direction),
        from_number=raw.from_number or None,
        to_number=raw.to_number or None,
        started_at=parse_epoch_ms(raw.start_timestamp),
        duration_s=_duration_s(raw, now),
        agent=Agent(id=raw.agent_id, name=raw.agent_name or None) if raw.agent_id else None,
        recording=_recording(raw),
        latency=_latency(raw),
        cost=member.cost(raw.call_cost.combined_cost)
        if raw.call_cost and raw.call_cost.combined_cost is not None
        else None,
        transcript=_transcript(raw),
        sensitive_data_hidden=True if record.hidden else None,
        extras=record.extras,
    )


def normalize_zudu_call(data: Any, *, now: datetime, requested_id: str | None = None) -> LiveCall:
    """One Zudu call record (the envelope's ``data``, or one list entry). Raises on garbage."""
    return normalize_family_call(data, ZUDU, now=now, requested_id=requested_id)


def normalize_family_stream(
    data: Any, member: FamilyMember, *, now: datetime, requested_id: str | None = None
) -> StreamDetails:
    """The media side of one call record: telephony ids, recording, latency, events, transcript."""
    record = _parse(data, requested_id)
    raw = record.raw
    telephony: dict[str, str] = {}
    if raw.telephony_identifier is not None:
        for key in ("call_sid", "conference_sid", "twilio_call_sid"):
            value = getattr(raw.telephony_identifier, key)
            if value:
                telephony[key] = value
    return StreamDetails(
        provider=member.provider,
        call_id=record.call_id,
        status=zudu_status(raw.call_status),
        provider_status=raw.call_status or None,
        duration_s=_duration_s(raw, now),
        recording=_recording(raw),
        telephony_ids=telephony,
        latency=_latency(raw),
        events=[
            CallEvent(at=parse_epoch_ms(event.timestamp), name=event.event)
            for event in raw.events or []
            if event.event
        ],
        transcript=_transcript(raw),
        sensitive_data_hidden=True if record.hidden else None,
        not_offered=list(member.not_offered),
    )


def normalize_zudu_stream(data: Any, *, now: datetime, requested_id: str | None = None) -> StreamDetails:
    """The media side of one Zudu call record."""
    return normalize_family_stream(data, ZUDU, now=now, requested_id=requested_id)


def read_entries(
    provider: LiveCallsProvider, records: list[Any], read: Callable[[Any], LiveCall | None]
) -> tuple[list[LiveCall | None], list[str]]:
    """``read`` of each list entry, and the names of the entries that could not be read.

    One unreadable entry costs that entry, not the page: its slot stays ``None`` so the offsets
    of the others hold. Several entries none of which can be read are not one odd entry but an
    answer that is not what the provider documents: ``BadResponse``, as a whole page is.
    """
    calls: list[LiveCall | None] = []
    failed: list[tuple[Any, TypeError | ValueError]] = []
    for record in records:
        if record is None:  # a slot already emptied (a call listed earlier in the scan)
            calls.append(None)
            continue
        try:
            calls.append(read(record))
        except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            calls.append(None)
            failed.append((record, exc))
    if len(failed) > 1 and len(failed) == sum(record is not None for record in records):
        raise provider.http.translated(failed[0][1])
    return calls, [_entry_name(provider, record) for record, _ in failed]


def unseen_entries(records: list[Any], seen: set[str]) -> list[Any]:
    """``records`` with each call already listed in this scan (by ``id``, else ``call_id``)
    replaced by ``None``, so its slot keeps the offsets; ``seen`` learns the rest. A record without
    a readable id is kept as it is (``read_entries`` judges it)."""
    fresh: list[Any] = []
    for record in records:
        key = _entry_id(record)
        if key is not None and key in seen:
            fresh.append(None)
            continue
        if key is not None:
            seen.add(key)
        fresh.append(record)
    return fresh


def _entry_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    return next((v for v in (record.get("id"), record.get("call_id")) if isinstance(v, str)), None)


class FirstPages:
    """The ids the first page of each filter's list answered (bounded), so a later page that
    starts over with them (a server ignoring ``page``, ``skip`` or the key) is seen even when the
    caller pages on in a later request."""

    def __init__(self) -> None:
        self._ids: OrderedDict[Any, tuple[str, ...]] = OrderedDict()

    def starts_over(self, slot: Any, first: bool, records: list[Any]) -> bool:
        """Remembers ``records`` when ``first``; else whether they are the first page again."""
        ids = tuple(i for i in map(_entry_id, records) if i is not None)
        if first:
            self._ids[slot] = ids
            self._ids.move_to_end(slot)
            while len(self._ids) > _MAX_KNOWN_IDS:
                self._ids.popitem(last=False)
            return False
        return bool(ids) and self._ids.get(slot) == ids


STALLED_NOTE = (
    "a page of {title}'s list repeated calls already listed (it added nothing); paging stopped "
    "there, so more live calls may exist"
)
"""The note when a list page adds no call: ``{title}`` is the provider's title."""


def _entry_name(provider: LiveCallsProvider, record: Any) -> str:
    """An unreadable entry's id if it has a printable one, else ``?``."""
    if isinstance(record, dict):
        for key in ("id", "call_id"):
            value = record.get(key)
            if isinstance(value, str) and provider.accepts_call_id(value):
                return value
    return "?"


def noting_unreadable(provider: LiveCallsProvider, found: ProviderSlice, names: list[str]) -> ProviderSlice:
    """``found`` with a note for the list entries left out because they could not be read."""
    if not names:
        return found
    return replace(found, notes=[*found.notes, unreadable_note(provider, names)])


def unreadable_note(provider: LiveCallsProvider, names: list[str]) -> str:
    """The slice's note for list entries left out because they could not be read."""
    count = len(names)
    shown = ", ".join(name for name in names[:_MAX_NOTED_IDS] if name != "?")
    more = f" (e.g. {shown})" if shown else ""
    entries = "entry" if count == 1 else "entries"
    return provider.http.redact(
        f"left out {count} list {entries} that could not be read{more}; the rest of the page stands"
    )


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


@dataclass(frozen=True)
class _ListPage:
    records: list[Any]
    more: bool
    """Whether upstream has items after this page."""
    total: int | None


def _list_page(data: Any, page: int, size: int) -> _ListPage:
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
    return _ListPage(parsed.calls, more=more, total=total)


DEFAULT_BASE_URL = "https://api.zudu.ai"


@dataclass(frozen=True)
class ZuduSettings:
    api_key: SecretStr
    api_secret: SecretStr
    base_url: str = DEFAULT_BASE_URL


class ZuduProvider(LiveCallsProvider):
    name = ProviderName("zudu")
    credential_vars = ("ZUDU_API_KEY", "ZUDU_API_SECRET")
    env = EnvSpec("ZUDU", DEFAULT_BASE_URL, secrets=("api_key", "api_secret"))
    settings_type = ZuduSettings
    call_id_words = "Zudu id or call_id"
    capabilities = Capabilities(
        upstream_filters=("agent_id",),
        fields=(
            "status",
            "direction",
            "from_number",
            "to_number",
            "started_at",
            "duration_s",
            "agent",
            "recording",
            "latency",
            "cost",
            "transcript",
            "events",
            "telephony_ids",
        ),
        not_offered=_NOT_OFFERED,
    )

    def __init__(self, http: ProviderHTTP, *, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._now = now
        self._filter_form = LIST_PAGE_FORM
        self._first_pages = FirstPages()
        # Record id -> call_id, as seen side by side in list entries and records: the way back to a
        # call whose record id the single-call path does not take (the documented path id is ``call_id``).
        self._call_ids: OrderedDict[str, str] = OrderedDict()

    @classmethod
    def create(
        cls,
        settings: ZuduSettings,
        client: httpx2.AsyncClient,
        policy: HttpPolicy,
        now: Callable[[], datetime],
        pacing: Pacing = LOCAL_PACING,
    ) -> ZuduProvider:
        api_key = settings.api_key.get_secret_value()
        api_secret = settings.api_secret.get_secret_value()
        http = cls._provider_http(
            client,
            policy,
            settings.base_url,
            headers={"X-API-KEY": api_key, "X-API-SECRET": api_secret},
            secrets=[api_key, api_secret],
            pacing=pacing,
        )
        return cls(http, now=now)

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

    async def _list_request(self, query: ListQuery, page: int, size: int) -> _ListPage:
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

    def _summary(self, record: Any, query: ListQuery, now: datetime) -> LiveCall | None:
        """A list entry, or ``None`` for one the upstream filters should have left out.

        A status word no document mentions stays in the list as ``unknown`` (the raw word kept):
        Zudu answered it to a query for live calls, and hiding it would under-report them.
        """
        call = normalize_zudu_call(record, now=now)
        word = (call.provider_status or "").strip().upper()
        if word not in LIVE_CALL_STATUSES and word in _CALL_STATUS:
            return None
        if query.agent_id is not None and (call.agent is None or call.agent.id != query.agent_id):
            return None
        return call

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        unreadable: list[str] = []
        notes: list[str] = []
        seen: set[str] = set()

        async def fetch(position: int, count: int) -> UpstreamPage:
            # Item offsets onto 0-based pages of ``size``: the window [position, position + count)
            # starts ``skip`` items into ``page`` and may run into the next page(s).
            size = max(1, min(count, MAX_PAGE_SIZE))
            page, skip = divmod(position, size)
            records: list[Any] = []
            while True:
                answer = await self._list_request(query, page, size)
                rest = answer.records[skip:]
                wanted = count - len(records)
                taken = unseen_entries(rest[:wanted], seen)
                again = self._first_pages.starts_over((query.agent_id, size), page == 0, answer.records)
                if again or (taken and all(record is None for record in taken)):
                    # The page repeats calls already listed (a server ignoring ``page``): stop.
                    notes.append(STALLED_NOTE.format(title=self.title()))
                    answer, consumed_all = replace(answer, more=False), True
                    break
                records.extend(taken)
                consumed_all = len(rest) <= wanted
                if len(records) >= count or not answer.more or not answer.records:
                    break
                page, skip = page + 1, 0
            now = self._now()

            def read(record: Any) -> LiveCall | None:
                self._learn_ids(record)
                return self._summary(record, query, now)

            calls, failed = read_entries(self, records, read)
            unreadable.extend(failed)
            return UpstreamPage(calls, exhausted=consumed_all and not answer.more, total=answer.total)

        found = await scan(
            fetch, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )
        found = noting_unreadable(self, found, unreadable)
        return replace(found, notes=[*notes, *found.notes]) if notes else found


ADAPTER = ZuduProvider
"""What the registry loads for this folder."""
