"""The simulated Vobiz API: routes, auth, error bodies and flavours (``vobiz.*``).

Vobiz answers the live and queued lists at ``/api/v1/Account/{auth_id}/Call/`` (UUIDs only),
one call at ``/Call/{uuid}/`` and its media streams at ``/Call/{uuid}/Stream/``; auth is the
``X-Auth-ID`` / ``X-Auth-Token`` pair. Its two documented body shapes (``plivo``, ``flat``) are
``Simulator.vobiz_shape``.

Its documented examples, verbatim in ``examples/`` (answered by ``Simulator(fixtures=True)``):

=================  ==========================================================================
``live_plivo``     vobiz-live-call-v1.txt (the ``// Also referred to as request_uuid`` comment
                   removed: it is not JSON)
``live_flat``      vobiz-live-call-v2.md
=================  ==========================================================================
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar, Final, TypeVar
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.simkit.base import (
    ERROR_CODES,
    HUGE_ID,
    Answer,
    Endpoint,
    SimulatedProvider,
    int_param,
    same,
)
from mcp_livecalls.simkit.population import (
    LIVE_STATES,
    Agent,
    CallState,
    SimCall,
    random_person,
    random_uuid,
)
from mcp_livecalls.simkit.render import iso_time_ms

__all__ = ["VOBIZ_FLAVOURS", "VobizSimulation"]

FIXTURE_VOBIZ_PLIVO_UUID: Final = "97ceeb52-58b6-11e1-86da-77300b68f8bb"
FIXTURE_VOBIZ_FLAT_UUID: Final = "2ded13fe-4f9b-4958-9bfb-093ea2f29f91"
VOBIZ_QUEUED_MAX: Final = 20
VOBIZ_PAGE_MAX: Final = 20  # Plivo's limit (1-20) on the live and queued lists; Vobiz's "max 20 per request"
VOBIZ_LOCAL_ZONE: Final = ZoneInfo("Asia/Kolkata")


VOBIZ_FLAVOURS: frozenset[str] = frozenset(
    {
        # Without a flavour the UUID lists answer every call at once (Vobiz documents no paging;
        # the queued list stops at 20, as documented), in UTC, with either path form.
        "vobiz.paged",  # Plivo's limit (1-20, default 20) and offset honoured on both lists
        "vobiz.offset_ignored",  # limit honoured, offset ignored: every request answers the first page
        "vobiz.legacy_shape",  # single calls in the Plivo-style {"calls": [{"call_state": ...}]} shape
        "vobiz.no_slash",  # only /Call and /Call/{uuid} answer (OpenAPI); a trailing slash gets 401
        "vobiz.idle_404",  # an empty list answers a 404 in Vobiz's JSON error shape
        "vobiz.local_time",  # zone-less times in Asia/Kolkata (the Console's zone); streams with +05:30
    }
)


# -- payloads -------------------------------------------------------------------------------


_Entry = TypeVar("_Entry")


def vobiz_time(ts: float, zone: tzinfo = UTC, *, offset: bool = False) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the account's zone, no zone written (as Vobiz writes call times);
    with ``offset`` the zone's offset follows (``+05:30``), as in Vobiz's stream objects."""
    local = datetime.fromtimestamp(ts, zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    return text + local.isoformat()[19:] if offset else text


def vobiz_time_us(ts: float, zone: tzinfo = UTC) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in the account's zone, no zone written."""
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S.%f")


# -- Vobiz -----------------------------------------------------------------------------------------

_PLIVO_STATE: dict[CallState, str] = {
    "queued": "QUEUED",  # Undocumented: only reached through status=queued, which answers the flat shape.
    "ringing": "RINGING",
    "early_media": "EARLY",
    "in_progress": "ACTIVE",
    "on_hold": "HELD",
    "ended": "ENDED",
}

# Undocumented: the flat shape has no word for a held call. We answer "in-progress" (the call is
# still up; Plivo's callbacks only know ringing / in-progress / completed) and invent nothing.
_FLAT_STATUS: dict[CallState, str] = {
    "queued": "queued",
    "ringing": "ringing",
    "early_media": "early-media",
    "in_progress": "in-progress",
    "on_hold": "in-progress",
    "ended": "completed",
}


def vobiz_plivo_call(call: SimCall, ts: float, auth_id: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """One element of ``calls`` in vobiz-live-call-v1.txt (times in the account's ``zone``)."""
    state = call.state_at_ts(ts)
    answer = call.created_ts + call.answer_s if call.answer_s is not None and state != "queued" else None
    answered = answer is not None and ts >= answer
    return {
        # Undocumented: answer_time is null until the call is answered.
        "answer_time": vobiz_time(answer, zone) if answered and answer is not None else None,
        "bill_duration": None,
        "billed_duration": None,
        "call_direction": call.direction,
        "call_duration": math.floor(call.talk_s(ts)),
        "call_state": _PLIVO_STATE[state],
        "call_uuid": call.id,
        "conference_uuid": call.conference_uuid,
        "end_time": None,
        "from_number": call.from_number,
        "initiation_time": vobiz_time(call.created_ts, zone),
        "parent_call_uuid": call.parent_call_uuid,
        "hangup_cause_code": None,
        "hangup_cause_name": None,
        "hangup_source": None,
        "resource_uri": f"/v1/Account/{auth_id}/Call/{call.id}/",
        "to_number": call.to_number,
        "total_amount": None,
        "total_rate": None,
        "stir_verification": call.stir_verification,
        "stir_attestation": call.stir_attestation,
        "source_ip": call.source_ip,
    }


def vobiz_flat(call: SimCall, ts: float, api_id: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """The whole body of vobiz-live-call-v2.md (numbers without ``+``, as documented)."""
    return {
        "api_id": api_id,
        "call_status": _FLAT_STATUS[call.state_at_ts(ts)],
        "call_uuid": call.id,
        "caller_name": call.caller_name or "",
        "direction": call.direction,
        "from": call.from_number.removeprefix("+"),
        "request_uuid": call.id,
        "session_start": vobiz_time_us(call.created_ts, zone),
        "stir_attestation": call.stir_attestation,
        "stir_verification": call.stir_verification,
        "to": call.to_number.removeprefix("+"),
    }


def vobiz_streams(
    call: SimCall, ts: float, auth_id: str, zone: tzinfo = UTC, *, offset: bool = False
) -> list[dict[str, Any]]:
    """Media streams of a live call (a Plivo-like stream object; empty for most calls).

    With ``offset`` the times carry the zone's offset (``+05:30``), as Vobiz's stream docs show."""
    if call.media_stream is None:
        return []
    stream_id, start_s, track, bidirectional = call.media_stream
    if ts < call.created_ts + start_s:
        return []
    return [
        {
            "stream_id": stream_id,
            "call_uuid": call.id,
            "status": "in-progress",
            "audio_track": track,
            "bidirectional": bidirectional,
            "content_type": "audio/x-l16;rate=8000",
            "service_url": f"wss://media.example.com/streams/{call.id}",
            "start_time": vobiz_time(call.created_ts + start_s, zone, offset=offset),
            "end_time": None,
            "resource_uri": f"/v1/Account/{auth_id}/Call/{call.id}/Stream/{stream_id}/",
        }
    ]


class VobizSimulation(SimulatedProvider):
    name = "vobiz"
    flavours = VOBIZ_FLAVOURS
    demo_settings: ClassVar[Mapping[str, str]] = {
        "auth_id": "MA_SIMULATOR0001",
        "auth_token": "sim-vobiz-token",
        "timezone": "UTC",
    }
    """``timezone`` is not a credential: the simulated account's Console zone (times written in UTC)."""

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = random_uuid(rng)
        if call.direction == "inbound" and rng.random() < 0.45:
            call.caller_name = random_person(rng)
        customer = call.from_number if call.direction == "inbound" else call.to_number
        if customer.startswith("+1") and call.direction == "inbound":
            call.stir_verification = "verified" if rng.random() < 0.8 else "not verified"
            call.stir_attestation = rng.choice(("A", "A", "B", "C"))
        call.source_ip = f"203.0.113.{rng.randint(1, 254)}" if call.direction == "inbound" else ""
        if call.direction == "outbound" and rng.random() < 0.1:
            call.parent_call_uuid = random_uuid(rng)
        if rng.random() < 0.05:
            call.conference_uuid = random_uuid(rng)
        if call.answer_s is not None and rng.random() < 0.25:
            call.media_stream = (
                random_uuid(rng),
                call.answer_s + rng.uniform(0.5, 3.0),
                rng.choice(("inbound", "outbound", "both")),
                rng.random() < 0.4,
            )

    # -- hooks of the Plivo family (``simulator/plivo.py`` answers Plivo's own API with them) ----

    api_prefix: ClassVar[str] = "/api/v1"
    """Where the ``Account/{auth_id}/Call`` paths start."""

    def legacy_shape(self) -> bool:
        """Whether single calls answer the Plivo-style ``{"calls": [...]}`` shape."""
        return self.sim.flavour("vobiz.legacy_shape")

    def zone(self) -> tzinfo:
        """The zone the account writes zone-less times in."""
        return VOBIZ_LOCAL_ZONE if self.sim.flavour("vobiz.local_time") else UTC

    def paging(self) -> str:
        """``"all"`` (every UUID at once), ``"paged"`` (limit/offset) or ``"offset_ignored"``."""
        if self.sim.flavour("vobiz.offset_ignored"):
            return "offset_ignored"
        return "paged" if self.sim.flavour("vobiz.paged") else "all"

    def authenticate(self, request: Request) -> bool:
        """Whether the request carries the account's credentials (Vobiz: the X-Auth pair)."""
        creds = self.account
        given_id = request.headers.get("x-auth-id", "")
        given_token = request.headers.get("x-auth-token", "")
        return same(given_id, creds["auth_id"]) and same(given_token, creds["auth_token"])

    def auth_failure(self) -> Answer:
        return self.error(401, "Authentication failed: check X-Auth-ID and X-Auth-Token")

    def live_calls(self, request: Request) -> list[SimCall]:
        """The live list's calls for this request (Vobiz documents no filters: none applied)."""
        return self.sim.population.live(self.name)

    def list_entries(self, calls: list[SimCall], ts: float) -> list[Any]:
        """The ``calls`` of a list answer: UUIDs, as documented."""
        return [c.id for c in calls]

    def fixture_call(self, status: str | None, call_uuid: str) -> dict[str, Any] | None:
        """The documented example answering ``call_uuid`` in fixtures mode."""
        examples = {FIXTURE_VOBIZ_PLIVO_UUID: "live_plivo", FIXTURE_VOBIZ_FLAT_UUID: "live_flat"}
        if status != "live" or call_uuid not in examples:
            return None
        example: dict[str, Any] = self.example(examples[call_uuid])
        return example

    fixture_ids: ClassVar[tuple[str, ...]] = (FIXTURE_VOBIZ_PLIVO_UUID, FIXTURE_VOBIZ_FLAT_UUID)
    """The calls of the documented examples (fixtures mode)."""

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        vobiz = self.api_prefix + "/{account}/{auth_id}/{call}"
        return [
            (vobiz, self.vobiz_list, "GET"),
            (vobiz + "/{call_uuid}", self.vobiz_get, "GET"),
            (vobiz + "/{call_uuid}/{stream}", self.vobiz_stream, "GET"),
        ]

    def fault_routes(self, request: Request, route: str) -> tuple[str, ...]:
        """The live and queued lists are one route, and each a route of its own for faults."""
        if route == "list_calls":
            return (route, f"list_{request.query_params.get('status')}")
        return (route,)

    @staticmethod
    def records(route: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        calls = payload.get("calls")
        if isinstance(calls, list) and calls and isinstance(calls[0], dict):
            found.extend(c for c in calls if isinstance(c, dict))
        elif route == "get_call":
            found.append(payload)  # the flat shape: the body is the record
        objects = payload.get("objects")
        if isinstance(objects, list):
            found.extend(o for o in objects if isinstance(o, dict))
        return found

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: dict[str, Any]) -> bool:
        if route != "list_calls":
            return False
        # The list is bare UUIDs: the envelope is all there is to damage.
        calls = payload.get("calls")
        if kind == "wrong_types" and isinstance(calls, list):
            payload["calls"] = [[c] for c in calls]
        elif kind == "missing_fields":
            payload.pop("calls", None)
        elif kind == "unknown_enum" and isinstance(calls, list):
            payload["calls"] = [*calls, "not-a-uuid"]
        elif kind == "extra_fields":
            payload["meta"] = {"next": None, "sim_note": "unexpected"}
        elif kind == "huge_ids" and isinstance(calls, list):
            payload["calls"] = [HUGE_ID, *calls]
        return True

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        headers = self.retry_headers(status, retry_after)
        if self.legacy_shape():
            return Answer(status, {"api_id": self.sim.new_uuid(), "error": message}, headers)
        body: dict[str, Any] = {
            "status": "error",
            "error": {"code": ERROR_CODES.get(status, "ERROR"), "message": message, "details": None},
            "timestamp": iso_time_ms(self.sim.now_ts()),
            "requestId": self.sim.new_uuid(),
        }
        return Answer(status, body, headers)

    def _vobiz_auth(self, request: Request, auth_id: str) -> Answer | None:
        if not self.authenticate(request):
            return self.auth_failure()
        if auth_id != self.account["auth_id"]:
            return self.error(403, f"Account {auth_id} is not accessible with these credentials")
        return None

    @staticmethod
    def _vobiz_path_ok(request: Request, extra: str | None = None) -> bool:
        p = request.path_params
        ok = str(p["account"]).lower() == "account" and str(p["call"]).lower() == "call"
        if extra is not None:
            ok = ok and str(p[extra]).lower() == extra
        return ok

    def _vobiz_wrong_form(self, request: Request) -> Answer | None:
        """``vobiz.no_slash``: only the OpenAPI's slash-less paths answer; a trailing slash gets 401,
        as Vobiz's migration notes say of a path form it does not accept."""
        if self.sim.flavour("vobiz.no_slash") and request.url.path.endswith("/"):
            return self.error(401, "Unauthorized")
        return None

    def _vobiz_page(self, request: Request, ids: list[_Entry]) -> list[_Entry] | Answer:
        """The list as the flavour pages it: everything (default; Vobiz documents no paging),
        ``limit``/``offset`` honoured (``vobiz.paged``), or ``limit`` only (``vobiz.offset_ignored``)."""
        paging = self.paging()
        if paging == "all":
            return ids
        limit = int_param(request.query_params.get("limit"), VOBIZ_PAGE_MAX)
        offset = int_param(request.query_params.get("offset"), 0)
        if limit is None or not 1 <= limit <= VOBIZ_PAGE_MAX:
            return self.error(400, f"limit must be between 1 and {VOBIZ_PAGE_MAX}")
        if offset is None or offset < 0:
            return self.error(400, "offset must be a non-negative integer")
        start = 0 if paging == "offset_ignored" else offset
        return ids[start : start + limit]

    def _vobiz_not_found(self, call_uuid: str) -> Answer:
        if self.legacy_shape():
            return Answer(404, {"api_id": self.sim.new_uuid(), "error": "not found"})
        return self.error(404, f"Call {call_uuid} not found")

    async def vobiz_list(self, request: Request) -> Response:
        if not self._vobiz_path_ok(request):
            return Response(b"Not Found", 404, media_type="text/plain")
        auth_id = str(request.path_params["auth_id"])

        def answer() -> Answer:
            denied = self._vobiz_wrong_form(request) or self._vobiz_auth(request, auth_id)
            if denied is not None:
                return denied
            status = request.query_params.get("status")
            # Plivo's filters (call_direction, from_number, to_number) are not documented by Vobiz:
            # like the pessimistic reading of NOTES.md, they are ignored. Paging depends on the flavour.
            ts = self.sim.now_ts()
            ids: list[Any]
            if status == "live":
                if self.sim.fixtures:
                    ids = list(self.fixture_ids)
                else:
                    ids = self.list_entries(self.live_calls(request), ts)
            elif status == "queued":
                ids = (
                    [] if self.sim.fixtures else self.list_entries(self.sim.population.queued(self.name), ts)
                )
                if self.paging() == "all":
                    ids = ids[:VOBIZ_QUEUED_MAX]  # documented: "a maximum of 20 call UUIDs per request"
            else:
                return self.error(400, "the simulator needs status=live or status=queued")
            page = self._vobiz_page(request, ids)
            if isinstance(page, Answer):
                return page
            if not page and self.sim.flavour(f"{self.name}.idle_404"):
                # Undocumented: an idle account's list answering Vobiz's own 404 body (NOTES.md).
                return self.error(404, "No calls found")
            return Answer(200, {"api_id": self.sim.new_uuid(), "calls": page})

        return await self.sim.serve(request, self.name, "list_calls", answer)

    async def vobiz_get(self, request: Request) -> Response:
        if not self._vobiz_path_ok(request):
            return Response(b"Not Found", 404, media_type="text/plain")
        auth_id = str(request.path_params["auth_id"])
        call_uuid = str(request.path_params["call_uuid"])

        def answer() -> Answer:
            denied = self._vobiz_wrong_form(request) or self._vobiz_auth(request, auth_id)
            if denied is not None:
                return denied
            status = request.query_params.get("status")
            if self.sim.fixtures:
                example = self.fixture_call(status, call_uuid)
                return self._vobiz_not_found(call_uuid) if example is None else Answer(200, example)
            ts = self.sim.now_ts()
            call = self.sim.population.find(self.name, call_uuid)
            if call is None:
                return self._vobiz_not_found(call_uuid)
            state = call.state_at_ts(ts)
            if status == "live" and state in LIVE_STATES:
                zone = self.zone()
                if self.legacy_shape():
                    return Answer(
                        200,
                        {"api_id": self.sim.new_uuid(), "calls": [vobiz_plivo_call(call, ts, auth_id, zone)]},
                    )
                return Answer(200, vobiz_flat(call, ts, self.sim.new_uuid(), zone))
            if status == "queued" and state == "queued":
                # Queued calls are documented in the flat shape only; both modes answer it.
                return Answer(200, vobiz_flat(call, ts, self.sim.new_uuid(), self.zone()))
            # Without status the real API answers the finished CDR, which is not simulated.
            return self._vobiz_not_found(call_uuid)

        return await self.sim.serve(request, self.name, "get_call", answer)

    async def vobiz_stream(self, request: Request) -> Response:
        if not self._vobiz_path_ok(request, "stream"):
            return Response(b"Not Found", 404, media_type="text/plain")
        auth_id = str(request.path_params["auth_id"])
        call_uuid = str(request.path_params["call_uuid"])

        def answer() -> Answer:
            denied = self._vobiz_wrong_form(request) or self._vobiz_auth(request, auth_id)
            if denied is not None:
                return denied
            page = int_param(request.query_params.get("page"), 1)
            per_page = int_param(request.query_params.get("per_page"), 20)
            if page is None or per_page is None or page < 1 or per_page < 1:
                return self.error(400, "page and per_page must be positive integers")
            per_page = min(per_page, 100)
            ts = self.sim.now_ts()
            objects: list[dict[str, Any]]
            if self.sim.fixtures:
                if call_uuid not in self.fixture_ids:
                    return self._vobiz_not_found(call_uuid)
                objects = []
            else:
                call = self.sim.population.find(self.name, call_uuid)
                if call is None or call.state_at_ts(ts) not in LIVE_STATES:
                    return self._vobiz_not_found(call_uuid)
                local = self.sim.flavour("vobiz.local_time")
                objects = vobiz_streams(call, ts, auth_id, self.zone(), offset=local)
            start = (page - 1) * per_page
            # NOTES.md documents {page, per_page, total, objects}; Plivo's stream list uses
            # {meta, objects}. Both are given so either reading works.
            return Answer(
                200,
                {
                    "api_id": self.sim.new_uuid(),
                    "page": page,
                    "per_page": per_page,
                    "total": len(objects),
                    "meta": {
                        "count": len(objects),
                        "limit": per_page,
                        "offset": start,
                        "next": None,
                        "previous": None,
                    },
                    "objects": objects[start : start + per_page],
                },
            )

        return await self.sim.serve(request, self.name, "stream", answer)


SIMULATED = VobizSimulation
"""What the simulator loads for this folder."""
