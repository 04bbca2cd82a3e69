"""Twilio (REST API 2010-04-01) live calls.

HTTP basic auth, either ``AccountSid:AuthToken`` or an API key ``SK…:secret`` (the account SID
still names the account in every path); with both configured the API key is used (Twilio's
advice for production). Base ``https://api.twilio.com``.

* ``GET /2010-04-01/Accounts/{AccountSid}/Calls.json?Status=…&PageSize=…`` lists calls of one
  status per request, newest first: ``{calls: [...], page, page_size, next_page_uri, uri, ...}``
  (older bodies add ``start``/``end``/``first_page_uri``; the oldest ``total``/``num_pages``).
  The live calls are three lists, ``in-progress``, ``ringing`` and ``queued``: they are asked
  concurrently, each followed along its ``next_page_uri`` (``PAGE_SIZE`` a page, at most
  ``MAX_LIST_PAGES`` pages), and joined in that order, each call once (a call that moved from
  ``ringing`` to ``in-progress`` between the requests shows in both answers: the first wins). The
  upstream offset of the cross-provider cursor is the position in that joined list. One list
  failing leaves the others' calls listed (the page's ``notes`` say which part is missing); a
  ``next_page_uri`` that leaves the account's ``Calls.json`` is not followed, and the shared
  ``PageGuard`` ends a list at a repeated page link or a page whose calls were all listed
  already (each with a note). Twilio's list filters
  (``From``, ``To``, ``StartTime``) do not match this server's (either side, last digits,
  direction, agent), so every filter is applied here; a ``status`` filter asks only its own list
  (none for a status Twilio never lists, such as ``on_hold``), and an ``agent_id`` filter asks
  nothing (Twilio's calls name no agent).
* ``GET …/Calls/{CallSid}.json`` answers one call. A call whose status is ``completed``, ``busy``,
  ``failed``, ``no-answer`` or ``canceled`` is not live (``CallNotFound``, as the other adapters
  answer for ended calls); so is an id that is not a call SID (``CA`` + 32 hex digits): no
  request is made for it.
* ``get_stream_details`` adds legs, hold, mute and coaching, which Twilio keeps on conferences:
  ``GET …/Conferences.json?Status=in-progress`` (the newest ``MAX_CONFERENCES``), then each one's
  ``…/Conferences/{CF…}/Participants.json`` concurrently, until the call is found among the
  participants (``call_sid``, ``label``, ``muted``, ``hold``, ``coaching``, ``status``). Every
  participant of that conference is a leg (its ``label`` the role, ``coach`` for a coaching
  participant without one); a call in progress whose own participant is held reads ``on_hold``.
  A failed conference request loses only the legs (said in ``not_offered``), never the call.
  ``…/Calls/{CA…}/Streams`` is create-only: media streams are not offered.

Fields: ``start_time``/``end_time``/``date_created`` are RFC 2822 dates (``Tue, 31 Aug 2010
20:36:29 +0000``); ``duration`` is a string of seconds, ``null`` while live (then counted from
``start_time``, or ``date_created`` before the call is dialled); ``queue_time`` (ms, a string),
``answered_by``, ``forwarded_from``, ``parent_call_sid`` (a child leg, e.g. of ``<Dial>``) and a
direction other than ``inbound``/``outbound-api`` (``outbound-dial``) go to ``extras``. The
status words are the ones Exotel's v1 API copied from this API (``rest_call_status`` reads both).
Numbers come in E.164 with ``+``; ``client:…`` and ``sip:…`` identities are kept as written.

Errors come as ``{"code": 20404, "message", "more_info", "status"}``: 401 (code 20003) names the
credential variables in use, 404 (20404) of a call is ``CallNotFound``, 429 (20429: Twilio limits
concurrent requests per account) is retried after ``Retry-After`` like every provider's. Such a
body inside a 200 answer is refused the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import SecretStr

from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import CallNotFound, ProviderError
from mcp_livecalls.providers.base import (
    Capabilities,
    EnvSpec,
    LiveCallsProvider,
    PageGuard,
    ProviderSlice,
    Wire,
    gather,
)
from mcp_livecalls.providers.joined import Listed, join_lists, scan_joined
from mcp_livecalls.providers.reading import rest_call_status
from mcp_livecalls.providers.twilio.records import (
    NOT_LIVE,
    ConferencesPage,
    Participant,
    ParticipantsPage,
    calls_page,
    leg_of,
    normalize_twilio_call,
    parse_rfc2822,
    twilio_error,
    twilio_leg_status,
)
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import EnvelopeError

__all__ = [
    "LIVE_STATUSES",
    "MAX_CONFERENCES",
    "MAX_LIST_PAGES",
    "PAGE_SIZE",
    "TwilioProvider",
    "TwilioSettings",
    "normalize_twilio_call",
    "parse_rfc2822",
    "twilio_error",
    "twilio_leg_status",
]

DEFAULT_BASE_URL = "https://api.twilio.com"
API_VERSION = "/2010-04-01"

LIVE_STATUSES = ("in-progress", "ringing", "queued")
"""The statuses asked for, one list each, in the order the lists are joined."""
PAGE_SIZE = 200
"""Calls asked per list request (Twilio allows up to 1000; a call object is about 2 KB, so 200
keep a page well under ``LIVECALLS_MAX_RESPONSE_BYTES``)."""
MAX_LIST_PAGES = 10
"""Pages followed per status list at most (2,000 calls): bounds one tool call's work."""
MAX_CONFERENCES = 20
"""In-progress conferences searched for a call's legs at most (the newest; one request each)."""
PARTICIPANTS_PAGE = 250
"""Participants asked per conference: Twilio's documented maximum for one conference."""

