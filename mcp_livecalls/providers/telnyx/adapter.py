"""Telnyx (Call Control API v2) live calls: the active calls of each configured connection.

Facts and where they come from (team-telnyx/telnyx-python at commit 6d68c8ca, and Telnyx's API
reference pages "List all active calls for given connection" and "Retrieve a call status", whose
OpenAPI files are ``call-control/active-calls.yml`` and ``call-control/call-information.yml``):

* Base ``https://api.telnyx.com`` with every path under ``/v2``; ``Authorization: Bearer <API key>``
  (the reference pages' ``bearerAuth``; the SDK's ``api_key``).
* ``GET /v2/connections/{connection_id}/active_calls`` lists the calls alive on one connection
  ("SIP connections with webhook_url or xml_request_url, call control or texml"): there is no
  account-wide list, so which connections to read is configuration (``TELNYX_CONNECTION_IDS``,
  comma-separated). Items: ``call_control_id``, ``call_leg_id``, ``call_session_id``,
  ``client_state``, ``call_duration`` (seconds), ``record_type: "call"`` (SDK
  ``types/connection_list_active_calls_response.py``). No number, direction, status or start
  time: a listed call is alive, so it reads ``in_progress`` (``provider_status: "active"``) and
  starts ``call_duration`` seconds before now; a direction filter therefore keeps none of them.
* Paging, where the sources disagree: the reference calls the list "cursor paginated" and its
  example answers ``meta: {cursors: {after, before}, next, previous, total_items}`` (the SDK's
  first generated types, commit 11dcec9f, list ``page[after]``, ``page[before]``,
  ``page[limit]``, ``page[size]``, ``page[number]``); the SDK since 2026-01 (commit b9d85d42 and
  on) sends ``page[number]``/``page[size]`` and reads ``meta: {page_number, total_pages}``. So a
  page asks ``page[size]``; the next is asked by ``page[after]`` when the answer names a cursor,
  else by ``page[number]`` while ``page_number < total_pages``. A cursor or page that leads back,
  or a page whose calls were all listed already, ends that connection's list with a note.
* ``GET /v2/calls/{call_control_id}`` answers ``data: {call_control_id, call_leg_id,
  call_session_id, client_state, is_alive, call_duration, start_time, end_time, record_type}``
  (SDK ``types/call_retrieve_status_response.py``); "data is available 10 minutes after call
  ended": ``is_alive: false`` is an ended call (``CallNotFound``, as for every provider).
* ``record_type`` is ``"call"`` in both answers; a record of another type (none is documented)
  keeps its word as ``provider_status`` and reads ``unknown``.
* Errors are ``{"errors": [{"code", "title", "detail", "source", "meta"}]}`` (the reference's
  error schema); a 404 or a 422 of one call is ``CallNotFound``.

Call ids: a ``call_control_id`` is written ``v3:<base64url>`` (the reference's example
``v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg``); its ``:`` is not safe in this
server's ids and resource URIs, so the id is shown with ``-`` in its place (``v3-MdI9…``) and
either form is accepted from a caller. ``client_state`` is the application's own opaque data:
not shown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import Field, SecretStr

from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import BadResponse, CallNotFound, ProviderError
from mcp_livecalls.providers.base import Capabilities, EnvSpec, LiveCallsProvider, ProviderSlice, Wire
from mcp_livecalls.providers.joined import Listed, join_lists, scan_joined
from mcp_livecalls.providers.paging import PageGuard
from mcp_livecalls.providers.reading import RawPayload, parse_iso
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import EnvelopeError, find_message

__all__ = [
    "MAX_LIST_PAGES",
    "PAGE_SIZE",
    "TelnyxProvider",
    "TelnyxSettings",
    "normalize_telnyx_call",
    "shown_call_id",
    "telnyx_call_id",
]

DEFAULT_BASE_URL = "https://api.telnyx.com"
PAGE_SIZE = 250
"""Calls asked per page (an active call item is about 300 bytes)."""
MAX_LIST_PAGES = 10
"""Pages followed per connection at most: bounds one tool call's work."""
MAX_CONNECTIONS = 20
"""Connections read at most (one list each, asked concurrently)."""
NOT_OFFERED = (
    "numbers",
    "direction",
    "ringing or hold state",
    "agent",
    "legs",
    "recording",
    "transcript",
    "cost",
    "media streams",
)
_VERSIONED = re.compile(r"(v[0-9]{1,3})[:-](.+)")
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def shown_call_id(control_id: str) -> str:
    """The id a caller sees for ``control_id``: ``v3:abc`` is shown ``v3-abc``."""
    match = _VERSIONED.fullmatch(control_id)
    return f"{match[1]}-{match[2]}" if match else control_id


def telnyx_call_id(call_id: str) -> str:
    """The ``call_control_id`` Telnyx knows for a caller's id (either form)."""
    match = _VERSIONED.fullmatch(call_id)
    return f"{match[1]}:{match[2]}" if match else call_id


