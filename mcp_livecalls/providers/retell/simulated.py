"""The simulated Retell AI API: routes, bearer auth, error bodies and the documented variants.

``GET /v2/get-call/{call_id}`` answers the call object itself; ``POST /v3/list-calls`` lists
calls with typed filter conditions, ``limit``, ``skip``, an opaque ``pagination_key`` and
``include_total`` (the older ``POST /v2/list-calls`` is not served: Retell retired it, see
``providers.retell.adapter``). Errors are ``{"status": "error", "message"}``.
The growing parts of a record (transcript, latency, cost, analysis) come from the Retell family's
simulation (``families/retell_simulated.py``); Retell's own spellings are written here.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.providers.families.retell_simulated import (
    DISCONNECTION_REASONS,
    call_analysis,
    call_cost,
    heard,
    latency,
    storage_setting,
    voice_agents,
)
from mcp_livecalls.simkit.base import Answer, Endpoint, SimulatedProvider, demo_account, same
from mcp_livecalls.simkit.calls import Agent, SimCall, random_hex
from mcp_livecalls.simkit.render import ms

__all__ = ["RETELL_FLAVOURS", "RetellSimulation", "retell_record", "retell_status"]

RETELL_FLAVOURS: frozenset[str] = frozenset(
    {
        "retell.no_total",  # v3 lists answer without total (include_total not honoured)
        "retell.no_has_more",  # v3 lists answer without has_more: a pagination_key on every full page
        "retell.not_found_404",  # an unknown call id is 404 (the NotFound response) rather than 422
        "retell.live_transcript",  # transcript and latency grow while the call is live (Zudu's reading)
        "retell.storage_except_pii",  # every call stores everything_except_pii
        "retell.storage_basic_only",  # every call stores basic_attributes_only
    }
)
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 50
LISTABLE_STATUSES: Final = frozenset({"not_connected", "ongoing", "ended", "error"})
"""The list filter's ``call_status`` enum: ``registered`` is refused."""
NOT_FOUND: Final = "Cannot find requested asset under given api key."
_STORAGE_FLAVOURS: Final = {
    "retell.storage_except_pii": "everything_except_pii",
    "retell.storage_basic_only": "basic_attributes_only",
}


def retell_status(call: SimCall, ts: float) -> str:
    """Retell's ``call_status``: registered until answered, then ongoing; ended, error, or
    not_connected for a call that ended without being answered."""
    state = call.state_at_ts(ts)
    if state == "ended":
        if call.end_reason == "failed":
            return "error"
        return "ended" if call.answer_s is not None else "not_connected"
    if state in ("queued", "ringing", "early_media"):
        return "registered"
    return "ongoing"


def retell_record(
    call: SimCall, ts: float, *, storage: str, transcript: bool, live_transcript: bool = False
) -> dict[str, Any]:
    """The call object at ``ts``. ``transcript=False`` writes a v3 list item (no transcript
    fields). Transcript and latency are written once the call has ended ("available after call
    ends"), or while live too with ``live_transcript``. Sensitive data is written whatever the
    storage setting says: hiding it is the MCP server's job, and tests check that it does."""
    d = call.details()
    status = retell_status(call, ts)
    ended = call.state_at_ts(ts) == "ended"
    started = status != "registered" and call.answer_s is not None
    turns, tools = heard(call, ts)
    record: dict[str, Any] = {
        "call_id": call.id,
        "call_type": "web_call" if call.web_call else "phone_call",
        "agent_id": call.agent.id if call.agent is not None else "",
        "agent_version": call.extra.get("agent_version", 1),
        "call_status": status,
    }
    if call.agent is not None:
        record["agent_name"] = call.agent.name
    if call.web_call:
        record["access_token"] = call.extra.get("access_token", "")
    else:
        record["direction"] = call.direction
        record["from_number"] = call.from_number
        record["to_number"] = call.to_number
        record["telephony_identifier"] = {"twilio_call_sid": d.telephony_call_sid}
    record["start_timestamp"] = ms(call.created_ts) if started else None
    record["data_storage_setting"] = storage
    record["metadata"] = dict(d.metadata)
    record["call_cost"] = call_cost(call, ts, turns, scale=100.0)  # cents
    if ended:
        record["end_timestamp"] = ms(call.end_ts)
        record["duration_ms"] = ms(call.end_s) if started else 0
        record["disconnection_reason"] = DISCONNECTION_REASONS[call.end_reason]
        record["call_analysis"] = call_analysis(call, ts)
        record["public_log_url"] = f"https://logs.example.com/retell/{call.id}/public.log"
        if call.recording and started:
            record["recording_url"] = f"https://recordings.example.com/retell/{call.id}.wav"
    if ended or live_transcript:
        record["latency"] = latency(turns)
        if transcript:
            answered = call.answer_s or 0.0
            record["transcript"] = "\n".join(
                f"{'Agent' if t.role == 'assistant' else 'User'}: {t.content}" for t in turns
            )
            record["transcript_object"] = [
                {
                    "role": "agent" if t.role == "assistant" else "user",
                    "content": t.content,
                    "words": [
                        {"word": w, "start": round(a - answered, 3), "end": round(b - answered, 3)}
                        for w, a, b in t.words
                    ],
                }
                for t in turns
            ]
            record["transcript_with_tool_calls"] = [
                {
                    "role": "tool_call_invocation",
                    "tool_call_id": t.tool_call_id,
                    "name": t.name,
                    "arguments": t.arguments,
                }
                for t in tools
            ]
    return record