_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
_NOT_OFFERED = ("agent", "recording state", "bridge", "transcript", "latency", "cost", "media streams")


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: SecretStr
    auth_token: SecretStr | None = None
    api_key: SecretStr | None = None
    """An API key's SID (``SK…``); with ``api_secret`` it replaces the auth token."""
    api_secret: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL

    def basic_auth(self) -> tuple[str, str]:
        """The basic-auth pair: the API key when one is set, else the account SID and auth token."""
        if self.api_key is not None and self.api_secret is not None:
            return self.api_key.get_secret_value(), self.api_secret.get_secret_value()
        if self.auth_token is None:
            raise ValueError("Twilio needs an auth token or an API key and secret")
        return self.account_sid.get_secret_value(), self.auth_token.get_secret_value()

    def credential_vars(self) -> tuple[str, ...]:
        if self.api_key is not None and self.api_secret is not None:
            return ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_ACCOUNT_SID")
        return ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")


class TwilioProvider(LiveCallsProvider):
    name = ProviderName("twilio")
    credential_vars = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
    env = EnvSpec(
        "TWILIO",
        DEFAULT_BASE_URL,
        secrets=("account_sid", "auth_token", "api_key", "api_secret"),
        alternatives=(("auth_token",), ("api_key", "api_secret")),
    )
    settings_type = TwilioSettings
    call_id_words = "Twilio CallSid (CA…)"
    capabilities = Capabilities(
        upstream_filters=(),
        fields=(
            "status",
            "direction",
            "from_number",
            "to_number",
            "caller_name",
            "started_at",
            "duration_s",
            "legs",
        ),
        not_offered=_NOT_OFFERED,
    )

    def __init__(self, http: ProviderHTTP, *, account_sid: str, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._account_path = f"{API_VERSION}/Accounts/{quote(account_sid, safe='')}"
        self._calls_json = f"{self._account_path}/Calls.json"
        self._now = now

    @classmethod
    def wire(cls, settings: TwilioSettings) -> Wire:
        given = (settings.account_sid, settings.auth_token, settings.api_key, settings.api_secret)
        return Wire(
            auth=settings.basic_auth(),
            secrets=[value.get_secret_value() for value in given if value is not None],
            credential_vars=settings.credential_vars(),
            not_found_hint="The account SID is part of every path: check TWILIO_ACCOUNT_SID too.",
        )

    @classmethod
    def built(cls, settings: TwilioSettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, account_sid=settings.account_sid.get_secret_value(), now=now)

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        """Twilio's error body inside a 2xx answer (not documented; refused like the real thing)."""
        code, status, message = twilio_error(payload)
        if code is None or status is None or status < 400 or "sid" in payload or "calls" in payload:
            return None
        said = " Twilio says: {said}" if message else ""
        return EnvelopeError(
            f"Twilio answered 200 with an error inside (status {status}, code {code}).{said}",
            said=message,
            status_code=status,
        )

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """``message (code 20404)``: Twilio's code is what its error pages are indexed by."""
        code, _, message = twilio_error(payload)
        if message is None:
            return None
        return message if code is None else f"{message} (code {code})"

    @classmethod
    def redaction_pairs(cls, settings: TwilioSettings) -> list[tuple[str, str]]:
        """Basic auth joins the pair in use (``sid:token`` or ``key:secret``): redacted as a pair
        too, and so is the other pair when both are configured."""
        pairs = []
        if settings.auth_token is not None:
            pairs.append((settings.account_sid.get_secret_value(), settings.auth_token.get_secret_value()))
        if settings.api_key is not None and settings.api_secret is not None:
            pairs.append((settings.api_key.get_secret_value(), settings.api_secret.get_secret_value()))
        return pairs

    # -- one call ------------------------------------------------------------------------------

    async def _get_call(self, call_id: str) -> LiveCall:
        self.check_call_id(call_id)
        if not _CALL_SID.fullmatch(call_id):
            raise CallNotFound(self.name.value, call_id)  # not a call SID: Twilio would answer 404
        call = await self.http.get_json(
            f"{self._account_path}/Calls/{call_id}.json",
            call_id=call_id,
            parse=lambda payload: normalize_twilio_call(payload, now=self._now()),
        )
        if call.status in NOT_LIVE:
            raise CallNotFound(self.name.value, call_id)
        return call

    # -- the live lists ------------------------------------------------------------------------

    def _next_page(self, uri: str) -> dict[str, str] | None:
        """The query of ``next_page_uri`` when it stays on this account's ``Calls.json``."""
        parts = urlsplit(uri)
        if parts.path != self._calls_json:
            return None
        return dict(parse_qsl(parts.query, keep_blank_values=True))

    async def _list(self, status: str) -> Listed:
        """Every call of one status list, along ``next_page_uri`` (at most ``MAX_LIST_PAGES``)."""
        listed = Listed()
        guard = PageGuard(max_pages=MAX_LIST_PAGES, list_name=f"the {status} list", calls=f"{status} calls")
        params: dict[str, str | int] = {"Status": status, "PageSize": str(PAGE_SIZE)}
        guard.follows(tuple(sorted(params.items())))
        unreadable = 0
        while guard.page():
            try:
                page = await self.http.get_json(
                    self._calls_json, params=params, parse=lambda p: calls_page(p, now=self._now())
                )
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
                f"{unreadable} {status} call{'s' if unreadable != 1 else ''} left out: Twilio's "
                "entry could not be read"
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
            return None, [], [f"legs: Twilio's conference list failed ({_code(conferences)})"]
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
            status = CallStatus.ON_HOLD  # Twilio's call status has no hold word: its participant does
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
            not_offered=[*_NOT_OFFERED, *missing],
        )


def _statuses_for(query: ListQuery) -> tuple[str, ...]:
    """The status lists that can hold calls passing ``query``: one for a status filter that names
    a listed status, none for one Twilio never reports (``on_hold``, ``early_media`` …) or for an
    agent (Twilio's calls name none), all three otherwise."""
    if query.agent_id is not None:
        return ()
    if query.status is None:
        return LIVE_STATUSES
    return tuple(word for word in LIVE_STATUSES if rest_call_status(word) is query.status)


def _safe_sid(sid: str) -> bool:
    """A conference SID that is safe in a path (``CF`` + hex; anything else is not asked)."""
    return re.fullmatch(r"[A-Za-z0-9]{1,64}", sid) is not None


def _code(error: ProviderError) -> str:
    return str(error.status_code) if error.status_code else type(error).__name__


ADAPTER = TwilioProvider
"""What the registry loads for this folder."""
