"""The simulated Plivo-family API: what Vobiz's and Plivo's simulated APIs share.

Both answer the live and queued lists at ``{prefix}/Account/{auth_id}/Call/?status=live|queued``
(UUIDs), one call at ``/Call/{uuid}/`` and its media streams at ``/Call/{uuid}/Stream/``; the
single call comes in the flat shape (vobiz-live-call-v2.md, Plivo's live call) or in the older
``{"calls": [{"call_state": ...}]}`` shape (vobiz-live-call-v1.txt); the list is paged by
``limit`` (1-20, Plivo's limit) and ``offset``. Each member says, by the hooks of
:class:`AccountCallSimulation`, its path prefix, auth, error body, paging, zone and list filters.
The bodies themselves are written by ``plivo_simulated_records``.
"""

from __future__ import annotations

import random
from datetime import UTC, tzinfo
from typing import Any, ClassVar, Final, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.providers.families.plivo_simulated_records import (
    call_object,
    flat_call,
    stream_objects,
    stream_page,
)
from mcp_livecalls.simkit.base import HUGE_ID, Answer, Endpoint, SimulatedProvider, int_param
from mcp_livecalls.simkit.calls import LIVE_STATES, Agent, SimCall, random_person, random_uuid

__all__ = ["PAGE_MAX", "QUEUED_MAX", "AccountCallSimulation"]

QUEUED_MAX: Final = 20  # Vobiz: "a maximum of 20 call UUIDs per request" on the queued list
PAGE_MAX: Final = 20  # Plivo's limit (1-20) on the live and queued lists; Vobiz's "max 20 per request"

_Entry = TypeVar("_Entry")


