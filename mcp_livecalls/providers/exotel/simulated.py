"""The simulated Exotel v3 API: routes, auth, error bodies and flavours (``exotel.*``).

The active list at ``/v3/accounts/{sid}/calls/active``, call details at ``/calls/{call_sid}``
and the stream at ``/calls/{call_sid}/stream``, all in the v3 envelope; auth is HTTP basic with
``api_key:api_token``. Flavours: ``exotel.page_b`` answers the active list the way version B of
its page documents it (no ``limit``/``offset``/filters honoured: every request answers the whole
list; items without ``direction``/``agent_details``); ``exotel.stream_404_ringing`` answers 404
on ``/stream`` for calls not yet answered; ``exotel.details_alt`` spells call details the way
Exotel's sibling call-details endpoints do.

Its documented examples, verbatim in ``examples/`` (answered by ``Simulator(fixtures=True)``):

=============  ==================================
``active``     Exotel "Get Active Streams"
``stream``     Exotel "Get Active Stream Details"
=============  ==================================
"""

from __future__ import annotations

import http
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.simkit.base import (
    Answer,
    Endpoint,
    SimulatedProvider,
    basic_pair,
    demo_account,
    int_param,
    same_pair,
)
from mcp_livecalls.simkit.calls import (
    LIVE_STATES,
    Agent,
    CallState,
    SimCall,
    indian_mobile,
    random_hex,
    random_person,
    random_uuid,
)
from mcp_livecalls.simkit.render import iso_time_ms, sid

__all__ = ["EXOTEL_FLAVOURS", "ExotelSimulation"]

FIXTURE_EXOTEL_STREAM_SID: Final = "call_active_001"
EXOTEL_RATE_LIMIT: Final = 200  # documented: 200 requests / minute / account
EXOTEL_MAX_LIMIT: Final = 100
EXOTEL_ANSWERED: Final = frozenset({"in_progress", "on_hold"})


EXOTEL_FLAVOURS: frozenset[str] = frozenset(
    {"exotel.page_b", "exotel.stream_404_ringing", "exotel.details_alt"}
)


# -- payloads -------------------------------------------------------------------------------


def _exotel_status(state: CallState) -> str:
    return "ringing" if state in ("queued", "ringing", "early_media") else "in-progress"


def exotel_agent_details(call: SimCall, state: CallState) -> dict[str, Any] | None:
    if call.agent is None:
        return None
    if call.native_direction == "inbound" and state not in ("in_progress", "on_hold"):
        return None  # an inbound call gets its agent when it is answered (as the docs' example)
    # Undocumented: the only documented agent status is "on-call"; we use it throughout.
    return {"user_id": call.agent.id, "name": call.agent.name, "status": "on-call"}


def exotel_active_item(call: SimCall, ts: float) -> dict[str, Any]:
    """One element of ``response.active_calls``."""
    state = call.state_at_ts(ts)
    return {
        "call_sid": call.id,
        "direction": call.native_direction,
        "status": _exotel_status(state),
        "from": call.from_number,
        "to": call.to_number,
        # Undocumented: start_time is when the call was placed, duration counts from the answer
        # (the docs' ringing call has duration 0).
        "start_time": iso_time_ms(call.created_ts),
        "duration": math.floor(call.talk_s(ts)),
        "agent_details": exotel_agent_details(call, state),
        "recording_enabled": call.recording,
    }


IST = timezone(timedelta(hours=5, minutes=30))


def ist_time(ts: float) -> str:
    """ISO 8601 in India's zone: ``2024-06-15T16:00:00+05:30`` (the sibling call-details spelling)."""
    return datetime.fromtimestamp(ts, IST).isoformat(timespec="seconds")


