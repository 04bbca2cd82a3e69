"""The simulated Vapi API: ``GET /call`` and ``GET /call/{id}``, auth, error bodies, flavours (``vapi.*``).

``GET /call`` answers a bare JSON array of call objects, newest first, filtered by ``id``,
``assistantId``, ``phoneNumberId`` and the ``createdAt``/``updatedAt`` bounds (``Gt``, ``Lt``,
``Ge``, ``Le``), at most ``limit`` (default 100, 0-1000) of them; it has no status filter, as Vapi's
OpenAPI file says. ``GET /call/{id}`` answers one call, finished calls included. Auth is
``Authorization: Bearer <private key>``; errors are NestJS's ``{message, error, statusCode}``.

A call carries what Vapi's ``Call`` schema names: ``type`` (``inboundPhoneCall``,
``outboundPhoneCall``, ``webCall``), ``status``, ``createdAt``/``updatedAt``/``startedAt``/
``endedAt``, ``endedReason``, ``customer.number``, ``assistantId``, ``phoneNumberId`` (half the
phone calls) or a transient ``phoneNumber`` with its Twilio credentials (the other half), ``cost``
and ``costBreakdown``, ``messages`` (the system prompt, then what was said so far) and
``monitor.listenUrl``/``controlUrl``: those two and the transient number's ``twilioAuthToken`` are
secrets the server must never show.

With ``fixtures`` it answers the documented example ``examples/call.json`` (a live inbound call,
typed from the ``Call`` schema of Vapi's OpenAPI file: the file has no example of its own).

Route names: ``list_calls`` and ``get_call`` (the stream details are made of the call).

Flavours: ``vapi.oldest_first`` answers the list oldest first (the order is not documented);
``vapi.same_instants`` writes ``createdAt`` at whole minutes, so several calls share an instant
(as a batch of calls made at once does).
"""

from __future__ import annotations

import http
import math
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Final

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.providers.families.retell_simulated import call_cost, heard
from mcp_livecalls.simkit.base import Answer, Endpoint, SimulatedProvider, int_param
from mcp_livecalls.simkit.calls import Agent, CallState, SimCall, random_hex, random_uuid
from mcp_livecalls.simkit.render import iso_time_ms, ms
from mcp_livecalls.simkit.scripts import VOICE_AGENT_NAMES

__all__ = ["VAPI_FLAVOURS", "VapiSimulation", "vapi_call"]

VAPI_FLAVOURS: frozenset[str] = frozenset({"vapi.oldest_first", "vapi.same_instants"})
MAX_LIMIT: Final = 1000
_ENDED: Final[dict[str, str]] = {
    "caller_hangup": "customer-ended-call",
    "callee_hangup": "assistant-ended-call",
    "transfer": "assistant-forwarded-call",
    "no_answer": "customer-did-not-answer",
    "busy": "customer-busy",
    "cancel": "manually-canceled",
    "failed": "twilio-failed-to-connect-call",
}
_BOUNDS: Final = ("Gt", "Lt", "Ge", "Le")
_ID_FILTERS: Final = ("id", "assistantId", "phoneNumberId")


def vapi_status(state: CallState) -> str:
    if state in ("ringing", "early_media"):
        return "ringing"
    if state in ("in_progress", "on_hold"):
        return "in-progress"
    return "ended" if state == "ended" else "queued"


def _created(call: SimCall, whole_minutes: bool) -> float:
    return math.floor(call.created_ts / 60) * 60 if whole_minutes else call.created_ts


def _messages(call: SimCall, ts: float) -> list[dict[str, Any]]:
    turns, _ = heard(call, ts)
    start = call.created_ts + (call.answer_s or 0.0)
    said = [
        {
            "role": "bot" if turn.role == "assistant" else "user",
            "message": turn.content,
            "time": ms(call.created_ts + turn.start_s),
            "endTime": ms(call.created_ts + turn.end_s),
            "secondsFromStart": round(call.created_ts + turn.start_s - start, 3),
            "duration": round(turn.end_s - turn.start_s, 3),
        }
        for turn in turns
    ]
    if call.answer_s is None or ts < start:
        return said
    prompt = f"You are {call.agent.name if call.agent else 'an assistant'}, a helpful voice agent."
    return [{"role": "system", "message": prompt, "time": ms(start), "secondsFromStart": 0}, *said]


def _numbers(call: SimCall) -> dict[str, Any]:
    if call.web_call:
        return {}
    customer = call.to_number if call.direction == "outbound" else call.from_number
    ours = call.from_number if call.direction == "outbound" else call.to_number
    if call.extra["transient_number"]:
        number = {
            "twilioPhoneNumber": ours,
            "twilioAccountSid": call.extra["twilio_account"],
            "twilioAuthToken": call.extra["twilio_token"],
        }
        return {"customer": {"number": customer}, "phoneNumber": number}
    return {"customer": {"number": customer}, "phoneNumberId": call.extra["phone_number_id"]}


