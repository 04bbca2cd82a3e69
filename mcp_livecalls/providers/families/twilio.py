"""The Twilio family: the REST API 2010-04-01 read once for every member that serves it.

Twilio is the original (``providers/twilio/adapter.py`` keeps its facts); SignalWire's
Compatibility ("LaML"/cXML) API serves the same resources under its own host and path prefix
(``providers/signalwire/adapter.py``). A member declares what differs as class attributes:
``api_prefix`` (before ``/2010-04-01``), ``call_sid`` (the form of a call's id: no request is made
for another), ``list_forms`` (the ``Calls`` paths a ``next_page_uri`` may name); the capabilities are the
family's. Names in notes and errors are the member's title. The reading is the same: the
three live status lists joined (``in-progress``, ``ringing``, ``queued``), each along
``next_page_uri`` under ``PageGuard``; one call by its sid, ended statuses not live; legs, hold and
mute from the in-progress conferences' participants.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlsplit

from mcp_livecalls.core.models import CallStatus, LiveCall, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import CallNotFound, ProviderError
from mcp_livecalls.providers.base import LiveCallsProvider, PageGuard, ProviderSlice, gather
from mcp_livecalls.providers.families.twilio_records import (
    NOT_LIVE,
    ConferencesPage,
    ListPage,
    Participant,
    ParticipantsPage,
    calls_page,
    compat_error,
    leg_of,
    normalize_compat_call,
)
from mcp_livecalls.providers.joined import Listed, join_lists, scan_joined
from mcp_livecalls.providers.reading import rest_call_status
from mcp_livecalls.providers.spec import Capabilities, call_fields
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import EnvelopeError

__all__ = [
    "API_VERSION",
    "FIELDS",
    "LIVE_STATUSES",
    "MAX_CONFERENCES",
    "MAX_LIST_PAGES",
    "NOT_OFFERED",
    "PAGE_SIZE",
    "CompatProvider",
]

API_VERSION = "/2010-04-01"

LIVE_STATUSES = ("in-progress", "ringing", "queued")
"""The statuses asked for, one list each, in the order the lists are joined."""
PAGE_SIZE = 200
"""Calls asked per list request (both members allow up to 1000; a call object is about 2 KB, so
200 keep a page well under ``LIVECALLS_MAX_RESPONSE_BYTES``)."""
MAX_LIST_PAGES = 10
"""Pages followed per status list at most (2,000 calls): bounds one tool call's work."""
MAX_CONFERENCES = 20
"""In-progress conferences searched for a call's legs at most (the newest; one request each)."""
PARTICIPANTS_PAGE = 250
"""Participants asked per conference: Twilio's documented maximum for one conference."""

FIELDS = call_fields("caller_name", "legs")
"""What every member's calls fill in."""
NOT_OFFERED = ("agent", "recording state", "bridge", "transcript", "latency", "cost", "media streams")


