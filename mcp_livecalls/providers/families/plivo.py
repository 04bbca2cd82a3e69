"""The Account/Call family (Vobiz <- Plivo): the live-call API of ``Account/{auth_id}/Call``.

Plivo's API is the original and Vobiz's follows it; what they share is read here, and each member
(``providers/vobiz``, ``providers/plivo``) declares only what differs: its name, settings,
auth and pacing (``wire``), where its paths start (``api_prefix``), whether
its sources disagree on the trailing slash (``path_forms_vary``), the variable naming the zone of
its zone-less times (``zone_var``), list filters and list reading (``list_params``,
``read_call_list``), and its error dialect.

Two documented single-call shapes are accepted: the flat ``{"call_status": "in-progress", "from",
"to", "session_start", ...}`` of Vobiz's current docs, OpenAPI spec and SDKs (and of Plivo's
``status=live`` answers), and the legacy Plivo-style ``{"api_id", "calls": [{..., "call_state":
"ACTIVE"}]}``. The list endpoints answer only UUIDs, so a page of summaries is the live and the
queued list (concurrently, each paged with Plivo's ``limit``/``offset``: 20 per request, a server
ignoring ``offset`` is detected) plus one detail request per call a page covers
(``plivo_lists.DetailedListing``). A part that fails (one list, one
call's details) is left out and said in the slice's notes; the rest is listed. Errors are
``{"status": "error", "error": {"code", "message"}}`` or Plivo's ``{"api_id", "error": "..."}``.
Media streams: ``{page, per_page, total, objects: [...]}`` (an older page: one bare object).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar, Protocol, Self, TypeVar
from urllib.parse import quote

from pydantic import SecretStr

from mcp_livecalls.core.models import LiveCall, MediaStream, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound, ProviderError, ProviderUnavailable
from mcp_livecalls.providers.base import LiveCallsProvider, PageGuard, ProviderSlice, gather
from mcp_livecalls.providers.families.plivo_lists import DetailedListing
from mcp_livecalls.providers.families.plivo_records import (
    is_family_error,
    media_streams,
    normalize_call,
    uuid_list,
)
from mcp_livecalls.providers.spec import Capabilities, call_fields
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import NotFoundReply

__all__ = [
    "FIELDS",
    "MAX_LIST_PAGES",
    "NOT_OFFERED",
    "PAGE",
    "AccountCallProvider",
    "FamilySettings",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

PAGE = 20
"""UUIDs asked per list request: Plivo's ``limit`` maximum, and Vobiz's documented cap."""
MAX_LIST_PAGES = 25
"""List requests per list and per listing at most (500 calls): bounds the work of one tool call."""


FIELDS = call_fields("caller_name", "answered_at", "stir_attestation")
"""What the family's calls carry."""
NOT_OFFERED = ("legs", "bridge", "recording state", "agent", "hold/mute per leg", "latency")


@dataclass
class _Listed:
    """One of Vobiz's UUID lists, read page by page."""

    uuids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Miss:
    """A path form that did not answer as Vobiz: a 401, or a 404 that is not Vobiz's own."""

    error: ProviderError


class FamilySettings(Protocol):
    """What a family member's settings carry (``VobizSettings``, ``PlivoSettings``)."""

    @property
    def auth_id(self) -> SecretStr: ...

    @property
    def auth_token(self) -> SecretStr: ...

    @property
    def base_url(self) -> str: ...

    def zone(self) -> tzinfo:
        """The zone of the provider's zone-less times."""
        ...


