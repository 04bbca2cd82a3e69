"""The simulated Twilio REST API (2010-04-01): routes, auth, error bodies and flavours (``twilio.*``).

Under ``/2010-04-01/Accounts/{AccountSid}``: ``Calls.json`` (``Status``, ``PageSize`` up to 1000,
``Page``/``PageToken``; pages linked by ``next_page_uri``), ``Calls/{CallSid}.json``,
``Conferences.json`` (``Status``) and ``Conferences/{ConferenceSid}/Participants.json``. Auth is
HTTP basic with ``AccountSid:AuthToken`` or an API key ``SK…:secret`` when the account has one;
errors are Twilio's ``{code, message, more_info, status}``. Calls have ``CA`` + 32 hex sids; a call
answered by an agent is often a conference (``CF`` + 32 hex) of the customer's call, the agent's
leg and sometimes a coach, with hold and mute following the shared population's schedule.

Route names (for faults and request counts): ``list_calls`` (``Calls.json``), ``get_call``
(``Calls/{sid}.json``) and ``stream`` (``Conferences.json`` and ``Participants.json``: what the
stream details are made of).

Flavours: ``twilio.small_pages`` honours at most 2 calls a page whatever ``PageSize`` asks (paging
along ``next_page_uri``); ``twilio.older_body`` answers lists with the paging fields Twilio dropped
(``total``, ``num_pages``, ``last_page_uri``) and calls without ``queue_time``/``trunk_sid``/
``group_sid``; ``twilio.live_duration`` writes a live call's ``duration`` as a string of the seconds
so far instead of ``null``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.simkit.base import (
    HUGE_ID,
    Answer,
    Endpoint,
    SimulatedProvider,
    basic_pair,
    int_param,
    same,
)
from mcp_livecalls.simkit.calls import Agent, CallState, SimCall, business_number, random_hex, random_person

__all__ = ["TWILIO_FLAVOURS", "TwilioSimulation"]

API: Final = "/2010-04-01"
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
SMALL_PAGE: Final = 2
TWILIO_FLAVOURS: frozenset[str] = frozenset(
    {"twilio.small_pages", "twilio.older_body", "twilio.live_duration"}
)
_CODES: Final[dict[int, int]] = {
    400: 20001,
    401: 20003,
    403: 20403,
    404: 20404,
    429: 20429,
    500: 20500,
    503: 20503,
}
_ENDED: Final[dict[str, str]] = {
    "caller_hangup": "completed",
    "callee_hangup": "completed",
    "transfer": "completed",
    "no_answer": "no-answer",
    "busy": "busy",
    "cancel": "canceled",
    "failed": "failed",
}
_ANSWERED: Final = frozenset({"in_progress", "on_hold"})


def rfc2822(ts: float) -> str:
    """``Sat, 15 Jun 2024 10:38:20 +0000``: how Twilio writes every time."""
    return format_datetime(datetime.fromtimestamp(math.floor(ts), UTC))


def twilio_status(call: SimCall, state: CallState) -> str:
    if state == "queued":
        return "queued"
    if state in ("ringing", "early_media"):
        return "ringing"
    if state in _ANSWERED:
        return "in-progress"
    return _ENDED[call.end_reason]


def twilio_call(
    call: SimCall, ts: float, account: str, *, older: bool = False, live_duration: bool = False
) -> dict[str, Any]:
    """One call object (``Calls/{sid}.json``, an item of ``calls``)."""
    state = call.state_at_ts(ts)
    status = twilio_status(call, state)
    ended = state == "ended"
    dialled = call.created_ts + call.ring_s
    duration: str | None = None
    if ended:
        duration = (
            str(math.floor(call.end_ts - (call.created_ts + call.answer_s)))
            if call.answer_s is not None
            else "0"
        )
    elif live_duration and state in _ANSWERED:
        duration = str(math.floor(call.talk_s(ts)))
    root = f"{API}/Accounts/{account}/Calls/{call.id}"
    body: dict[str, Any] = {
        "account_sid": account,
        "annotation": None,
        "answered_by": call.extra.get("answered_by") if state in _ANSWERED or ended else None,
        "api_version": "2010-04-01",
        "caller_name": call.caller_name or "",
        "date_created": rfc2822(call.created_ts),
        "date_updated": rfc2822(min(ts, call.end_ts)),
        "direction": call.native_direction,
        "duration": duration,
        "end_time": rfc2822(call.end_ts) if ended else None,
        "forwarded_from": call.extra.get("forwarded_from"),
        "from": call.from_number,
        "from_formatted": call.from_number,
        "group_sid": None,
        "parent_call_sid": call.parent_call_uuid,
        "phone_number_sid": call.extra.get("phone_number_sid"),
        "price": "-0.01400" if ended and call.answer_s is not None else None,
        "price_unit": "USD",
        "sid": call.id,
        "start_time": rfc2822(dialled) if ts >= dialled else None,
        "status": status,
        "subresource_uris": {
            "notifications": f"{root}/Notifications.json",
            "recordings": f"{root}/Recordings.json",
            "streams": f"{root}/Streams.json",
            "payments": f"{root}/Payments.json",
        },
        "to": call.to_number,
        "to_formatted": call.to_number,
        "trunk_sid": None,
        "uri": f"{root}.json",
        "queue_time": str(call.extra.get("queue_time_ms", 0)),
    }
    if older:
        for key in ("queue_time", "trunk_sid", "group_sid"):
            del body[key]
        del body["subresource_uris"]["streams"], body["subresource_uris"]["payments"]
    return body


def _participant(
    call: SimCall,
    account: str,
    sid: str,
    label: str,
    *,
    muted: bool,
    hold: bool = False,
    coaching: bool = False,
    coached: str | None = None,
) -> dict[str, Any]:
    conference = call.conference_uuid
    return {
        "account_sid": account,
        "call_sid": sid,
        "label": label,
        "call_sid_to_coach": coached,
        "coaching": coaching,
        "conference_sid": conference,
        "date_created": rfc2822(call.created_ts + (call.answer_s or call.ring_s)),
        "date_updated": rfc2822(call.created_ts + (call.answer_s or call.ring_s)),
        "end_conference_on_exit": label == "customer",
        "muted": muted,
        "hold": hold,
        "status": "connected",
        "start_conference_on_enter": True,
        "queue_time": "0",
        "uri": f"{API}/Accounts/{account}/Conferences/{conference}/Participants/{sid}.json",
    }


def twilio_participants(call: SimCall, ts: float, account: str) -> list[dict[str, Any]]:
    """The conference the call talks in: the customer (the call), the agent's leg, maybe a coach."""
    state = call.state_at_ts(ts)
    agent_muted, customer_muted = call.muted_at_ts(ts)
    agent_leg = str(call.extra["agent_leg"])
    found = [
        _participant(call, account, call.id, "customer", muted=customer_muted, hold=state == "on_hold"),
        _participant(call, account, agent_leg, "agent", muted=agent_muted),
    ]
    coach = call.extra.get("coach_leg")
    if isinstance(coach, str):
        found.append(
            _participant(call, account, coach, "coach", muted=False, coaching=True, coached=agent_leg)
        )
    return found


