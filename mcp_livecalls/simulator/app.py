"""The simulator's HTTP application: every registered provider's live-call API over one population.

Each provider's API (routes, auth, error bodies, payloads, flavours) is its module
``simulator/<name>.py``; this one holds what they share: the population, the clock, the fault
pipeline and the control routes.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import math
import random
import re
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_livecalls.simkit.base import Answer, JsonBody, SimulatedProvider, json_bytes
from mcp_livecalls.simkit.calls import LIVE_STATES, Provider
from mcp_livecalls.simkit.clock import Clock, ManualClock
from mcp_livecalls.simkit.population import PROVIDERS, Population
from mcp_livecalls.simulator.credentials import DEMO_CREDENTIALS, SimulatorCredentials
from mcp_livecalls.simulator.faults import PAYLOAD_KINDS, Fault, Faults, credential_echo, mutate_payload
from mcp_livecalls.simulator.flavours import check_flavours
from mcp_livecalls.simulator.push import Pusher
from mcp_livecalls.simulator.registry import SIMULATED
from mcp_livecalls.simulator.transport import HTML_PAGE, ResetResponse, padded

__all__ = ["Served", "Simulator", "VobizShape"]

logger = logging.getLogger(__name__)

VobizShape = Literal["plivo", "flat"]


@dataclass(frozen=True, slots=True)
class Served:
    """One answer of a provider route, as ``Simulator.recording`` keeps it."""

    provider: str
    route: str
    status: int
    body: JsonBody


RouteName = Literal["get_call", "list_calls", "stream"]


class Simulator:
    """Every registered provider's live-call API over one deterministic population, with faults.

    ``sim.app`` is the Starlette ASGI application; serve it with
    :func:`~mcp_livecalls.simulator.serve_simulator` (tests) or
    :func:`~mcp_livecalls.simulator.run_simulator_forever` (CLI).
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        clock: Clock | None = None,
        live_calls: int | None = None,
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
            simulated=SIMULATED,
        )
        self.faults = Faults(seed)
        self.credentials = credentials if credentials is not None else DEMO_CREDENTIALS
        self.fixtures = fixtures
        # Simulator(vobiz_shape="plivo") is the vobiz.legacy_shape flavour, named for older callers.
        self.flavours = check_flavours(
            [*flavours, *(["vobiz.legacy_shape"] if vobiz_shape == "plivo" else [])]
        )
        self.vobiz_shape: VobizShape = "plivo" if self.flavour("vobiz.legacy_shape") else "flat"
        self.requests: Counter[tuple[str, str]] = Counter()
        self._tapes: list[list[Served]] = []
        self._lock = threading.Lock()
        self._ids = random.Random(seed ^ 0x5EED)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: anyio.Event | None = None
        self.pusher = Pusher(self.population, self.clock, self.credentials, seed)
        """The signed status callbacks, once told where to post them (``pusher.push_to(url)``)."""
        self.simulated: dict[str, SimulatedProvider] = {cls.name: cls(self) for cls in SIMULATED}
        """One simulated API per provider of the registry (``simulator/<name>.py``)."""
        self.app = self._build_app()

    # -- small helpers -------------------------------------------------------------------------
    def _count(self, provider: str, route: str) -> None:
        with self._lock:
            self.requests[(provider, route)] += 1

    def new_uuid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def hex_id(self, prefix: str, n: int = 12) -> str:
        with self._lock:
            return f"{prefix}{self._ids.getrandbits(4 * n):0{n}x}"

    def flavour(self, name: str) -> bool:
        """Whether the documented variant ``name`` (see ``simulator.flavours``) is switched on."""
        return name in self.flavours

    def now_ts(self) -> float:
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
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self.pusher.run)
                yield
                tasks.cancel_scope.cancel()
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
    ) -> Answer:
        """An error in ``provider``'s documented shape."""
        return self.simulated[provider].error(status, message, method=method, retry_after=retry_after)

    @contextmanager
    def recording(self) -> Iterator[list[Served]]:
        """Every answer the provider routes give while inside, in order (the benchmarks' raw JSON)."""
        tape: list[Served] = []
        with self._lock:
            self._tapes.append(tape)
        try:
            yield tape
        finally:
            with self._lock:
                self._tapes.remove(tape)

    def _record(self, provider: str, route: str, status: int, body: JsonBody) -> None:
        if self._tapes:
            with self._lock:
                for tape in self._tapes:
                    tape.append(Served(provider, route, status, body))

    # -- the pipeline shared by all provider routes ----------------------------------------------
    async def serve(
        self,
        request: Request,
        provider: Provider,
        route: RouteName,
        answer: Callable[[], Answer],
    ) -> Response:
        self._count(provider, route)
        routes = self.simulated[provider].fault_routes(request, route)
        fault = self.faults.pick(provider, routes)
        if fault is not None:
            logger.debug("applying fault %s to %s %s", fault.kind, provider, route)
            early = await self._transport_fault(request, provider, fault)
            if early is not None:
                return early
        result = answer()
        if result.status != 200 or fault is None:
            self._record(provider, route, result.status, result.body)
            return Response(json_bytes(result.body), result.status, result.headers, "application/json")
        if fault.kind in PAYLOAD_KINDS:
            mutate_payload(fault.kind, provider, route, result.body)
        body = json_bytes(result.body)
        if fault.kind == "truncated_json":
            body = body[: max(1, len(body) // 2)]
        elif fault.kind == "huge_body":
            body = padded(body)
        elif fault.kind == "reset":
            return ResetResponse(body)
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
            return Response(json_bytes(a.body), a.status, a.headers, "application/json")
        if fault.kind == "credential_echo":
            status, body, headers = credential_echo(fault, request.headers, request.url.path)
            return Response(json_bytes(body), status, headers, "application/json")
        if fault.kind == "hang":
            return await self._hang(request)
        if fault.kind == "html":
            return Response(HTML_PAGE, 200, media_type="text/html")
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
        return Response(json_bytes(body), 200, media_type="application/json")

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
        _refuse_shared_routes(self.simulated.values())
        routes: list[Route] = [route for simulated in self.simulated.values() for route in simulated.routes()]
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


def _plain_json(status: int, body: dict[str, Any]) -> Response:
    return Response(json_bytes(body), status, media_type="application/json")


def _refuse_shared_routes(simulated: Iterable[SimulatedProvider]) -> None:
    """Every provider's routes are served side by side, so two providers may not claim one route:
    the first would answer for both (a new provider copying its family's paths would meet the
    other's credentials as a 401). Raised when the simulator is built, naming both."""
    owners: dict[tuple[str, str], str] = {}
    for provider in simulated:
        for path, _, method in provider.endpoints():
            shape = (re.sub(r"\{[^}]*\}", "{}", path.rstrip("/")), method)
            other = owners.setdefault(shape, provider.name)
            if other != provider.name:
                raise ValueError(
                    f"the simulated {other} and {provider.name} both serve {method} {path}: "
                    "give one of them its own path prefix"
                )