class AccountCallSimulation(SimulatedProvider):
    """The ``Account/{auth_id}/Call`` API; a member gives its name, account, auth and the hooks."""

    api_prefix: ClassVar[str]
    """Where the ``Account/{auth_id}/Call`` paths start."""
    fixture_ids: ClassVar[tuple[str, ...]] = ()
    """The calls of the documented examples (fixtures mode); none: the lists are empty."""

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

    # -- hooks (the defaults are Plivo's reading) ------------------------------------------------

    def legacy_shape(self) -> bool:
        """Whether single calls answer the older ``{"calls": [...]}`` shape (else the flat one)."""
        return False

    def zone(self) -> tzinfo:
        """The zone the account writes zone-less times in."""
        return UTC

    def stream_offsets(self) -> bool:
        """Whether stream times carry the zone's offset."""
        return False

    def paging(self) -> str:
        """``"all"`` (every UUID at once), ``"paged"`` (limit/offset) or ``"offset_ignored"``."""
        return "paged"

    def slash_refused(self) -> bool:
        """Whether a path with a trailing slash is refused (401)."""
        return False

    def authenticate(self, request: Request) -> bool:
        """Whether the request carries the account's credentials."""
        raise NotImplementedError

    def auth_failure(self) -> Answer:
        raise NotImplementedError

    def live_calls(self, request: Request) -> list[SimCall]:
        """The live list's calls for this request (no filters by default)."""
        return self.sim.population.live(self.name)

    def list_entries(self, calls: list[SimCall], ts: float) -> list[Any]:
        """The ``calls`` of a list answer: UUIDs, as documented."""
        return [c.id for c in calls]

    def fixture_call(self, status: str | None, call_uuid: str) -> dict[str, Any] | None:
        """The documented example answering ``call_uuid`` in fixtures mode."""
        return None

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        """``{"api_id", "error"}``: Plivo's error body (and Vobiz's in the older shape)."""
        return Answer(
            status, {"api_id": self.sim.new_uuid(), "error": message}, self.retry_headers(status, retry_after)
        )

    # -- routes ----------------------------------------------------------------------------------

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        calls = self.api_prefix + "/{account}/{auth_id}/{call}"
        return [
            (calls, self.call_list, "GET"),
            (calls + "/{call_uuid}", self.call_get, "GET"),
            (calls + "/{call_uuid}/{stream}", self.call_streams, "GET"),
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

    def _denied(self, request: Request) -> Answer | None:
        """Refused path form (``slash_refused``: 401, as Vobiz's migration notes say of a path
        form it does not accept), wrong credentials (401), or another account (403)."""
        if self.slash_refused() and request.url.path.endswith("/"):
            return self.error(401, "Unauthorized")
        if not self.authenticate(request):
            return self.auth_failure()
        auth_id = str(request.path_params["auth_id"])
        if auth_id != self.account["auth_id"]:
            return self.error(403, f"Account {auth_id} is not accessible with these credentials")
        return None

    @staticmethod
    def _path_ok(request: Request, extra: str | None = None) -> bool:
        p = request.path_params
        ok = str(p["account"]).lower() == "account" and str(p["call"]).lower() == "call"
        if extra is not None:
            ok = ok and str(p[extra]).lower() == extra
        return ok

    def _page(self, request: Request, ids: list[_Entry]) -> list[_Entry] | Answer:
        """The list as ``paging`` says: everything, ``limit``/``offset`` honoured, or ``limit`` only."""
        paging = self.paging()
        if paging == "all":
            return ids
        limit = int_param(request.query_params.get("limit"), PAGE_MAX)
        offset = int_param(request.query_params.get("offset"), 0)
        if limit is None or not 1 <= limit <= PAGE_MAX:
            return self.error(400, f"limit must be between 1 and {PAGE_MAX}")
        if offset is None or offset < 0:
            return self.error(400, "offset must be a non-negative integer")
        start = 0 if paging == "offset_ignored" else offset
        return ids[start : start + limit]

    def _not_found(self, call_uuid: str) -> Answer:
        if self.legacy_shape():
            return Answer(404, {"api_id": self.sim.new_uuid(), "error": "not found"})
        return self.error(404, f"Call {call_uuid} not found")

    async def _serve(self, request: Request, route: str, answer: Any, extra: str | None = None) -> Response:
        """Serve ``answer`` after the path and credential checks every route makes."""
        if not self._path_ok(request, extra):
            return Response(b"Not Found", 404, media_type="text/plain")

        def checked() -> Answer:
            denied = self._denied(request)
            return denied if denied is not None else answer()

        return await self.sim.serve(request, self.name, route, checked)

    async def call_list(self, request: Request) -> Response:
        return await self._serve(request, "list_calls", lambda: self._list_answer(request))

    def _list_ids(self, request: Request, status: str | None) -> list[Any] | None:
        ts = self.sim.now_ts()
        if status == "live":
            if self.sim.fixtures:
                return list(self.fixture_ids)
            return self.list_entries(self.live_calls(request), ts)
        if status == "queued":
            ids = [] if self.sim.fixtures else self.list_entries(self.sim.population.queued(self.name), ts)
            # Unpaged, the queued list still stops at QUEUED_MAX, as documented.
            return ids[:QUEUED_MAX] if self.paging() == "all" else ids
        return None

    def _list_answer(self, request: Request) -> Answer:
        # Plivo's filters (call_direction, from_number, to_number) apply where a member's
        # ``live_calls`` applies them; paging is the member's ``paging``.
        ids = self._list_ids(request, request.query_params.get("status"))
        if ids is None:
            return self.error(400, "the simulator needs status=live or status=queued")
        page = self._page(request, ids)
        if isinstance(page, Answer):
            return page
        if not page and self.sim.flavour(f"{self.name}.idle_404"):
            # Undocumented: an idle account's list answering the member's own 404 body (NOTES.md).
            return self.error(404, "No calls found")
        return Answer(200, {"api_id": self.sim.new_uuid(), "calls": page})

    async def call_get(self, request: Request) -> Response:
        return await self._serve(request, "get_call", lambda: self._get_answer(request))

    def _get_answer(self, request: Request) -> Answer:
        auth_id = str(request.path_params["auth_id"])
        call_uuid = str(request.path_params["call_uuid"])
        status = request.query_params.get("status")
        if self.sim.fixtures:
            example = self.fixture_call(status, call_uuid)
            return self._not_found(call_uuid) if example is None else Answer(200, example)
        ts = self.sim.now_ts()
        call = self.sim.population.find(self.name, call_uuid)
        if call is None:
            return self._not_found(call_uuid)
        state = call.state_at_ts(ts)
        if status == "live" and state in LIVE_STATES:
            zone = self.zone()
            if self.legacy_shape():
                body = {"api_id": self.sim.new_uuid(), "calls": [call_object(call, ts, auth_id, zone)]}
                return Answer(200, body)
            return Answer(200, flat_call(call, ts, self.sim.new_uuid(), zone))
        if status == "queued" and state == "queued":
            # Queued calls are documented in the flat shape only; both modes answer it.
            return Answer(200, flat_call(call, ts, self.sim.new_uuid(), self.zone()))
        # Without status the real API answers the finished CDR, which is not simulated.
        return self._not_found(call_uuid)

    async def call_streams(self, request: Request) -> Response:
        return await self._serve(request, "stream", lambda: self._streams_answer(request), "stream")

    def _streams_answer(self, request: Request) -> Answer:
        auth_id = str(request.path_params["auth_id"])
        call_uuid = str(request.path_params["call_uuid"])
        page = int_param(request.query_params.get("page"), 1)
        per_page = int_param(request.query_params.get("per_page"), 20)
        if page is None or per_page is None or page < 1 or per_page < 1:
            return self.error(400, "page and per_page must be positive integers")
        ts = self.sim.now_ts()
        objects: list[dict[str, Any]]
        if self.sim.fixtures:
            if call_uuid not in self.fixture_ids:
                return self._not_found(call_uuid)
            objects = []
        else:
            call = self.sim.population.find(self.name, call_uuid)
            if call is None or call.state_at_ts(ts) not in LIVE_STATES:
                return self._not_found(call_uuid)
            objects = stream_objects(call, ts, auth_id, self.zone(), offset=self.stream_offsets())
        return Answer(200, stream_page(self.sim.new_uuid(), objects, page, min(per_page, 100)))