def vapi_call(call: SimCall, ts: float, *, whole_minutes: bool = False) -> dict[str, Any]:
    state = call.state_at_ts(ts)
    kind = "webCall" if call.web_call else f"{call.direction}PhoneCall"
    updated = min(ts, call.end_ts)
    body: dict[str, Any] = {
        "id": call.id,
        "orgId": call.extra["org_id"],
        "type": kind,
        "status": vapi_status(state),
        "createdAt": iso_time_ms(_created(call, whole_minutes)),
        "updatedAt": iso_time_ms(updated),
        "assistantId": call.agent.id if call.agent else None,
        **_numbers(call),
        "monitor": {
            "listenUrl": f"wss://phone-call-websocket.vapi.test/{call.extra['monitor_token']}/listen",
            "controlUrl": f"https://phone-call-websocket.vapi.test/{call.extra['monitor_token']}/control",
        },
    }
    if not call.web_call:
        body.update(phoneCallProvider="twilio", phoneCallProviderId=call.extra["provider_call_id"])
    if call.answer_s is not None and state not in ("queued", "ringing", "early_media"):
        body["startedAt"] = iso_time_ms(call.created_ts + call.answer_s)
    turns, _ = heard(call, ts)
    cost = call_cost(call, ts, turns)["combined_cost"]
    body.update(cost=cost, costBreakdown={"total": cost}, messages=_messages(call, ts))
    if state == "ended":
        body.update(endedAt=iso_time_ms(call.end_ts), endedReason=_ENDED[call.end_reason])
    return body


def _time(raw: str) -> float | None:
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _within(value: float, bounds: dict[str, float]) -> bool:
    checks = {"Gt": value > bounds.get("Gt", -math.inf), "Lt": value < bounds.get("Lt", math.inf)}
    checks |= {"Ge": value >= bounds.get("Ge", -math.inf), "Le": value <= bounds.get("Le", math.inf)}
    return all(checks.values())


class VapiSimulation(SimulatedProvider):
    """Vapi's AI assistants hold no caller; a fifth of the calls come from the browser."""

    name = "vapi"
    holds = False
    web_call_share = 0.2
    flavours = VAPI_FLAVOURS
    demo_settings: ClassVar[Mapping[str, str]] = {"api_key": "3c6f2a1e-9b4d-4e7a-8c21-5d0f7e9a1b3c"}

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return tuple(Agent(random_uuid(rng), name, "", "webrtc") for name in VOICE_AGENT_NAMES)

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = random_uuid(rng)
        call.agent = rng.choice(agents)
        call.extra.update(
            org_id="6b9e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            transient_number=rng.random() < 0.5,
            phone_number_id=random_uuid(rng),
            twilio_account=f"AC{random_hex(rng, 32)}",
            twilio_token=random_hex(rng, 32),
            provider_call_id=f"CA{random_hex(rng, 32)}",
            monitor_token=random_hex(rng, 40),
        )

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        return [("/call", self.list_calls, "GET"), ("/call/{id}", self.get_call, "GET")]

    @staticmethod
    def records(route: str, payload: Any) -> list[dict[str, Any]]:
        if isinstance(payload, dict):
            return [payload] if "id" in payload else []
        return SimulatedProvider.records(route, payload)

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: Any) -> bool:
        """A single call is the whole answer (its ``status`` is the call's): damaged here."""
        if kind == "unknown_enum" and isinstance(payload, dict):
            payload.update(status="barging", type="sideways")
            return True
        return False

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        body = {
            "message": message,
            "error": http.HTTPStatus(status).phrase,
            "statusCode": status,
        }
        return Answer(status, body, self.retry_headers(status, retry_after))

    def _denied(self, request: Request) -> Answer | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.account.get("api_key"):
            return self.error(
                401, "Invalid Key. Hot tip, you may be using the public key instead of the private key."
            )
        return None

    def _calls(self) -> list[dict[str, Any]]:
        if self.sim.fixtures:
            return [self.example("call")]
        ts = self.sim.now_ts()
        whole = self.sim.flavour("vapi.same_instants")
        return [vapi_call(call, ts, whole_minutes=whole) for call in self.sim.population.visible(self.name)]

    def _listing(self, request: Request) -> Answer:
        params = request.query_params
        limit = int_param(params.get("limit"), 100)
        if limit is None or not 0 <= limit <= MAX_LIMIT:
            return self.error(400, "limit must not be greater than 1000")
        bounds: dict[str, dict[str, float]] = {"createdAt": {}, "updatedAt": {}}
        for name, kept in bounds.items():
            for bound in _BOUNDS:
                raw = params.get(f"{name}{bound}")
                if raw is not None:
                    when = _time(raw)
                    if when is None:
                        return self.error(400, f"{name}{bound} must be a valid ISO 8601 date string")
                    kept[bound] = when
        calls = [
            call
            for call in self._calls()
            if all(_within(_time(call[name]) or 0.0, kept) for name, kept in bounds.items())
            and all(
                call.get(key) == params[key]
                for key in ("id", "assistantId", "phoneNumberId")
                if key in params
            )
        ]
        calls.sort(
            key=lambda call: (call["createdAt"], call["id"]),
            reverse=not self.sim.flavour("vapi.oldest_first"),
        )
        return Answer(200, calls[:limit])

    def _one(self, wanted: str) -> Answer:
        if self.sim.fixtures:
            found = [call for call in self._calls() if call["id"] == wanted]
            body = found[0] if found else None
        else:
            call = self.sim.population.find(self.name, wanted)
            whole = self.sim.flavour("vapi.same_instants")
            body = None if call is None else vapi_call(call, self.sim.now_ts(), whole_minutes=whole)
        return Answer(200, body) if body else self.error(404, f"Couldn't find Call {wanted}.")

    async def list_calls(self, request: Request) -> Response:
        return await self.sim.serve(
            request, self.name, "list_calls", lambda: self._denied(request) or self._listing(request)
        )

    async def get_call(self, request: Request) -> Response:
        wanted = str(request.path_params["id"])
        return await self.sim.serve(
            request, self.name, "get_call", lambda: self._denied(request) or self._one(wanted)
        )


SIMULATED = VapiSimulation
"""What the simulator loads for this folder."""