@dataclass(frozen=True)
class TelnyxSettings:
    api_key: SecretStr
    connection_ids: str = ""
    """Comma-separated connection ids whose active calls are listed (``TELNYX_CONNECTION_IDS``)."""
    public_key: str = ""
    """The account's webhook public key (base64 Ed25519, from the portal): not a secret."""
    base_url: str = DEFAULT_BASE_URL

    def connections(self) -> tuple[list[str], list[str]]:
        """The configured connection ids that are safe in a path, and those that are not."""
        parts = [part.strip() for part in self.connection_ids.split(",") if part.strip()]
        kept = list(dict.fromkeys(part for part in parts if _CONNECTION_ID.fullmatch(part)))
        return kept, [part for part in parts if not _CONNECTION_ID.fullmatch(part)]


class _Item(RawPayload):
    call_control_id: str = Field(min_length=1)
    call_leg_id: str | None = None
    call_session_id: str | None = None
    call_duration: int | None = None
    is_alive: bool | None = None
    record_type: str | None = None
    start_time: str | None = None
    end_time: str | None = None


class _Cursors(RawPayload):
    after: str | None = None


class _Meta(RawPayload):
    cursors: _Cursors | None = None
    next: str | None = None
    total_items: int | None = None
    page_number: int | None = None
    total_pages: int | None = None


class _ListAnswer(RawPayload):
    data: list[Any]
    meta: _Meta | None = None


class _CallAnswer(RawPayload):
    data: _Item


def normalize_telnyx_call(payload: Any, *, now: datetime, connection_id: str | None = None) -> LiveCall:
    """One active-call item or a call status's ``data``. Raises on garbage."""
    raw = _Item.model_validate(payload)
    duration = max(0, raw.call_duration) if raw.call_duration is not None else None
    started = parse_iso(raw.start_time)
    if started is None and duration is not None:
        started = now - timedelta(seconds=duration)
    alive = raw.is_alive is not False
    kind = (raw.record_type or "call").strip().lower()
    # The leg and session ids stay out: the call's line is all a model reads of a Telnyx call (the
    # README's token budget: a single call at most 30 % of Telnyx's JSON, whose id alone is ~40 tokens).
    extras: dict[str, str | int | float | bool] = {"connection_id": connection_id} if connection_id else {}
    return LiveCall(
        provider=ProviderName("telnyx"),
        call_id=shown_call_id(raw.call_control_id),
        status=CallStatus.UNKNOWN
        if kind != "call"
        else CallStatus.IN_PROGRESS
        if alive
        else CallStatus.ENDED,
        provider_status=raw.record_type if kind != "call" else "active" if alive else "ended",
        started_at=started,
        duration_s=duration,
        extras=extras,
    )