def twilio_conference(call: SimCall, ts: float, account: str) -> dict[str, Any]:
    conference = call.conference_uuid
    root = f"{API}/Accounts/{account}/Conferences/{conference}"
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "call_sid_ending_conference": None,
        "date_created": rfc2822(call.created_ts + (call.answer_s or call.ring_s)),
        "date_updated": rfc2822(ts),
        "friendly_name": f"support-{call.id[-6:]}",
        "reason_conference_ended": None,
        "region": "us1",
        "sid": conference,
        "status": "in-progress",
        "subresource_uris": {
            "participants": f"{root}/Participants.json",
            "recordings": f"{root}/Recordings.json",
        },
        "uri": f"{root}.json",
    }


def _page(
    key: str,
    items: list[dict[str, Any]],
    path: str,
    query: dict[str, str],
    page: int,
    size: int,
    *,
    older: bool = False,
) -> dict[str, Any]:
    """One page of a Twilio list, with its paging fields; ``next_page_uri`` when more follow."""
    shown = items[page * size : (page + 1) * size]

    def uri(number: int, token: str | None = None) -> str:
        params = {**query, "PageSize": str(size), "Page": str(number)}
        if token:
            params["PageToken"] = token
        return f"{path}?{urlencode(params)}"

    more = (page + 1) * size < len(items)
    last = shown[-1] if shown else None
    token = f"PA{last.get('sid') or last.get('call_sid')}" if more and last else None
    body: dict[str, Any] = {
        key: shown,
        "end": page * size + max(len(shown), 1) - 1,
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, token) if more else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": page * size,
        "uri": uri(page),
    }
    if older:
        pages = max(1, math.ceil(len(items) / size))
        body.update({"total": len(items), "num_pages": pages, "last_page_uri": uri(pages - 1)})
    return body


