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
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.providers.exotel.simulated_payloads import (
    exotel_active_item,
    exotel_agent_details,
    exotel_call_details,
    exotel_stream,
)
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
    SimCall,
    indian_mobile,
    random_hex,
    random_person,
    random_uuid,
)

__all__ = ["EXOTEL_FLAVOURS", "ExotelSimulation"]

FIXTURE_EXOTEL_STREAM_SID: Final = "call_active_001"
EXOTEL_RATE_LIMIT: Final = 200  # documented: 200 requests / minute / account
EXOTEL_MAX_LIMIT: Final = 100
EXOTEL_ANSWERED: Final = frozenset({"in_progress", "on_hold"})


EXOTEL_FLAVOURS: frozenset[str] = frozenset(
    {"exotel.page_b", "exotel.stream_404_ringing", "exotel.details_alt"}
)


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
