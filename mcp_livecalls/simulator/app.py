"""The simulator's HTTP application: Vobiz, Exotel and Zudu live-call APIs over one population.

Every provider route does the same four things, in order:

1. count the request in ``Simulator.requests[(provider, route)]``;
2. ask :class:`~mcp_livecalls.simulator.faults.Faults` for a matching fault; transport faults
   (``status``, ``hang``, ``reset``, ``html``, ``empty_body``) answer right away, ``latency`` waits;
3. check the provider's credentials (wrong or missing → 401 in the provider's error shape);
4. answer from the population (or the documentation fixtures), then apply body faults
   (``truncated_json``, ``huge_body`` and the payload rewrites) to successful answers.

Route names, for faults and counters: ``list_calls`` (Vobiz live/queued list, Exotel active calls,
Zudu ``POST /api/calls``), ``get_call`` (Vobiz and Zudu single call, Exotel call details) and
``stream`` (Vobiz media streams, Exotel stream details).

Exotel flavours (``simulator.flavours``): ``exotel.page_b`` answers the active list the way version B
of its page documents it (no ``limit``/``offset``/filters honoured: every request answers the whole
list; items without ``direction``/``agent_details``); ``exotel.stream_404_ringing`` answers 404 on
``/stream`` for calls not yet answered; ``exotel.details_alt`` spells call details the way Exotel's
sibling call-details endpoints do.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import contextvars
import hmac
import http
import json
import logging
import math
import random
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mcp_livecalls.simulator.clock import Clock, ManualClock
from mcp_livecalls.simulator.credentials import DEMO_CREDENTIALS, SimulatorCredentials
from mcp_livecalls.simulator.faults import PAYLOAD_KINDS, Fault, Faults, credential_echo, mutate_payload
from mcp_livecalls.simulator.fixtures import load_fixture
from mcp_livecalls.simulator.flavours import check_flavours
from mcp_livecalls.simulator.population import LIVE_STATES, PROVIDERS, Population, Provider, SimCall
from mcp_livecalls.simulator.render import (
    exotel_active_item,
    exotel_agent_details,
    exotel_call_details,
    exotel_stream,
    exotel_time,
    vobiz_flat,
    vobiz_plivo_call,
    vobiz_streams,
    zudu_record,
    zudu_status,
)

__all__ = ["Simulator", "VobizShape"]

logger = logging.getLogger(__name__)

VobizShape = Literal["plivo", "flat"]
RouteName = Literal["get_call", "list_calls", "stream"]

FIXTURE_VOBIZ_PLIVO_UUID: Final = "97ceeb52-58b6-11e1-86da-77300b68f8bb"
FIXTURE_VOBIZ_FLAT_UUID: Final = "2ded13fe-4f9b-4958-9bfb-093ea2f29f91"
FIXTURE_EXOTEL_STREAM_SID: Final = "call_active_001"
FIXTURE_ZUDU_IDS: Final = frozenset({"550e8400-e29b-41d4-a716-446655440000", "call-456"})

VOBIZ_QUEUED_MAX: Final = 20
VOBIZ_PAGE_MAX: Final = 20  # Plivo's limit (1-20) on the live and queued lists; Vobiz's "max 20 per request"
VOBIZ_LOCAL_ZONE: Final = ZoneInfo("Asia/Kolkata")
EXOTEL_RATE_LIMIT: Final = 200  # documented: 200 requests / minute / account
EXOTEL_MAX_LIMIT: Final = 100
EXOTEL_ANSWERED: Final = frozenset({"in_progress", "on_hold"})
ZUDU_MAX_LIMIT: Final = 100
HUGE_BODY_BYTES: Final = 10 * 1024 * 1024

_ERROR_CODES: Final[dict[int, str]] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

_HTML_PAGE: Final = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><center><h1>502 Bad Gateway</h1></center>\n"
    b"<hr><center>simulated upstream proxy</center></body></html>\n"
)

# -- intentional connection resets should not look like crashes in the logs --------------------------

_intentional_reset: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sim_intentional_reset", default=False
)


class _QuietIntentionalResets(logging.Filter):
    """Drops uvicorn's complaint about the response we cut short on purpose (``reset`` fault)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_intentional_reset.get() and "without completing response" in str(record.msg))


_reset_filter = _QuietIntentionalResets()
logging.getLogger("uvicorn.error").addFilter(_reset_filter)


class _ResetResponse(Response):
    """Headers announcing the whole body, half of it, then the connection is dropped."""

    def __init__(self, body: bytes) -> None:
        super().__init__(status_code=200, media_type="application/json")
        self._full = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _intentional_reset.set(True)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._full)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": self._full[: len(self._full) // 2], "more_body": True}
        )
        # Returning without the final body message makes the server close the connection.


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_padding_cache: list[bytes] = []