class AccountCallProvider(LiveCallsProvider):
    """The Plivo-style live-call API (``Account/{auth_id}/Call``), shared by Vobiz and Plivo.

    A member declares its identity (name, settings, ``create``) and these hooks; the capabilities
    are the family's.
    """

    bare_digits_international = True  # "919262171438" is +919262171438 (E.164 without "+")
    request_per_listed_call = True  # the lists answer UUIDs only
    api_prefix: ClassVar[str] = "/v1"
    """Where the ``Account/{auth_id}/Call`` paths start on this provider's host (Plivo: ``/v1``)."""
    path_forms_vary: ClassVar[bool] = False
    """Whether the provider's sources disagree on the trailing slash (then both forms are tried and
    a 401 on one may be the path, not the credentials); Plivo's SDKs all write the slash."""
    zone_var: ClassVar[str | None] = None
    """The variable naming the zone of the provider's zone-less times (``None``: they are UTC)."""
    # Plivo's ``call_direction`` is sent on the live list, but queued calls are filtered here.
    capabilities = Capabilities(
        upstream_filters=(),
        fields=FIELDS,
        not_offered=NOT_OFFERED,
    )

    def __init__(
        self,
        http: ProviderHTTP,
        *,
        auth_id: str,
        now: Callable[[], datetime],
        zone: tzinfo = UTC,
    ) -> None:
        super().__init__(http)
        self._calls_path = f"{self.api_prefix}/Account/{quote(auth_id, safe='')}/Call"
        self._now = now
        self.zone = zone
        self._slash: dict[str, bool] = {}
        """Per endpoint kind, whether the trailing-slash form is the one that answered last."""

    @classmethod
    def built(cls, settings: FamilySettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, auth_id=settings.auth_id.get_secret_value(), now=now, zone=settings.zone())

    # -- requests, in whichever path form Vobiz accepts ------------------------------------------

    def path_form(self, kind: str) -> str:
        """``"/"`` or ``""``: the trailing slash this adapter uses now for ``kind`` of endpoint."""
        return "/" if self._slash.get(kind, True) else ""

    async def _get(
        self,
        kind: str,
        stem: str,
        parse: Callable[[Any], _T],
        params: Mapping[str, str | int] | None = None,
    ) -> _T | NotFoundReply:
        """GET ``/Call{stem}`` in the path form that works for ``kind``; learn it on the way.

        Vobiz's own sources disagree on the trailing slash (narrative pages: ``/Call/``,
        ``/Call/{uuid}/``; the Go SDK: ``/Call``, ``/Call/{uuid}`` for both kinds; the Python SDK's
        ``live_calls/raw_client.py``: ``/Call`` and ``/Call/{uuid}`` with ``status=live`` but
        ``/Call/`` and ``/Call/{uuid}/`` with ``status=queued``) and a form Vobiz does not
        accept may answer 401. So a 401, or a 404 that is not in Vobiz's error shape, is retried
        once in the other form, and the form that answered is remembered for ``kind``. Returns the
        JSON read by ``parse`` (inside ``ProviderHTTP``'s translation), or a ``NotFoundReply``
        holding Vobiz's own 404 body (the call or list is empty).
        """
        slash = self._slash.get(kind, True)
        first = await self._try(stem, slash, parse, params)
        if not isinstance(first, _Miss):
            return first
        if not self.path_forms_vary:
            raise first.error if first.error.status_code == 401 else self._wrong_url()
        second = await self._try(stem, not slash, parse, params)
        if not isinstance(second, _Miss):
            self._slash[kind] = not slash
            logger.info(
                "%s: %s answers in the %s form", self.name.value, kind, "slash" if not slash else "no-slash"
            )
            return second
        raise self._both_forms_failed(first.error, second.error)

    async def _try(
        self,
        stem: str,
        slash: bool,
        parse: Callable[[Any], _T],
        params: Mapping[str, str | int] | None,
    ) -> _T | NotFoundReply | _Miss:
        path = f"{self._calls_path}{stem}{'/' if slash else ''}"
        try:
            reply = await self.http.get_json_or_404(path, params=params, parse=parse)
        except AuthError as exc:
            if exc.status_code != 401:
                raise
            return _Miss(exc)
        except ProviderUnavailable as exc:
            if exc.status_code != 404:
                raise
            return _Miss(exc)  # a 404 without a JSON body: not Vobiz's answer
        if isinstance(reply, NotFoundReply) and not is_family_error(reply.body):
            return _Miss(self._wrong_url())
        return reply

    def _wrong_url(self) -> ProviderUnavailable:
        title = self.title()
        forms = " on both path forms (with and without the trailing slash)" if self.path_forms_vary else ""
        return ProviderUnavailable(
            self.name.value,
            f"{title} answered 404 without {title}'s error body{forms}: this does not look like the "
            f"{title} API; check {self.env.base_url_var}.",
            status_code=404,
        )

    def _both_forms_failed(self, first: ProviderError, second: ProviderError) -> ProviderError:
        if 401 in (first.status_code, second.status_code):
            title = self.title()
            return AuthError(
                self.name.value,
                f"{title} rejected the credentials (401): check {' / '.join(self.credential_vars)}. "
                f"Both path forms {title} documents were tried (with and without the trailing slash); if "
                f"the credentials are right, {title} may be refusing the path form instead (it answers 401 "
                f"to a form it does not accept): check {self.env.base_url_var} and report it.",
                status_code=401,
            )
        return self._wrong_url()

    # -- one call ------------------------------------------------------------------------------

    def normalize(self, payload: Any) -> LiveCall:
        """One call of this provider, read in either documented shape."""
        return normalize_call(
            payload, now=self._now(), zone=self.zone, provider=self.name, zone_var=self.zone_var
        )

    async def _get_call(self, call_id: str) -> LiveCall:
        return await self._ask_call(call_id, likely="live")

    async def _ask_call(self, call_id: str, *, likely: str) -> LiveCall:
        """Ask with the ``status`` the call most likely has, then the other one.

        Vobiz answers live and queued calls separately (and 404 for the other kind); a listed
        queued call is asked as queued first, saving a request.
        """
        self.check_call_id(call_id)
        for status in ("live", "queued") if likely == "live" else ("queued", "live"):
            call = await self._get(
                f"{status}_call",  # the Python SDK writes the two in different forms
                f"/{call_id}",
                self.normalize,
                {"status": status},
            )
            if not isinstance(call, NotFoundReply):
                return call
        raise CallNotFound(self.name.value, call_id)

    # -- lists ---------------------------------------------------------------------------------

    def list_params(self, status: str, query: ListQuery) -> dict[str, str | int]:
        """Filters sent with the ``status`` list besides its paging (Vobiz documents none)."""
        return {}

    def read_call_list(self, payload: Any) -> list[str]:
        """The call UUIDs of one list answer."""
        return uuid_list(payload)

    async def _list(self, status: str, query: ListQuery) -> _Listed:
        """Every UUID of the live or queued list, ``limit``/``offset`` page by page (Plivo's
        paging, which Vobiz does not document: a server that ignores it is detected)."""
        listed = _Listed()
        guard = PageGuard(max_pages=MAX_LIST_PAGES, list_name=f"the {status} list", calls=f"{status} calls")
        offset = 0
        while guard.page():
            try:
                params = {
                    **self.list_params(status, query),
                    "status": status,
                    "limit": PAGE,
                    "offset": offset,
                }
                page = await self._get(f"{status}_list", "", self.read_call_list, params)
                if isinstance(page, NotFoundReply):
                    # Vobiz's own 404 body for a list: an idle account (no calls), not a wrong URL.
                    return listed
            except ProviderError as exc:
                if not offset:
                    raise
                # A later page failing keeps the calls already read; what is missing is said.
                listed.notes.append(
                    f"the {status} list could be read only to its first {len(guard.seen)} calls, so "
                    f"more {status} calls may be missing: {exc}"
                )
                return listed
            # The same calls again: the server ignored offset. Stop rather than list a call twice.
            fresh = guard.fresh(page)
            listed.uuids += [uuid for uuid, new in zip(page, fresh, strict=True) if new]
            if guard.stopped or len(page) != PAGE:
                # Fewer: the last page. More: limit was ignored, so the whole rest came at once.
                break
            offset += len(page)
        listed.notes += guard.notes
        return listed

    async def _call_ids(self, query: ListQuery) -> tuple[list[tuple[str, str]], list[str]]:
        """``(uuid, "live" | "queued")`` for every call Vobiz lists, live first, and notes on what
        could not be read. One list failing leaves the other's calls (with a note); when the other
        has none to show, the failure is the answer."""

        async def read(status: str) -> _Listed | ProviderError:
            try:
                return await self._list(status, query)
            except ProviderError as exc:
                return exc

        live, queued = await gather([lambda: read("live"), lambda: read("queued")])
        for failed, other in ((live, queued), (queued, live)):
            if isinstance(failed, ProviderError) and (isinstance(other, ProviderError) or not other.uuids):
                raise failed  # nothing else to show: the provider failed, not a part of it
        ids: list[tuple[str, str]] = []
        notes: list[str] = []
        seen: set[str] = set()
        for status, listed in (("live", live), ("queued", queued)):
            if isinstance(listed, ProviderError):
                notes.append(f"the {status} list could not be read, so {status} calls are missing: {listed}")
                continue
            notes += listed.notes
            for uuid in listed.uuids:
                if uuid not in seen and self.accepts_call_id(uuid):
                    seen.add(uuid)
                    ids.append((uuid, status))
        return ids, notes

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        listing = DetailedListing(
            lambda: self._call_ids(query),
            lambda uuid, kind: self._ask_call(uuid, likely=kind),
            query=query,
            local_filters=self.local_filters(query),
        )
        return await listing.read(offset, limit)

    # -- streams -------------------------------------------------------------------------------

    async def _get_stream(self, call_id: str) -> StreamDetails:
        call = await self.get_call(call_id)
        not_offered = list(self.capabilities.not_offered)
        streams: list[MediaStream] = []
        try:
            found = await self._get("stream", f"/{call_id}/Stream", lambda p: media_streams(p, self.zone))
            # Vobiz's own 404: no stream on this call.
            streams = [] if isinstance(found, NotFoundReply) else found
        except ProviderError:
            # The stream list is an optional extra: its absence must not hide the call.
            not_offered.append("media streams (the Stream endpoint did not answer)")
        return StreamDetails.of_call(
            call,
            media_streams=streams,
            not_offered=not_offered,
        )