def exotel_call_details(call: SimCall, ts: float, *, alternative: bool = False) -> dict[str, Any]:
    """``response.call_details`` of ``GET /v3/accounts/{sid}/calls/{call_sid}``.

    Undocumented: the v3 page shows no body. The default spelling is the active-list item's
    (``call_sid``, ``status``, ``from``/``to``, ``duration``, ``agent_details``, ``recording``);
    ``alternative`` is the one of Exotel's sibling call-details endpoints (``sid``,
    ``call_state``/``call_status``, ``customer_details``/``virtual_number``, ``total_duration``,
    ``assigned_agent_details``, ``recording_url``, times in +05:30).
    """
    state = call.state_at_ts(ts)
    ended = state not in ("queued", "ringing", "early_media", "in_progress", "on_hold")
    status = "completed" if ended else _exotel_status(state)
    inbound = call.native_direction == "inbound"
    customer, virtual = (call.from_number, call.to_number) if inbound else (call.to_number, call.from_number)
    agent = exotel_agent_details(call, state)
    recording_url = f"https://recordings.exotel.example/{call.id}.mp3" if call.recording else None
    if not alternative:
        return {
            "call_sid": call.id,
            "status": status,
            "direction": call.native_direction,
            "from": call.from_number,
            "to": call.to_number,
            "virtual_number": virtual,
            "start_time": iso_time_ms(call.created_ts),
            "duration": math.floor(call.talk_s(ts)),
            "agent_details": agent,
            "recording": {"available": call.recording, "url": recording_url},
        }
    return {
        "sid": call.id,
        "call_state": "terminal" if ended else "active",
        "call_status": status,
        "direction": call.native_direction,
        "customer_details": {"number": customer},
        "virtual_number": virtual,
        "start_time": ist_time(call.created_ts),
        "total_duration": math.floor(call.elapsed_s(min(ts, call.end_ts))),
        "assigned_agent_details": None
        if agent is None or call.agent is None
        else {"user_id": call.agent.id, "contact_uri": call.agent.contact_uri},
        "recording_url": recording_url,
    }


def exotel_stream(call: SimCall, ts: float) -> dict[str, Any]:
    """``response.stream`` of the stream-details endpoint: an agent leg and a customer leg."""
    state = call.state_at_ts(ts)
    talking = state in ("in_progress", "on_hold")
    agent_muted, customer_muted = call.muted_at_ts(ts)
    inbound = call.native_direction == "inbound"
    if call.agent is not None:
        agent_uri, agent_net = call.agent.contact_uri, call.agent.network_type
    else:
        agent_uri, agent_net = (call.to_number if inbound else call.from_number), "pstn"
    customer_uri = call.from_number if inbound else call.to_number
    # Who is connected while ringing: the side that placed the call.
    agent_status = "connected" if talking or not inbound else "ringing"
    customer_status = "connected" if talking or inbound else "ringing"
    legs = [
        {
            "leg_sid": sid("leg_", call.id, "agent"),
            "contact_uri": agent_uri,
            "direction": "outbound",
            "status": agent_status,
            "network_type": agent_net,
            "audio_status": {"muted": agent_muted, "hold": False},
        },
        {
            "leg_sid": sid("leg_", call.id, "customer"),
            "contact_uri": customer_uri,
            "direction": "inbound" if inbound else "outbound",
            "status": customer_status,
            "network_type": "pstn",
            # The agent puts the customer on hold: the customer's leg carries the flag.
            "audio_status": {"muted": customer_muted, "hold": state == "on_hold"},
        },
    ]
    bridge = None
    recording_s = 0
    if talking and call.answer_s is not None:
        bridged = call.created_ts + call.answer_s + 1.0
        bridge = {
            "bridge_sid": sid("bridge_", call.id),
            "status": "active",
            "created_at": iso_time_ms(bridged),
        }
        if call.recording:
            recording_s = max(0, math.floor(ts - bridged))
    return {
        "call_sid": call.id,
        "status": _exotel_status(state),
        "duration": math.floor(call.talk_s(ts)),
        "legs": legs,
        "bridge": bridge,
        "recording": {
            "enabled": call.recording,
            "channels": call.recording_channels,
            "duration": recording_s,
        },
    }