class TwilioSimulation(SimulatedProvider):
    name = "twilio"
    flavours = TWILIO_FLAVOURS
    demo_settings: ClassVar[Mapping[str, str]] = {
        "account_sid": "AC5e1f0c2d9b8a7f6e5d4c3b2a1f0e9d8c",
        "auth_token": "sim-twilio-auth-token",
    }
    outbound_share = 0.55
    mute_share = 0.3

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return ()  # Twilio's call resource names no agent: agents are conference legs (labels)

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = f"CA{random_hex(rng, 32)}"
        call.extra["phone_number_sid"] = f"PN{random_hex(rng, 32)}"
        if call.direction == "inbound":
            call.native_direction = "inbound"
            if rng.random() < 0.4:
                call.caller_name = random_person(rng).upper()
            if rng.random() < 0.1:
                call.extra["forwarded_from"] = business_number(rng)
        else:
            call.native_direction = "outbound-api" if rng.random() < 0.8 else "outbound-dial"
            call.extra["queue_time_ms"] = rng.randrange(200, 3000)
            if call.native_direction == "outbound-dial":
                call.parent_call_uuid = f"CA{random_hex(rng, 32)}"  # the leg that ran <Dial>
            elif rng.random() < 0.3:
                call.extra["answered_by"] = rng.choice(("human", "machine_start", "unknown"))
        if call.answer_s is not None and rng.random() < 0.6:
            call.conference_uuid = f"CF{random_hex(rng, 32)}"
            call.extra["agent_leg"] = f"CA{random_hex(rng, 32)}"
            if rng.random() < 0.25:
                call.extra["coach_leg"] = f"CA{random_hex(rng, 32)}"

    # -- routes --------------------------------------------------------------------------------

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        account = API + "/Accounts/{sid}"
        return [
            (account + "/Calls.json", self.list_calls, "GET"),
            (account + "/Calls/{call_sid}.json", self.get_call, "GET"),
            (account + "/Conferences.json", self.conferences, "GET"),
            (account + "/Conferences/{conference_sid}/Participants.json", self.participants, "GET"),
        ]

    @staticmethod
    def records(route: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        for key in ("calls", "conferences", "participants"):
            items = payload.get(key)
            if isinstance(items, list):
                return [item for item in items if isinstance(item, dict)]
        return [payload] if "sid" in payload else []

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: dict[str, Any]) -> bool:
        """Twilio names its ids ``sid`` (``call_sid`` in participants), and a single call is the
        whole answer (its ``status`` is the call's, not an envelope's): ids and statuses are damaged
        here for the faults that target them."""
        records = TwilioSimulation.records(route, payload)
        if kind == "huge_ids":
            for record in records:
                for key in ("sid", "call_sid"):
                    if key in record:
                        record[key] = HUGE_ID
            return True
        if kind == "missing_fields":
            for record in records:
                for key in ("sid", "call_sid", "status"):
                    record.pop(key, None)
            return True
        if kind == "unknown_enum" and route == "get_call":
            payload.update(status="barging", direction="sideways")
            return True
        return False

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        code = _CODES.get(status, 20000 + status)
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return Answer(status, body, self.retry_headers(status, retry_after))

    def _auth(self, request: Request, sid: str) -> Answer | None:
        account = self.account
        user, password = basic_pair(request)
        pairs = [(account.get("account_sid", ""), account.get("auth_token", ""))]
        if account.get("api_key") and account.get("api_secret"):
            pairs.append((account["api_key"], account["api_secret"]))
        if not any(key and same(user, key) and same(password, secret) for key, secret in pairs):
            return self.error(401, "Authenticate")
        if sid != account.get("account_sid"):
            return self.error(401, "Authenticate")  # credentials of another account
        return None

    def _size(self, request: Request) -> int | None:
        size = int_param(request.query_params.get("PageSize"), DEFAULT_PAGE_SIZE)
        if size is None or size < 1:
            return None
        size = min(size, MAX_PAGE_SIZE)
        return min(size, SMALL_PAGE) if self.sim.flavour("twilio.small_pages") else size

    def _paging(self, request: Request, sid: str) -> Answer | tuple[int, int, dict[str, str]]:
        """A list request's ``PageSize``, ``Page`` and ``Status`` filter, or the error it gets."""
        denied = self._auth(request, sid)
        if denied is not None:
            return denied
        size, page = self._size(request), int_param(request.query_params.get("Page"), 0)
        if size is None or page is None or page < 0:
            return self.error(400, "PageSize must be 1-1000 and Page a non-negative integer")
        wanted = request.query_params.get("Status")
        return size, page, ({"Status": wanted} if wanted else {})

    async def list_calls(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])

        def answer() -> Answer:
            paging = self._paging(request, sid)
            if isinstance(paging, Answer):
                return paging
            size, page, query = paging
            wanted = query.get("Status")
            if self.sim.fixtures:
                return Answer(200, _page("calls", [], request.url.path, query, page, size))
            ts = self.sim.now_ts()
            older = self.sim.flavour("twilio.older_body")
            live_duration = self.sim.flavour("twilio.live_duration")
            calls = [
                twilio_call(call, ts, sid, older=older, live_duration=live_duration)
                for call in self.sim.population.visible(self.name)
            ]
            if wanted:
                calls = [call for call in calls if call["status"] == wanted]
            return Answer(200, _page("calls", calls, request.url.path, query, page, size, older=older))

        return await self.sim.serve(request, self.name, "list_calls", answer)

    async def get_call(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])
        call_sid = str(request.path_params["call_sid"])

        def answer() -> Answer:
            denied = self._auth(request, sid)
            if denied is not None:
                return denied
            call = None if self.sim.fixtures else self.sim.population.find(self.name, call_sid)
            if call is None:
                return self.error(404, f"The requested resource {request.url.path} was not found")
            # A finished call keeps its record (completed, busy …) for the retention window.
            return Answer(
                200,
                twilio_call(
                    call,
                    self.sim.now_ts(),
                    sid,
                    older=self.sim.flavour("twilio.older_body"),
                    live_duration=self.sim.flavour("twilio.live_duration"),
                ),
            )

        return await self.sim.serve(request, self.name, "get_call", answer)

    def _talking_in_conference(self, ts: float) -> list[SimCall]:
        return [
            call
            for call in self.sim.population.live(self.name)
            if call.conference_uuid is not None and call.state_at_ts(ts) in _ANSWERED
        ]

    async def conferences(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])

        def answer() -> Answer:
            paging = self._paging(request, sid)
            if isinstance(paging, Answer):
                return paging
            size, page, query = paging
            wanted = query.get("Status")
            ts = self.sim.now_ts()
            found = [] if self.sim.fixtures else self._talking_in_conference(ts)
            items = [twilio_conference(call, ts, sid) for call in found]
            if wanted:
                items = [item for item in items if item["status"] == wanted]
            return Answer(200, _page("conferences", items, request.url.path, query, page, size))

        return await self.sim.serve(request, self.name, "stream", answer)

    async def participants(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])
        conference_sid = str(request.path_params["conference_sid"])

        def answer() -> Answer:
            denied = self._auth(request, sid)
            if denied is not None:
                return denied
            size = self._size(request) or DEFAULT_PAGE_SIZE
            ts = self.sim.now_ts()
            found = [] if self.sim.fixtures else self._talking_in_conference(ts)
            call = next((c for c in found if c.conference_uuid == conference_sid), None)
            if call is None:
                return self.error(404, f"The requested resource {request.url.path} was not found")
            items = twilio_participants(call, ts, sid)
            return Answer(200, _page("participants", items, request.url.path, {}, 0, size))

        return await self.sim.serve(request, self.name, "stream", answer)


SIMULATED = TwilioSimulation
"""What the simulator loads for this folder."""