def _padding() -> bytes:
    if not _padding_cache:
        _padding_cache.append(b'"' + b"0123456789abcdef" * (HUGE_BODY_BYTES // 16) + b'"')
    return _padding_cache[0]


@dataclass(slots=True)
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _int_param(raw: str | None, default: int) -> int | None:
    """``default`` when absent, the integer when valid, ``None`` when invalid."""
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Simulator:
    """The three providers' live-call APIs over one deterministic population, with faults.

    ``sim.app`` is the Starlette ASGI application; serve it with
    :func:`~mcp_livecalls.simulator.serve_simulator` (tests) or
    :func:`~mcp_livecalls.simulator.run_simulator_forever` (CLI).
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        clock: Clock | None = None,
        live_calls: int = 12,
        arrival_every_s: float | None = 30.0,
        vobiz_shape: VobizShape = "flat",
        fixtures: bool = False,
        credentials: SimulatorCredentials | None = None,
        providers: tuple[Provider, ...] = PROVIDERS,
        flavours: Iterable[str] = (),
    ) -> None:
        if vobiz_shape not in ("plivo", "flat"):
            raise ValueError("vobiz_shape must be 'plivo' or 'flat'")
        self.seed = seed
        self.clock: Clock = clock if clock is not None else ManualClock()
        self.population = Population(
            seed,
            clock=self.clock,
            live_calls=live_calls,
            providers=providers,
            arrival_every_s=arrival_every_s,
        )
        self.faults = Faults(seed)
        self.credentials = credentials if credentials is not None else DEMO_CREDENTIALS
        self.fixtures = fixtures
        self.flavours = check_flavours(flavours)
        self.vobiz_shape: VobizShape = "plivo" if self.flavour("vobiz.legacy_shape") else vobiz_shape
        self.vobiz_zone: tzinfo = VOBIZ_LOCAL_ZONE if self.flavour("vobiz.local_time") else UTC
        """The zone of the simulated Vobiz account's Console: its zone-less times are written in it."""
        self.requests: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._ids = random.Random(seed ^ 0x5EED)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: anyio.Event | None = None
        self.app = self._build_app()

    # -- small helpers -------------------------------------------------------------------------
    def _count(self, provider: str, route: str) -> None:
        with self._lock:
            self.requests[(provider, route)] += 1

    def _uuid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _hex_id(self, prefix: str, n: int = 12) -> str:
        with self._lock:
            return f"{prefix}{self._ids.getrandbits(4 * n):0{n}x}"

    def flavour(self, name: str) -> bool:
        """Whether the documented variant ``name`` (see ``simulator.flavours``) is switched on."""
        return name in self.flavours

    def _now_ts(self) -> float:
        return self.clock.now().timestamp()

    def release_hangs(self) -> None:
        """Let every request held by a ``hang`` fault finish (called when the server stops)."""
        with self._lock:
            loop, event = self._loop, self._shutdown
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(event.set)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        event = anyio.Event()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._shutdown = event
        try:
            yield
        finally:
            event.set()
            with self._lock:
                self._loop = None
                self._shutdown = None

    # -- error bodies ----------------------------------------------------------------------------
    def _error(
        self,
        provider: str,
        status: int,
        message: str,
        *,
        method: str = "GET",
        retry_after: float | None = None,
    ) -> _Answer:
        """An error in ``provider``'s documented shape."""
        headers: dict[str, str] = {}
        if status == 429 and retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        code = _ERROR_CODES.get(status, "ERROR")
        if provider == "vobiz":
            if self.vobiz_shape == "plivo":
                return _Answer(status, {"api_id": self._uuid(), "error": message}, headers)
            body: dict[str, Any] = {
                "status": "error",
                "error": {"code": code, "message": message, "details": None},
                "timestamp": exotel_time(self._now_ts()),
                "requestId": self._uuid(),
            }
            return _Answer(status, body, headers)
        if provider == "exotel":
            if status == 429:
                reset = math.ceil(self._now_ts() + (retry_after if retry_after is not None else 60.0))
                headers["X-RateLimit-Limit"] = str(EXOTEL_RATE_LIMIT)
                headers["X-RateLimit-Remaining"] = "0"
                headers["X-RateLimit-Reset"] = str(reset)
                body = {"RestException": {"Status": 429, "Message": message, "Code": "RATE_LIMIT_EXCEEDED"}}
                return _Answer(status, body, headers)
            # Undocumented (NOTES.md): the v3 envelope with response.error_data.
            body = {
                "request_id": self._hex_id("req_"),
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
            return _Answer(status, body, headers)
        title = "Call not found" if status == 404 else http.HTTPStatus(status).phrase
        return _Answer(status, {"message": title, "status": "error", "error": message}, headers)

    # -- the pipeline shared by all provider routes ----------------------------------------------
    async def _serve(
        self,
        request: Request,
        provider: Provider,
        route: RouteName,
        answer: Callable[[], _Answer],
    ) -> Response:
        self._count(provider, route)
        routes: tuple[str, ...] = (route,)
        if (provider, route) == ("vobiz", "list_calls"):
            routes = (route, f"list_{request.query_params.get('status')}")
        fault = self.faults.pick(provider, routes)
        if fault is not None:
            logger.debug("applying fault %s to %s %s", fault.kind, provider, route)
            early = await self._transport_fault(request, provider, fault)
            if early is not None:
                return early
        result = answer()
        if result.status != 200 or fault is None:
            return Response(_json_bytes(result.body), result.status, result.headers, "application/json")
        if fault.kind in PAYLOAD_KINDS:
            mutate_payload(fault.kind, provider, route, result.body)
        body = _json_bytes(result.body)
        if fault.kind == "truncated_json":
            body = body[: max(1, len(body) // 2)]
        elif fault.kind == "huge_body":
            body = (
                body[:-1]
                + (b',"x_sim_padding":' if len(body) > 2 else b'"x_sim_padding":')
                + _padding()
                + b"}"
            )
        elif fault.kind == "reset":
            return _ResetResponse(body)
        return Response(body, 200, result.headers, "application/json")

    async def _transport_fault(self, request: Request, provider: Provider, fault: Fault) -> Response | None:
        if fault.kind == "latency":
            await anyio.sleep(fault.delay_s)
            return None
        if fault.kind == "status":
            a = self._error(
                provider,
                fault.status_code,
                f"simulated {fault.status_code} {http.HTTPStatus(fault.status_code).phrase}",
                method=request.method,
                retry_after=fault.retry_after,
            )
            return Response(_json_bytes(a.body), a.status, a.headers, "application/json")
        if fault.kind == "credential_echo":
            status, body, headers = credential_echo(fault, request.headers, request.url.path)
            return Response(_json_bytes(body), status, headers, "application/json")
        if fault.kind == "hang":
            return await self._hang(request)
        if fault.kind == "html":
            return Response(_HTML_PAGE, 200, media_type="text/html")
        if fault.kind == "empty_body":
            return Response(b"", 200, media_type="application/json")
        return None

    async def _hang(self, request: Request) -> Response:
        """Wait until the client goes away or the server stops; never answer before."""
        with self._lock:
            event = self._shutdown
        async with anyio.create_task_group() as tg:

            async def watch_disconnect() -> None:
                while True:
                    message = await request.receive()
                    if message["type"] == "http.disconnect":
                        break
                tg.cancel_scope.cancel()

            tg.start_soon(watch_disconnect)
            if event is None:
                await anyio.sleep_forever()
            else:
                await event.wait()
            tg.cancel_scope.cancel()
        return Response(b"", 503, media_type="application/json")

    # -- Vobiz -----------------------------------------------------------------------------------
    def _vobiz_auth(self, request: Request, auth_id: str) -> _Answer | None:
        creds = self.credentials
        given_id = request.headers.get("x-auth-id", "")
        given_token = request.headers.get("x-auth-token", "")
        if not (_same(given_id, creds.vobiz_auth_id) and _same(given_token, creds.vobiz_auth_token)):
            return self._error("vobiz", 401, "Authentication failed: check X-Auth-ID and X-Auth-Token")
        if auth_id != creds.vobiz_auth_id:
            return self._error("vobiz", 403, f"Account {auth_id} is not accessible with these credentials")
        return None

    @staticmethod
    def _vobiz_path_ok(request: Request, extra: str | None = None) -> bool:
        p = request.path_params
        ok = str(p["account"]).lower() == "account" and str(p["call"]).lower() == "call"
        if extra is not None:
            ok = ok and str(p[extra]).lower() == extra
        return ok

    def _vobiz_wrong_form(self, request: Request) -> _Answer | None:
        """``vobiz.no_slash``: only the OpenAPI's slash-less paths answer; a trailing slash gets 401,
        as Vobiz's migration notes say of a path form it does not accept."""
        if self.flavour("vobiz.no_slash") and request.url.path.endswith("/"):
            return self._error("vobiz", 401, "Unauthorized")
        return None

    def _vobiz_page(self, request: Request, ids: list[str]) -> list[str] | _Answer:
        """The list as the flavour pages it: everything (default; Vobiz documents no paging),
        ``limit``/``offset`` honoured (``vobiz.paged``), or ``limit`` only (``vobiz.offset_ignored``)."""
        paged, offset_ignored = self.flavour("vobiz.paged"), self.flavour("vobiz.offset_ignored")
        if not (paged or offset_ignored):
            return ids
        limit = _int_param(request.query_params.get("limit"), VOBIZ_PAGE_MAX)
        offset = _int_param(request.query_params.get("offset"), 0)
        if limit is None or not 1 <= limit <= VOBIZ_PAGE_MAX:
            return self._error("vobiz", 400, f"limit must be between 1 and {VOBIZ_PAGE_MAX}")
        if offset is None or offset < 0:
            return self._error("vobiz", 400, "offset must be a non-negative integer")
        start = 0 if offset_ignored else offset
        return ids[start : start + limit]

    def _vobiz_not_found(self, call_uuid: str) -> _Answer:
        if self.vobiz_shape == "plivo":
            return _Answer(404, {"api_id": self._uuid(), "error": "not found"})
        return self._error("vobiz", 404, f"Call {call_uuid} not found")

    async def vobiz_list(self, request: Request) -> Response:
        if not self._vobiz_path_ok(request):
            return Response(b"Not Found", 404, media_type="text/plain")
        auth_id = str(request.path_params["auth_id"])

        def answer() -> _Answer:
            denied = self._vobiz_wrong_form(request) or self._vobiz_auth(request, auth_id)
            if denied is not None:
                return denied
            status = request.query_params.get("status")
            # Plivo's filters (call_direction, from_number, to_number) are not documented by Vobiz:
            # like the pessimistic reading of NOTES.md, they are ignored. Paging depends on the flavour.
            if status == "live":
                if self.fixtures:
                    ids = [FIXTURE_VOBIZ_PLIVO_UUID, FIXTURE_VOBIZ_FLAT_UUID]
                else:
                    ids = [c.id for c in self.population.live("vobiz")]
            elif status == "queued":
                ids = [] if self.fixtures else [c.id for c in self.population.queued("vobiz")]
                if not (self.flavour("vobiz.paged") or self.flavour("vobiz.offset_ignored")):
                    ids = ids[:VOBIZ_QUEUED_MAX]  # documented: "a maximum of 20 call UUIDs per request"
            else:
                return self._error("vobiz", 400, "the simulator needs status=live or status=queued")
            page = self._vobiz_page(request, ids)
            if isinstance(page, _Answer):
                return page
            if not page and self.flavour("vobiz.idle_404"):
                # Undocumented: an idle account's list answering Vobiz's own 404 body (NOTES.md).
                return self._error("vobiz", 404, "No calls found")
            return _Answer(200, {"api_id": self._uuid(), "calls": page})

        return await self._serve(request, "vobiz", "list_calls", answer)

    async def vobiz_get(self, request: Request) -> Response:
        if not self._vobiz_path_ok(request):
            return Response(b"Not Found", 404, media_type="text/plain")
        auth_id = str(request.path_params["auth_id"])
        call_uuid = str(request.path_params["call_uuid"])

        def answer() -> _Answer:
            denied = self._vobiz_wrong_form(request) or self._vobiz_auth(request, auth_id)
            if denied is not None:
                return denied
            status = request.query_params.get("status")
            if self.fixtures:
                if status == "live" and call_uuid == FIXTURE_VOBIZ_PLIVO_UUID:
                    return _Answer(200, load_fixture("vobiz_live_plivo"))
                if status == "live" and call_uuid == FIXTURE_VOBIZ_FLAT_UUID:
                    return _Answer(200, load_fixture("vobiz_live_flat"))
                return self._vobiz_not_found(call_uuid)
            ts = self._now_ts()
            call = self.population.find("vobiz", call_uuid)
            if call is None:
                return self._vobiz_not_found(call_uuid)
            state = call.state_at_ts(ts)
            if status == "live" and state in LIVE_STATES:
                zone = self.vobiz_zone
                if self.vobiz_shape == "plivo":
                    return _Answer(
                        200, {"api_id": self._uuid(), "calls": [vobiz_plivo_call(call, ts, auth_id, zone)]}
                    )
                return _Answer(200, vobiz_flat(call, ts, self._uuid(), zone))
            if status == "queued" and state == "queued":
                # Queued calls are documented in the flat shape only; both modes answer it.
                return _Answer(200, vobiz_flat(call, ts, self._uuid(), self.vobiz_zone))
            # Without status the real API answers the finished CDR, which is not simulated.
            return self._vobiz_not_found(call_uuid)

        return await self._serve(request, "vobiz", "get_call", answer)

    async def vobiz_stream(self, request: Request) -> Response:
        if not self._vobiz_path_ok(request, "stream"):
            return Response(b"Not Found", 404, media_type="text/plain")
        auth_id = str(request.path_params["auth_id"])
        call_uuid = str(request.path_params["call_uuid"])

        def answer() -> _Answer:
            denied = self._vobiz_wrong_form(request) or self._vobiz_auth(request, auth_id)
            if denied is not None:
                return denied
            page = _int_param(request.query_params.get("page"), 1)
            per_page = _int_param(request.query_params.get("per_page"), 20)
            if page is None or per_page is None or page < 1 or per_page < 1:
                return self._error("vobiz", 400, "page and per_page must be positive integers")
            per_page = min(per_page, 100)
            ts = self._now_ts()
            objects: list[dict[str, Any]]
            if self.fixtures:
                if call_uuid not in (FIXTURE_VOBIZ_PLIVO_UUID, FIXTURE_VOBIZ_FLAT_UUID):
                    return self._vobiz_not_found(call_uuid)
                objects = []
            else:
                call = self.population.find("vobiz", call_uuid)
                if call is None or call.state_at_ts(ts) not in LIVE_STATES:
                    return self._vobiz_not_found(call_uuid)
                local = self.flavour("vobiz.local_time")
                objects = vobiz_streams(call, ts, auth_id, self.vobiz_zone, offset=local)
            start = (page - 1) * per_page
            # NOTES.md documents {page, per_page, total, objects}; Plivo's stream list uses
            # {meta, objects}. Both are given so either reading works.
            return _Answer(
                200,
                {
                    "api_id": self._uuid(),
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

        return await self._serve(request, "vobiz", "stream", answer)

    # -- Exotel ----------------------------------------------------------------------------------
    def _exotel_auth(self, request: Request, sid: str) -> _Answer | None:
        creds = self.credentials
        key = token = ""
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                key, _, token = (
                    base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                key = token = ""
        if not (_same(key, creds.exotel_api_key) and _same(token, creds.exotel_api_token)):
            return self._error("exotel", 401, "Authentication failed: HTTP basic auth with api_key:api_token")
        if sid != creds.exotel_account_sid:
            return self._error("exotel", 403, f"Account {sid} is not accessible with these credentials")
        return None

    def _exotel_envelope(self, response: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
        return {
            "request_id": request_id or self._hex_id("req_"),
            "method": "GET",
            "http_code": 200,
            "response": response,
        }

    async def exotel_active(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])

        def answer() -> _Answer:
            denied = self._exotel_auth(request, sid)
            if denied is not None:
                return denied
            q = request.query_params
            agent_id = q.get("agent_id") or None
            direction = q.get("direction") or None
            if direction is not None and direction not in ("inbound", "outbound"):
                return self._error("exotel", 400, "direction must be inbound or outbound")
            limit = _int_param(q.get("limit"), 20)
            offset = _int_param(q.get("offset"), 0)
            if limit is None or limit < 1:
                return self._error("exotel", 400, "limit must be a positive integer")
            if offset is None or offset < 0:
                return self._error("exotel", 400, "offset must be a non-negative integer")
            limit = min(limit, EXOTEL_MAX_LIMIT)

            def wanted(direction_value: str, agent: dict[str, Any] | None) -> bool:
                return (direction is None or (direction_value == "inbound") == (direction == "inbound")) and (
                    agent_id is None or (agent or {}).get("user_id") == agent_id
                )

            if self.fixtures:
                fixture: dict[str, Any] = load_fixture("exotel_active")
                items: list[dict[str, Any]] = fixture["response"]["active_calls"]
                kept = [i for i in items if wanted(i["direction"], i["agent_details"])]
                page = kept[offset : offset + limit]
                if page == items:
                    return _Answer(200, fixture)  # verbatim
                envelope = {"active_calls": page, "total_active": len(kept)}
                return _Answer(200, self._exotel_envelope(envelope, fixture["request_id"]))
            ts = self._now_ts()
            if self.flavour("exotel.page_b"):
                # Version B: no limit, offset or filters; items without direction and agent_details.
                items = []
                for c in self.population.live("exotel"):
                    item = exotel_active_item(c, ts)
                    del item["direction"], item["agent_details"]
                    items.append(item)
                return _Answer(
                    200, self._exotel_envelope({"active_calls": items, "total_active": len(items)})
                )
            calls = [
                c
                for c in self.population.live("exotel")
                if wanted(c.exotel_direction or "", exotel_agent_details(c, c.state_at_ts(ts)))
            ]
            # Filtered and paged upstream; only the page is rendered.
            page = [exotel_active_item(c, ts) for c in calls[offset : offset + limit]]
            return _Answer(200, self._exotel_envelope({"active_calls": page, "total_active": len(calls)}))

        return await self._serve(request, "exotel", "list_calls", answer)

    async def exotel_stream(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])
        call_sid = str(request.path_params["call_sid"])

        def answer() -> _Answer:
            denied = self._exotel_auth(request, sid)
            if denied is not None:
                return denied
            if self.fixtures:
                return self._exotel_fixture_stream(call_sid)
            ts = self._now_ts()
            call = self.population.find("exotel", call_sid)
            if call is None or call.state_at_ts(ts) not in LIVE_STATES:
                return self._error("exotel", 404, f"No active call with sid {call_sid}")
            if self.flavour("exotel.stream_404_ringing") and call.state_at_ts(ts) not in EXOTEL_ANSWERED:
                return self._error("exotel", 404, f"No active stream for call {call_sid}")
            return _Answer(200, self._exotel_envelope({"stream": exotel_stream(call, ts)}))

        return await self._serve(request, "exotel", "stream", answer)

    async def exotel_details(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])
        call_sid = str(request.path_params["call_sid"])

        def answer() -> _Answer:
            denied = self._exotel_auth(request, sid)
            if denied is not None:
                return denied
            if self.fixtures:
                return self._exotel_fixture_details(call_sid)
            ts = self._now_ts()
            call = self.population.find("exotel", call_sid)
            if call is None:
                return self._error("exotel", 404, f"No call with sid {call_sid}")
            # A finished call keeps its details (state terminal) for the retention window.
            details = exotel_call_details(call, ts, alternative=self.flavour("exotel.details_alt"))
            return _Answer(200, self._exotel_envelope({"call_details": details}))

        return await self._serve(request, "exotel", "get_call", answer)

    def _exotel_fixture_details(self, call_sid: str) -> _Answer:
        # Not in the docs (the v3 page shows no body): the documented list item, as call details.
        for item in load_fixture("exotel_active")["response"]["active_calls"]:
            if item["call_sid"] == call_sid:
                details = {k: v for k, v in item.items() if k != "recording_enabled"}
                details["recording"] = {"available": item["recording_enabled"], "url": None}
                return _Answer(
                    200, self._exotel_envelope({"call_details": details}, f"req_details_{call_sid[-3:]}")
                )
        return self._error("exotel", 404, f"No call with sid {call_sid}")

    def _exotel_fixture_stream(self, call_sid: str) -> _Answer:
        if call_sid == FIXTURE_EXOTEL_STREAM_SID:
            return _Answer(200, load_fixture("exotel_stream"))
        for item in load_fixture("exotel_active")["response"]["active_calls"]:
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
                return _Answer(200, self._exotel_envelope({"stream": stream}, f"req_stream_{call_sid[-3:]}"))
        return self._error("exotel", 404, f"No active call with sid {call_sid}")

    # -- Zudu ------------------------------------------------------------------------------------
    def _zudu_auth(self, request: Request) -> _Answer | None:
        creds = self.credentials
        key = request.headers.get("x-api-key", "")
        secret = request.headers.get("x-api-secret", "")
        if not (_same(key, creds.zudu_api_key) and _same(secret, creds.zudu_api_secret)):
            return _Answer(
                401, {"message": "Unauthorized", "status": "error", "error": "Invalid API key or secret"}
            )
        return None

    def _zudu_not_found(self, call_id: str) -> _Answer:
        return _Answer(
            404,
            {
                "message": "Call not found",
                "status": "error",
                "error": f"Call with ID '{call_id}' does not exist",
            },
        )

    async def zudu_get(self, request: Request) -> Response:
        call_id = str(request.path_params["call_id"])

        def answer() -> _Answer:
            denied = self._zudu_auth(request)
            if denied is not None:
                return denied
            if self.fixtures:
                if call_id in FIXTURE_ZUDU_IDS:
                    return _Answer(200, load_fixture("zudu_call"))
                return self._zudu_not_found(call_id)
            call = self.population.find("zudu", call_id)
            if call is None:
                return self._zudu_not_found(call_id)
            record = self._zudu_record(call, self._now_ts(), self.population.organization_id)
            return _Answer(
                200,
                {
                    "message": "Call retrieved successfully",
                    "status": "success",
                    "error": None,
                    "data": record,
                },
            )

        return await self._serve(request, "zudu", "get_call", answer)

    def _zudu_record(
        self, call: SimCall, ts: float, organization_id: str, *, listed: bool = False
    ) -> dict[str, Any]:
        """A Zudu record as the switched-on flavours write it (``listed``: as a list entry)."""
        return zudu_record(
            call,
            ts,
            organization_id,
            lower_case=self.flavour("zudu.lower_case"),
            storage_setting=self.flavour("zudu.data_storage_setting"),
            record_id=not (listed and self.flavour("zudu.call_id_only")),
        )

    async def zudu_list(self, request: Request) -> Response:
        raw = await request.body()

        def answer() -> _Answer:
            denied = self._zudu_auth(request)
            if denied is not None:
                return denied
            try:
                query = json.loads(raw) if raw.strip() else {}
            except (ValueError, UnicodeDecodeError):
                return _zudu_bad_request("the body must be JSON")
            if not isinstance(query, dict):
                return _zudu_bad_request("the body must be a JSON object")
            return self._zudu_list_answer(query)

        return await self._serve(request, "zudu", "list_calls", answer)

    def _zudu_list_answer(self, query: dict[str, Any]) -> _Answer:
        page = query.get("page", 0)
        limit = query.get("limit", 20)
        sort_by = query.get("sort_by", "start_timestamp")
        sort_order = query.get("sort_order", "descending")
        criteria = query.get("filter_criteria") or {}
        if not isinstance(page, int) or isinstance(page, bool) or page < 0:
            return _zudu_bad_request("page must be an integer >= 0 (pages start at 0)")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            return _zudu_bad_request("limit must be a positive integer")
        limit = min(limit, ZUDU_MAX_LIMIT)
        if sort_by not in ("start_timestamp", "created_at"):
            return _zudu_bad_request("sort_by must be start_timestamp or created_at")
        if sort_order not in ("descending", "ascending"):
            return _zudu_bad_request("sort_order must be descending or ascending")
        if not isinstance(criteria, dict):
            return _zudu_bad_request("filter_criteria must be an object")

        def wanted(key: str) -> set[str] | None:
            value = criteria.get(key)
            if value is None:
                return None
            values = value if isinstance(value, list) else [value]
            return {str(v).upper() for v in values}

        statuses, types, directions = wanted("call_status"), wanted("call_type"), wanted("direction")
        agents = criteria.get("agent_id")
        if agents is not None and self.flavour("zudu.agent_id_array") and not isinstance(agents, list):
            return _zudu_bad_request("filter_criteria.agent_id must be an array")
        if agents is not None and self.flavour("zudu.agent_id_string") and not isinstance(agents, str):
            return _zudu_bad_request("filter_criteria.agent_id must be a string")
        agent_set = (
            None if agents is None else {str(a) for a in (agents if isinstance(agents, list) else [agents])}
        )

        def keep(status: str, call_type: str, direction: str, agent: str | None) -> bool:
            return (
                (statuses is None or status.upper() in statuses)
                and (types is None or call_type.upper() in types)
                and (directions is None or direction.upper() in directions)
                and (agent_set is None or agent in agent_set)
            )

        ts = self._now_ts()
        org = self.population.organization_id
        records: list[dict[str, Any]]
        if self.fixtures:
            data = load_fixture("zudu_call")["data"]
            org = data["organization_id"]
            pool = (
                [data]
                if keep(data["call_status"], data["call_type"], data["direction"], data["agent_id"])
                else []
            )
            total = len(pool)
            records = pool[page * limit : (page + 1) * limit]
        else:
            calls: list[SimCall] = [
                c
                for c in self.population.visible("zudu")
                if keep(
                    zudu_status(c, ts),
                    "WEB_CALL" if c.web_call else "PHONE_CALL",
                    c.direction,
                    c.agent.id if c.agent is not None else None,
                )
            ]
            if sort_order == "ascending":
                calls.reverse()
            total = len(calls)
            records = [
                self._zudu_record(c, ts, org, listed=True) for c in calls[page * limit : (page + 1) * limit]
            ]
        total_pages = math.ceil(total / limit)
        applied = {
            k: criteria[k] for k in ("call_status", "call_type", "direction", "agent_id") if k in criteria
        }
        return _Answer(
            200,
            {
                "message": "Calls retrieved successfully",
                "status": "success",
                "error": None,
                "data": {
                    "organization_id": org,
                    "calls": records,
                    "pagination": {
                        "page": page,
                        "limit": limit,
                        "total": total,
                        "total_pages": total_pages,
                        "has_next_page": page + 1 < total_pages,
                        "has_previous_page": page > 0,
                    },
                    "returned_count": len(records),
                    "applied_filters": applied,
                },
            },
        )

    # -- control routes (no auth; for examples and manual testing) ---------------------------------
    async def sim_state(self, request: Request) -> Response:
        counts = self.population.counts()
        with self._lock:
            requests = [
                {"provider": p, "route": r, "count": n} for (p, r), n in sorted(self.requests.items())
            ]
        body = {
            "now": self.clock.now().isoformat(),
            "clock": type(self.clock).__name__,
            "seed": self.seed,
            "fixtures": self.fixtures,
            "vobiz_shape": self.vobiz_shape,
            "providers": {
                p: {
                    "live": sum(n for s, n in states.items() if s in LIVE_STATES),
                    "queued": states["queued"],
                    "states": states,
                }
                for p, states in counts.items()
            },
            "faults": [f.model_dump() for f in self.faults.active()],
            "requests": requests,
        }
        return Response(_json_bytes(body), 200, media_type="application/json")

    async def sim_advance(self, request: Request) -> Response:
        if not isinstance(self.clock, ManualClock):
            return _plain_json(409, {"error": "only a ManualClock can be advanced"})
        try:
            seconds = float(request.query_params.get("seconds", "0"))
        except ValueError:
            return _plain_json(400, {"error": "seconds must be a number"})
        if not math.isfinite(seconds) or seconds < 0:
            return _plain_json(400, {"error": "seconds must be a finite number >= 0"})
        now = self.clock.advance(seconds)
        return _plain_json(200, {"now": now.isoformat()})

    async def sim_faults_add(self, request: Request) -> Response:
        try:
            fault = Fault.model_validate_json(await request.body())
        except ValidationError as exc:
            return _plain_json(
                400, {"error": "invalid fault", "details": json.loads(exc.json(include_url=False))}
            )
        self.faults.inject(fault)
        return _plain_json(201, {"injected": fault.model_dump(), "active": len(self.faults)})

    async def sim_faults_list(self, request: Request) -> Response:
        return _plain_json(200, {"faults": [f.model_dump() for f in self.faults.active()]})

    async def sim_faults_clear(self, request: Request) -> Response:
        return _plain_json(200, {"cleared": self.faults.clear()})

    # -- routing ---------------------------------------------------------------------------------
    def _build_app(self) -> Starlette:
        vobiz = "/api/v1/{account}/{auth_id}/{call}"
        routes: list[Route] = []
        for suffix in ("", "/"):
            routes += [
                Route(vobiz + suffix, self.vobiz_list, methods=["GET"]),
                Route(vobiz + "/{call_uuid}" + suffix, self.vobiz_get, methods=["GET"]),
                Route(vobiz + "/{call_uuid}/{stream}" + suffix, self.vobiz_stream, methods=["GET"]),
                Route("/v3/accounts/{sid}/calls/active" + suffix, self.exotel_active, methods=["GET"]),
                Route(
                    "/v3/accounts/{sid}/calls/{call_sid}/stream" + suffix, self.exotel_stream, methods=["GET"]
                ),
                Route("/v3/accounts/{sid}/calls/{call_sid}" + suffix, self.exotel_details, methods=["GET"]),
                Route("/api/calls" + suffix, self.zudu_list, methods=["POST"]),
                Route("/api/calls/{call_id}" + suffix, self.zudu_get, methods=["GET"]),
            ]
        routes += [
            Route("/_sim/state", self.sim_state, methods=["GET"]),
            Route("/_sim/advance", self.sim_advance, methods=["POST"]),
            Route("/_sim/faults", self.sim_faults_add, methods=["POST"]),
            Route("/_sim/faults", self.sim_faults_list, methods=["GET"]),
            Route("/_sim/faults", self.sim_faults_clear, methods=["DELETE"]),
        ]
        return Starlette(routes=routes, lifespan=self._lifespan)

    def __repr__(self) -> str:
        return (
            f"Simulator(seed={self.seed}, clock={self.clock!r}, live_calls={self.population.live_calls}, "
            f"vobiz_shape={self.vobiz_shape!r}, fixtures={self.fixtures}, flavours={sorted(self.flavours)})"
        )


def _zudu_bad_request(message: str) -> _Answer:
    return _Answer(400, {"message": "Invalid request", "status": "error", "error": message})


def _plain_json(status: int, body: dict[str, Any]) -> Response:
    return Response(_json_bytes(body), status, media_type="application/json")