class CompatProvider(LiveCallsProvider):
    """A member of the Twilio family: its account's calls under ``api_prefix`` + ``/2010-04-01``."""

    api_prefix: ClassVar[str] = ""
    """What precedes ``/2010-04-01`` in every path (SignalWire: ``/api/laml``)."""
    call_sid: ClassVar[re.Pattern[str]] = re.compile(r"CA[0-9a-fA-F]{32}")
    """The form of a call's id; an id of another form is not asked for (the provider answers 404)."""
    list_forms: ClassVar[tuple[str, ...]] = ("Calls.json",)
    """The names of the account's call list a ``next_page_uri`` may use to stay on it."""
    capabilities = Capabilities(upstream_filters=(), fields=FIELDS, not_offered=NOT_OFFERED, hold_read=False)

    def __init__(self, http: ProviderHTTP, *, account_sid: str, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._account_path = f"{self.api_prefix}{API_VERSION}/Accounts/{quote(account_sid, safe='')}"
        self._calls_json = f"{self._account_path}/Calls.json"
        self._now = now

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        """The family's error body inside a 2xx answer (not documented; refused like the real thing)."""
        code, status, message = compat_error(payload)
        if code is None or status is None or status < 400 or "sid" in payload or "calls" in payload:
            return None
        said = f" {cls.title()} says: {{said}}" if message else ""
        return EnvelopeError(
            f"{cls.title()} answered 200 with an error inside (status {status}, code {code}).{said}",
            said=message,
            status_code=status,
        )

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """``message (code 20404)``: the code is what the member's error pages are indexed by."""
        code, _, message = compat_error(payload)
        if message is None:
            return None
        return message if code is None else f"{message} (code {code})"

    # -- one call ------------------------------------------------------------------------------

    async def _get_call(self, call_id: str) -> LiveCall:
        self.check_call_id(call_id)
        if not self.call_sid.fullmatch(call_id):
            raise CallNotFound(self.name.value, call_id)  # not a call SID: the provider would answer 404
        call = await self.http.get_json(
            f"{self._account_path}/Calls/{call_id}.json",
            call_id=call_id,
            parse=lambda payload: normalize_compat_call(payload, now=self._now(), provider=self.name.value),
        )
        if call.status in NOT_LIVE:
            raise CallNotFound(self.name.value, call_id)
        return call

    # -- the live lists ------------------------------------------------------------------------

    def _next_page(self, uri: str) -> dict[str, str] | None:
        """The query of ``next_page_uri`` when it stays on this account's ``Calls.json``."""
        parts = urlsplit(uri)
        if parts.path not in {f"{self._account_path}/{form}" for form in self.list_forms}:
            return None
        return dict(parse_qsl(parts.query, keep_blank_values=True))

    def _calls_page(self, payload: Any) -> ListPage:
        return calls_page(payload, now=self._now(), provider=self.name.value)

    async def _list(self, status: str) -> Listed:
        """Every call of one status list, along ``next_page_uri`` (at most ``MAX_LIST_PAGES``)."""
        listed = Listed()
        guard = PageGuard(max_pages=MAX_LIST_PAGES, list_name=f"the {status} list", calls=f"{status} calls")
        params: dict[str, str | int] = {"Status": status, "PageSize": str(PAGE_SIZE)}
        guard.follows(tuple(sorted(params.items())))
        unreadable = 0
        while guard.page():
            try:
                page = await self.http.get_json(self._calls_json, params=params, parse=self._calls_page)
            except ProviderError as exc:
                if not listed.calls and not unreadable:
                    raise
                listed.notes.append(
                    f"the {status} list could be read only to its first {len(listed.calls)} calls, "
                    f"so more {status} calls may be missing: {exc}"
                )
                break
            fresh = guard.fresh([call.call_id for call in page.calls])
            listed.calls += [call for call, new in zip(page.calls, fresh, strict=True) if new]
            unreadable += page.unreadable
            if guard.stopped or page.next_page_uri is None:
                break
            following = self._next_page(page.next_page_uri)
            if following is None:
                listed.notes.append(
                    f"the {status} list's next_page_uri could not be followed (it leaves the "
                    f"account's Calls.json); more {status} calls may exist"
                )
                break
            if not guard.follows(tuple(sorted(following.items()))):
                break
            params = {**following, "Status": status}  # the list it continues, whatever the link says
        listed.notes += guard.notes
        if unreadable:
            listed.notes.append(
                f"{unreadable} {status} call{'s' if unreadable != 1 else ''} left out: "
                f"{self.title()}'s entry could not be read"
            )
        return listed

    async def _live_calls(self, statuses: tuple[str, ...]) -> tuple[list[LiveCall], list[str]]:
        """The lists of ``statuses`` joined in that order, each call once, and the notes.

        One list failing leaves the others' calls; when none has any to show, its failure is the
        answer. A call that moved on between the requests (in both lists) is listed once; an ended
        one not at all."""
        return await join_lists(
            statuses,
            self._list,
            missing=lambda status, error: (
                f"the {status} list could not be read, so {status} calls are missing: {error}"
            ),
            keep=lambda call: call.status not in NOT_LIVE,
        )

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        return await scan_joined(
            functools.partial(self._live_calls, _statuses_for(query)),
            query=query,
            local_filters=self.local_filters(query),
            offset=offset,
            limit=limit,
        )

    # -- legs, from conferences ----------------------------------------------------------------

    async def _conferences(self) -> tuple[list[str], bool] | ProviderError:
        """The newest in-progress conferences' sids, and whether more exist; or the failure."""
        try:
            page = await self.http.get_json(
                f"{self._account_path}/Conferences.json",
                params={"Status": "in-progress", "PageSize": MAX_CONFERENCES},
                parse=ConferencesPage.model_validate,
            )
        except ProviderError as exc:
            return exc
        sids = [conference.sid for conference in page.conferences if _safe_sid(conference.sid)]
        return sids[:MAX_CONFERENCES], bool(page.next_page_uri) or len(sids) > MAX_CONFERENCES

    async def _participants(self, conference_sid: str) -> list[Participant] | ProviderError:
        try:
            page = await self.http.get_json(
                f"{self._account_path}/Conferences/{conference_sid}/Participants.json",
                params={"PageSize": PARTICIPANTS_PAGE},
                parse=ParticipantsPage.model_validate,
            )
        except ProviderError as exc:
            return exc
        return page.participants

    async def _legs(
        self, call_id: str, conferences: tuple[list[str], bool] | ProviderError
    ) -> tuple[str | None, list[Participant], list[str]]:
        """The conference the call is in, its participants, and what could not be read."""
        if isinstance(conferences, ProviderError):
            return None, [], [f"legs: {self.title()}'s conference list failed ({_code(conferences)})"]
        sids, more = conferences
        found = await gather([functools.partial(self._participants, sid) for sid in sids])
        failed = 0
        for sid, participants in zip(sids, found, strict=True):
            if isinstance(participants, ProviderError):
                failed += 1
            elif any(participant.call_sid == call_id for participant in participants):
                return sid, participants, []
        if failed:
            plural = "s" if failed != 1 else ""
            return (
                None,
                [],
                [
                    f"legs: the participants of {failed} in-progress conference{plural} could not be read, "
                    "so the call's conference may be missing"
                ],
            )
        if more:
            return (
                None,
                [],
                [
                    f"legs: the call is in none of the newest {MAX_CONFERENCES} in-progress conferences "
                    "(more exist; they were not searched)"
                ],
            )
        return None, [], ["legs: the call is in no in-progress conference"]

    async def _get_stream(self, call_id: str) -> StreamDetails:
        # The call first: it decides (an ended call asks nothing more); conferences only add legs.
        # One after the other, so a failing call costs the same requests whatever the timing.
        call = await self.get_call(call_id)
        conference_sid, participants, missing = await self._legs(call_id, await self._conferences())
        own = next((p for p in participants if p.call_sid == call_id), None)
        status = call.status
        if status is CallStatus.IN_PROGRESS and own is not None and own.hold:
            status = CallStatus.ON_HOLD  # the call's status has no hold word: its participant does
        ids = {"call_sid": call.call_id}
        if conference_sid is not None:
            ids["conference_sid"] = conference_sid
        parent = call.extras.get("parent_call_sid")
        if isinstance(parent, str):
            ids["parent_call_sid"] = parent
        return StreamDetails.of_call(
            call,
            status=status,
            legs=[leg_of(participant) for participant in participants],
            telephony_ids=ids,
            not_offered=[*self.capabilities.not_offered, *missing],
        )


def _statuses_for(query: ListQuery) -> tuple[str, ...]:
    """The status lists that can hold calls passing ``query``: one for a status filter that names
    a listed status, none for one the family never reports (``on_hold``, ``early_media`` …) or for
    an agent (the family's calls name none), all three otherwise."""
    if query.agent_id is not None:
        return ()
    if query.status is None:
        return LIVE_STATUSES
    return tuple(word for word in LIVE_STATUSES if rest_call_status(word) is query.status)


def _safe_sid(sid: str) -> bool:
    """A conference SID that is safe in a path (Twilio's ``CF`` + hex, SignalWire's UUID; anything
    else is not asked)."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", sid) is not None


def _code(error: ProviderError) -> str:
    return str(error.status_code) if error.status_code else type(error).__name__