class ExotelSimulation(SimulatedProvider):
    name = "exotel"
    flavours = EXOTEL_FLAVOURS
    demo_settings = demo_account(
        account_sid="simulator1", api_key="sim-exotel-key", api_token="sim-exotel-token"
    )
    outbound_share = 0.6
    mute_share = 0.25

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return tuple(_agent(rng) for _ in range(max(4, math.ceil(slots * 0.8))))

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = f"call_{random_hex(rng, 32)}" if rng.random() < 0.7 else f"CA{random_hex(rng, 32)}"
        if call.direction == "inbound":
            call.native_direction = "inbound"
            if rng.random() < 0.75:
                call.agent = rng.choice(agents)
        else:
            call.native_direction = "outbound-api" if rng.random() < 0.85 else "outbound-dial"
            if rng.random() < 0.85:
                call.agent = rng.choice(agents)
                if call.native_direction == "outbound-api" and call.agent.network_type == "pstn":
                    # Exotel's "connect two numbers": the agent's phone is dialled first, as From.
                    call.from_number = call.agent.contact_uri
        call.recording = rng.random() < 0.6
        call.recording_channels = "dual" if rng.random() < 0.7 else "mono"

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        calls = "/v3/accounts/{sid}/calls"
        return [
            (calls + "/active", self.exotel_active, "GET"),
            (calls + "/{call_sid}/stream", self.exotel_stream, "GET"),
            (calls + "/{call_sid}", self.exotel_details, "GET"),
        ]

    @staticmethod
    def records(route: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        response = payload.get("response")
        if not isinstance(response, dict):
            return found
        active = response.get("active_calls")
        if isinstance(active, list):
            found.extend(c for c in active if isinstance(c, dict))
        details = response.get("call_details")
        if isinstance(details, dict):
            found.append(details)
        stream = response.get("stream")
        if isinstance(stream, dict):
            found.append(stream)
            legs = stream.get("legs")
            if isinstance(legs, list):
                found.extend(leg for leg in legs if isinstance(leg, dict))
        return found

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        headers = self.retry_headers(status, retry_after)
        if status == 429:
            reset = math.ceil(self.sim.now_ts() + (retry_after if retry_after is not None else 60.0))
            headers["X-RateLimit-Limit"] = str(EXOTEL_RATE_LIMIT)
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(reset)
            body: dict[str, Any] = {
                "RestException": {"Status": 429, "Message": message, "Code": "RATE_LIMIT_EXCEEDED"}
            }
            return Answer(status, body, headers)
        # Undocumented (NOTES.md): the v3 envelope with response.error_data.
        body = {
            "request_id": self.sim.hex_id("req_"),
            "method": method,
            "http_code": status,
            "response": {
                "code": status,
                "status": "failure",
                "data": None,
                "error_data": {
                    "code": status,
                    "message": http.HTTPStatus(status).phrase,
                    "description": message,
                },
            },
        }
        return Answer(status, body, headers)

    def _exotel_auth(self, request: Request, sid: str) -> Answer | None:
        creds = self.account
        if not same_pair(basic_pair(request), (creds["api_key"], creds["api_token"])):
            return self.error(401, "Authentication failed: HTTP basic auth with api_key:api_token")
        if sid != creds["account_sid"]:
            return self.error(403, f"Account {sid} is not accessible with these credentials")
        return None

    def _exotel_envelope(self, response: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
        return {
            "request_id": request_id or self.sim.hex_id("req_"),
            "method": "GET",
            "http_code": 200,
            "response": response,
        }

    async def exotel_active(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])

        def answer() -> Answer:
            denied = self._exotel_auth(request, sid)
            if denied is not None:
                return denied
            q = request.query_params
            agent_id = q.get("agent_id") or None
            direction = q.get("direction") or None
            if direction is not None and direction not in ("inbound", "outbound"):
                return self.error(400, "direction must be inbound or outbound")
            limit = int_param(q.get("limit"), 20)
            offset = int_param(q.get("offset"), 0)
            if limit is None or limit < 1:
                return self.error(400, "limit must be a positive integer")
            if offset is None or offset < 0:
                return self.error(400, "offset must be a non-negative integer")
            limit = min(limit, EXOTEL_MAX_LIMIT)

            def wanted(direction_value: str, agent: dict[str, Any] | None) -> bool:
                return (direction is None or (direction_value == "inbound") == (direction == "inbound")) and (
                    agent_id is None or (agent or {}).get("user_id") == agent_id
                )

            if self.sim.fixtures:
                fixture: dict[str, Any] = self.example("active")
                items: list[dict[str, Any]] = fixture["response"]["active_calls"]
                kept = [i for i in items if wanted(i["direction"], i["agent_details"])]
                page = kept[offset : offset + limit]
                if page == items:
                    return Answer(200, fixture)  # verbatim
                envelope = {"active_calls": page, "total_active": len(kept)}
                return Answer(200, self._exotel_envelope(envelope, fixture["request_id"]))
            ts = self.sim.now_ts()
            if self.sim.flavour("exotel.page_b"):
                # Version B: no limit, offset or filters; items without direction and agent_details.
                items = []
                for c in self.sim.population.live("exotel"):
                    item = exotel_active_item(c, ts)
                    del item["direction"], item["agent_details"]
                    items.append(item)
                return Answer(200, self._exotel_envelope({"active_calls": items, "total_active": len(items)}))
            calls = [
                c
                for c in self.sim.population.live("exotel")
                if wanted(c.native_direction or "", exotel_agent_details(c, c.state_at_ts(ts)))
            ]
            # Filtered and paged upstream; only the page is rendered.
            page = [exotel_active_item(c, ts) for c in calls[offset : offset + limit]]
            return Answer(200, self._exotel_envelope({"active_calls": page, "total_active": len(calls)}))

        return await self.sim.serve(request, "exotel", "list_calls", answer)

    async def _one_call(
        self,
        request: Request,
        route: str,
        fixture: Callable[[str], Answer],
        live: Callable[[str, float], Answer],
    ) -> Response:
        """A route about one call (``…/calls/{call_sid}…``): the account's auth, then the documented
        example (``fixtures``) or the population's answer at the clock's time."""
        sid = str(request.path_params["sid"])
        call_sid = str(request.path_params["call_sid"])

        def answer() -> Answer:
            denied = self._exotel_auth(request, sid)
            if denied is not None:
                return denied
            if self.sim.fixtures:
                return fixture(call_sid)
            return live(call_sid, self.sim.now_ts())

        return await self.sim.serve(request, "exotel", route, answer)

    async def exotel_stream(self, request: Request) -> Response:
        return await self._one_call(request, "stream", self._exotel_fixture_stream, self._live_stream)

    def _live_stream(self, call_sid: str, ts: float) -> Answer:
        call = self.sim.population.find("exotel", call_sid)
        if call is None or call.state_at_ts(ts) not in LIVE_STATES:
            return self.error(404, f"No active call with sid {call_sid}")
        if self.sim.flavour("exotel.stream_404_ringing") and call.state_at_ts(ts) not in EXOTEL_ANSWERED:
            return self.error(404, f"No active stream for call {call_sid}")
        return Answer(200, self._exotel_envelope({"stream": exotel_stream(call, ts)}))

    async def exotel_details(self, request: Request) -> Response:
        return await self._one_call(request, "get_call", self._exotel_fixture_details, self._live_details)

    def _live_details(self, call_sid: str, ts: float) -> Answer:
        call = self.sim.population.find("exotel", call_sid)
        if call is None:
            return self.error(404, f"No call with sid {call_sid}")
        # A finished call keeps its details (state terminal) for the retention window.
        details = exotel_call_details(call, ts, alternative=self.sim.flavour("exotel.details_alt"))
        return Answer(200, self._exotel_envelope({"call_details": details}))

    def _exotel_fixture_details(self, call_sid: str) -> Answer:
        # Not in the docs (the v3 page shows no body): the documented list item, as call details.
        for item in self.example("active")["response"]["active_calls"]:
            if item["call_sid"] == call_sid:
                details = {k: v for k, v in item.items() if k != "recording_enabled"}
                details["recording"] = {"available": item["recording_enabled"], "url": None}
                return Answer(
                    200, self._exotel_envelope({"call_details": details}, f"req_details_{call_sid[-3:]}")
                )
        return self.error(404, f"No call with sid {call_sid}")

    def _exotel_fixture_stream(self, call_sid: str) -> Answer:
        if call_sid == FIXTURE_EXOTEL_STREAM_SID:
            return Answer(200, self.example("stream"))
        for item in self.example("active")["response"]["active_calls"]:
            if item["call_sid"] == call_sid:
                # Not in the docs: a plausible stream for the other example call, built from its list item.
                ringing = item["status"] == "ringing"
                inbound = item["direction"] == "inbound"
                legs = [
                    {
                        "leg_sid": f"leg_agent_{call_sid[-3:]}",
                        "contact_uri": item["to"] if inbound else item["from"],
                        "direction": "outbound",
                        "status": "ringing" if ringing and inbound else "connected",
                        "network_type": "pstn",
                        "audio_status": {"muted": False, "hold": False},
                    },
                    {
                        "leg_sid": f"leg_customer_{call_sid[-3:]}",
                        "contact_uri": item["from"] if inbound else item["to"],
                        "direction": "inbound" if inbound else "outbound",
                        "status": "ringing" if ringing and not inbound else "connected",
                        "network_type": "pstn",
                        "audio_status": {"muted": False, "hold": False},
                    },
                ]
                stream = {
                    "call_sid": call_sid,
                    "status": item["status"],
                    "duration": item["duration"],
                    "legs": legs,
                    "bridge": None,
                    "recording": {"enabled": item["recording_enabled"], "channels": "dual", "duration": 0},
                }
                return Answer(200, self._exotel_envelope({"stream": stream}, f"req_stream_{call_sid[-3:]}"))
        return self.error(404, f"No active call with sid {call_sid}")


def _agent(rng: random.Random) -> Agent:
    """One of the account's human agents: on a phone, a SIP endpoint or a browser."""
    name = random_person(rng)
    roll = rng.random()
    if roll < 0.7:
        return Agent(random_uuid(rng), name, indian_mobile(rng), "pstn")
    handle = name.split()[0].lower() + str(rng.randrange(100))
    if roll < 0.9:
        return Agent(random_uuid(rng), name, f"sip:{handle}@agents.sip.exotel.example", "sip")
    return Agent(random_uuid(rng), name, f"webrtc:{handle}", "webrtc")


SIMULATED = ExotelSimulation
"""What the simulator loads for this folder."""