def _key(call: SimCall) -> str:
    """An opaque v3 pagination key: where the next page starts (after this call)."""
    anchor = json.dumps({"t": ms(call.created_ts), "id": call.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(anchor.encode()).decode().rstrip("=")


def _anchor(key: str) -> tuple[int, str] | None:
    try:
        raw = json.loads(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("t"), int) or not isinstance(raw.get("id"), str):
        return None
    return raw["t"], raw["id"]


def _after(calls: list[SimCall], anchor: tuple[int, str], descending: bool) -> list[SimCall]:
    """The calls after ``anchor`` in the list's order (the anchor itself may have gone)."""
    if descending:
        return [c for c in calls if (ms(c.created_ts), c.id) < anchor]
    return [c for c in calls if (ms(c.created_ts), c.id) > anchor]


class _Refused(Exception):
    """A list request Retell would answer 400."""


class RetellSimulation(SimulatedProvider):
    name = "retell"
    flavours = RETELL_FLAVOURS
    demo_settings = demo_account(api_key="key_demo_retell_5f2c9a0e7b13")
    web_call_share = 0.2
    holds = False

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return voice_agents(rng, 26)

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = random_hex(rng, 32)
        call.agent = rng.choice(agents)
        call.recording = rng.random() < 0.85
        call.opt_out_sensitive_data_storage = rng.random() < 0.15
        call.extra["agent_version"] = rng.randint(1, 12)
        if call.web_call:
            call.extra["access_token"] = f"eyJ{random_hex(rng, 40)}"

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        return [
            ("/v2/get-call/{call_id}", self.get_call, "GET"),
            ("/v3/list-calls", self.list_v3, "POST"),
        ]

    @staticmethod
    def records(route: str, payload: Any) -> list[dict[str, Any]]:
        if not isinstance(payload, dict):
            return []
        items = payload.get("items")
        if route == "list_calls" and isinstance(items, list):
            return [item for item in items if isinstance(item, dict)]
        return [payload] if "call_id" in payload else []

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        return Answer(
            status, {"status": "error", "message": message}, self.retry_headers(status, retry_after)
        )

    def _denied(self, request: Request) -> Answer | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same(key.strip(), self.account["api_key"]):
            return self.error(401, "API key is missing or invalid.")
        return None

    def _storage(self, call: SimCall) -> str:
        for flavour, setting in _STORAGE_FLAVOURS.items():
            if self.sim.flavour(flavour):
                return setting
        return storage_setting(call)

    def _record(self, call: SimCall, ts: float, *, transcript: bool) -> dict[str, Any]:
        return retell_record(
            call,
            ts,
            storage=self._storage(call),
            transcript=transcript,
            live_transcript=self.sim.flavour("retell.live_transcript"),
        )

    async def get_call(self, request: Request) -> Response:
        call_id = str(request.path_params["call_id"])

        def answer() -> Answer:
            denied = self._denied(request)
            if denied is not None:
                return denied
            call = None if self.sim.fixtures else self.sim.population.find(self.name, call_id)
            if call is None:
                return self.error(404 if self.sim.flavour("retell.not_found_404") else 422, NOT_FOUND)
            return Answer(200, self._record(call, self.sim.now_ts(), transcript=True))

        return await self.sim.serve(request, self.name, "get_call", answer)

    async def list_v3(self, request: Request) -> Response:
        raw = await request.body()

        def answer() -> Answer:
            denied = self._denied(request)
            if denied is not None:
                return denied
            return self._listing(raw, self._v3_answer)

        return await self.sim.serve(request, self.name, "list_calls", answer)

    def _listing(self, raw: bytes, read: Callable[[dict[str, Any]], Answer]) -> Answer:
        try:
            query = json.loads(raw) if raw.strip() else {}
            if not isinstance(query, dict):
                raise _Refused("the body must be a JSON object")
            return read(query)
        except (ValueError, UnicodeDecodeError, _Refused):
            return self.error(400, "Invalid request format, please check API reference.")

    def _calls(self, keep: Callable[[SimCall, str], bool], sort_order: Any) -> list[SimCall]:
        if sort_order not in ("ascending", "descending"):
            raise _Refused("sort_order")
        if self.sim.fixtures:
            return []
        ts = self.sim.now_ts()
        calls = [c for c in self.sim.population.visible(self.name) if keep(c, retell_status(c, ts))]
        return calls if sort_order == "descending" else calls[::-1]

    @staticmethod
    def _limit(query: dict[str, Any]) -> int:
        limit = query.get("limit", DEFAULT_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise _Refused("limit")
        return limit

    def _v3_answer(self, query: dict[str, Any]) -> Answer:
        criteria = query.get("filter_criteria") or {}
        if not isinstance(criteria, dict):
            raise _Refused("filter_criteria")
        statuses = _enum_condition(criteria.get("call_status"), LISTABLE_STATUSES)
        directions = _enum_condition(criteria.get("direction"), frozenset({"inbound", "outbound"}))
        types = _enum_condition(criteria.get("call_type"), frozenset({"web_call", "phone_call"}))
        agents = criteria.get("agent")
        if agents is not None and not (
            isinstance(agents, list)
            and all(isinstance(a, dict) and isinstance(a.get("agent_id"), str) for a in agents)
        ):
            raise _Refused("agent")
        agent_ids = None if agents is None else {a["agent_id"] for a in agents}
        limit = self._limit(query)
        skip = query.get("skip", 0)
        if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
            raise _Refused("skip")
        descending = query.get("sort_order", "descending") == "descending"
        calls = self._calls(
            lambda c, status: _kept(c, status, statuses, directions, types, agent_ids),
            query.get("sort_order", "descending"),
        )
        total = len(calls)
        key = query.get("pagination_key")
        if key is not None:
            anchor = _anchor(key) if isinstance(key, str) else None
            if anchor is None:
                raise _Refused("pagination_key")
            calls = _after(calls, anchor, descending)
        window = calls[skip : skip + limit]
        more = skip + limit < len(calls)
        ts = self.sim.now_ts()
        body: dict[str, Any] = {"items": [self._record(c, ts, transcript=False) for c in window]}
        if self.sim.flavour("retell.no_has_more"):
            if len(window) == limit and window:
                body["pagination_key"] = _key(window[-1])
        else:
            body["has_more"] = more
            if more:
                body["pagination_key"] = _key(window[-1])
        if query.get("include_total") is True and not self.sim.flavour("retell.no_total"):
            body["total"] = total
        return Answer(200, body)


def _enum_condition(condition: Any, allowed: frozenset[str]) -> frozenset[str] | None:
    """The values of a v3 ``{"type": "enum", "op": "in", "value": [...]}`` condition."""
    if condition is None:
        return None
    if not isinstance(condition, dict) or condition.get("type") != "enum" or condition.get("op") != "in":
        raise _Refused("condition")
    return _plain_list(condition.get("value"), allowed)


def _plain_list(values: Any, allowed: frozenset[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _Refused("list")
    if allowed is not None and not set(values) <= allowed:
        raise _Refused("value")
    return frozenset(values)


def _kept(
    call: SimCall,
    status: str,
    statuses: frozenset[str] | None,
    directions: frozenset[str] | None,
    types: frozenset[str] | None,
    agents: frozenset[str] | set[str] | None,
) -> bool:
    call_type = "web_call" if call.web_call else "phone_call"
    return (
        (statuses is None or status in statuses)
        and (directions is None or (not call.web_call and call.direction in directions))
        and (types is None or call_type in types)
        and (agents is None or (call.agent is not None and call.agent.id in agents))
    )


SIMULATED = RetellSimulation
"""What the simulator loads for this folder."""