def telnyx_errors(payload: Any) -> list[dict[str, Any]]:
    """The items of Telnyx's ``errors`` array (an error body), else ``[]``."""
    found = payload.get("errors") if isinstance(payload, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


@dataclass(frozen=True)
class _Page:
    calls: list[LiveCall]
    unreadable: int
    after: str | None
    number: int | None
    """The next ``page[number]`` when the answer pages by number and more pages follow."""


def _read_page(payload: Any, *, now: datetime, connection_id: str, asked: int) -> _Page:
    answer = _ListAnswer.model_validate(payload)
    calls: list[LiveCall] = []
    first: ValueError | None = None
    for item in answer.data:
        try:
            calls.append(normalize_telnyx_call(item, now=now, connection_id=connection_id))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            first = first or exc
    if first is not None and not calls:
        raise first
    meta = answer.meta or _Meta()
    after = meta.cursors.after if meta.cursors is not None else None
    number = None
    if not after and meta.total_pages is not None:
        current = meta.page_number or asked
        number = current + 1 if current < meta.total_pages else None
    return _Page(calls, len(answer.data) - len(calls), after or None, number)


class TelnyxProvider(LiveCallsProvider):
    name = ProviderName("telnyx")
    env = EnvSpec("TELNYX", DEFAULT_BASE_URL, secrets=("api_key",), texts=("connection_ids", "public_key"))
    settings_type = TelnyxSettings
    call_id_words = "Telnyx v3-… id"
    capabilities = Capabilities(
        upstream_filters=(),
        fields=("status", "started_at", "duration_s"),
        not_offered=NOT_OFFERED,
        hold_read=False,
    )

    def __init__(
        self, http: ProviderHTTP, *, connections: list[str], invalid: int, now: Callable[[], datetime]
    ) -> None:
        super().__init__(http)
        self._connections = connections[:MAX_CONNECTIONS]
        self._notes: list[str] = []
        if invalid:
            self._notes.append(f"{invalid} of TELNYX_CONNECTION_IDS left out: not a valid connection id")
        if len(connections) > MAX_CONNECTIONS:
            self._notes.append(f"only the first {MAX_CONNECTIONS} of TELNYX_CONNECTION_IDS are read")
        if not connections:
            self._notes.append(
                "no connection to list: Telnyx lists active calls per connection, set TELNYX_CONNECTION_IDS"
            )
        self._now = now

    @classmethod
    def wire(cls, settings: TelnyxSettings) -> Wire:
        key = settings.api_key.get_secret_value()
        return Wire(
            headers={"Authorization": f"Bearer {key}"},
            secrets=[key],
            not_found_hint="Active calls are read per connection: check TELNYX_CONNECTION_IDS too.",
        )

    @classmethod
    def built(cls, settings: TelnyxSettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        kept, invalid = settings.connections()
        return cls(http, connections=kept, invalid=len(invalid), now=now)

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        """Telnyx's ``errors`` body inside a 2xx answer (not documented; refused like the real one)."""
        if not telnyx_errors(payload) or "data" in payload:
            return None
        said = cls.error_message(payload)
        return EnvelopeError(
            "Telnyx answered with an error: {said}" if said else "Telnyx answered with an error.", said=said
        )

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """``detail`` (or ``title``) of the first error, with its ``code``."""
        for item in telnyx_errors(payload):
            text = item.get("detail") or item.get("title")
            if isinstance(text, str) and text:
                code = item.get("code")
                return f"{text} (code {code})" if isinstance(code, str | int) and code != "" else text
        return find_message(payload)

    def accepts_call_id(self, call_id: str) -> bool:
        return super().accepts_call_id(shown_call_id(call_id))

    # -- one call ------------------------------------------------------------------------------

    async def _get_call(self, call_id: str) -> LiveCall:
        self.check_call_id(call_id)
        upstream = telnyx_call_id(call_id)

        def parse(payload: Any) -> LiveCall:
            return normalize_telnyx_call(
                _CallAnswer.model_validate(payload).data.model_dump(), now=self._now()
            )

        try:
            call: LiveCall = await self.http.get_json(f"/v2/calls/{upstream}", call_id=call_id, parse=parse)
        except BadResponse as exc:
            if exc.status_code == 422:  # the reference's only documented error answer of this route
                raise CallNotFound(self.name.value, call_id) from None
            raise
        if call.status is CallStatus.ENDED:
            raise CallNotFound(self.name.value, call_id)
        return call

    async def _get_stream(self, call_id: str) -> StreamDetails:
        """The call's status and duration: Telnyx has no legs, recording or streams to read for a
        live call. What is not offered is said once, by ``livecalls://providers`` (this line is
        already ~30 % of Telnyx's JSON, its id alone ~40 tokens), not on every call."""
        call = await self.get_call(call_id)
        return StreamDetails.of_call(
            call,
        )

    # -- the active lists ----------------------------------------------------------------------

    async def _list(self, connection_id: str) -> Listed:
        """Every active call of one connection, page after page (at most ``MAX_LIST_PAGES``)."""
        listed = Listed()
        where = f"connection {connection_id}"
        guard = PageGuard(max_pages=MAX_LIST_PAGES, list_name=f"the list of {where}", calls="calls")
        path = f"/v2/connections/{connection_id}/active_calls"
        params: dict[str, str | int] = {"page[size]": PAGE_SIZE}
        guard.follows(tuple(sorted(params.items())))
        unreadable, number = 0, 1
        while guard.page():
            try:
                page = await self.http.get_json(
                    path,
                    params=params,
                    parse=functools.partial(self._page, connection_id=connection_id, asked=number),
                )
            except ProviderError as exc:
                if not listed.calls and not unreadable:
                    raise
                listed.notes.append(
                    f"{where} could be read only to its first {len(listed.calls)} calls: {exc}"
                )
                break
            fresh = guard.fresh([call.call_id for call in page.calls])
            listed.calls += [call for call, new in zip(page.calls, fresh, strict=True) if new]
            unreadable += page.unreadable
            if page.after is not None:
                following: dict[str, str | int] = {"page[size]": PAGE_SIZE, "page[after]": page.after}
            elif page.number is not None:
                number = page.number
                following = {"page[size]": PAGE_SIZE, "page[number]": number}
            else:
                break
            if guard.stopped or not guard.follows(tuple(sorted(following.items()))):
                break
            params = following
        listed.notes += guard.notes
        if unreadable:
            listed.notes.append(
                f"{unreadable} call{'s' if unreadable != 1 else ''} of {where} left out: unreadable"
            )
        return listed

    def _page(self, payload: Any, *, connection_id: str, asked: int) -> _Page:
        return _read_page(payload, now=self._now(), connection_id=connection_id, asked=asked)

    async def _live_calls(self) -> tuple[list[LiveCall], list[str]]:
        """Every connection's list joined in configuration order, each call once, and the notes."""
        calls, notes = await join_lists(
            self._connections,
            self._list,
            missing=lambda connection, error: (
                f"connection {connection} could not be read, so its calls are missing: {error}"
            ),
        )
        return calls, [*self._notes, *notes]

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        async def load() -> tuple[list[LiveCall], list[str]]:
            return await self._live_calls() if query.agent_id is None else ([], list(self._notes))

        return await scan_joined(
            load, query=query, local_filters=self.local_filters(query), offset=offset, limit=limit
        )


ADAPTER = TelnyxProvider
"""What the registry loads for this folder."""
