"""The simulated Telnyx Call Control API (v2): routes, auth, error bodies and flavours (``telnyx.*``).

``GET /v2/connections/{connection_id}/active_calls`` lists the calls alive on one of the demo
account's connections (``page[size]`` up to 250, ``page[after]`` cursors, ``page[number]``);
``GET /v2/calls/{call_control_id}`` answers a call's status, ``is_alive: false`` for ten minutes
after it ended, then 404. Auth is ``Authorization: Bearer <API key>``; errors are Telnyx's
``{"errors": [{"code", "title", "detail"}]}``. Call control ids are ``v3:`` + 50 base64url
characters; every call belongs to one of the account's connections. The shared population knows
each call by the id this server shows (``v3-…``, see the adapter): the API writes and reads
Telnyx's own ``v3:…``, so nothing but a ``v3:`` id finds a call over HTTP.

Route names: ``list_calls`` (active calls), ``get_call`` (call status; also what the stream
details are made of, so ``stream`` is the same route).

Flavours: ``telnyx.numbered_pages`` answers the list's ``meta`` as the SDK since 2026-01 reads it
(``page_number``, ``page_size``, ``total_pages``, ``total_results``; no cursors);
``telnyx.small_pages`` honours at most 2 calls a page whatever ``page[size]`` asks.

Its documented examples in ``examples/`` (answered by ``Simulator(fixtures=True)``):
``active_calls`` (the reference's "List all active calls for given connection" example) and
``call_status`` ("Retrieve a call status"). The two examples show one call; the status example
shows it after its end, so while the list example shows it alive its status says so too.
"""

from __future__ import annotations

import base64
import json
import math
import random
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.simkit.base import (
    HUGE_ID,
    Answer,
    Endpoint,
    SimulatedProvider,
    demo_account,
    int_param,
    same,
)
from mcp_livecalls.simkit.calls import Agent, SimCall, random_uuid
from mcp_livecalls.simkit.render import iso_time_ms

__all__ = ["TELNYX_FLAVOURS", "TelnyxSimulation"]

DEFAULT_PAGE_SIZE: Final = 20
MAX_PAGE_SIZE: Final = 250
SMALL_PAGE: Final = 2
STATUS_RETENTION_S: Final = 600.0
""""Data is available 10 minutes after call ended" (Retrieve a call status)."""
TELNYX_FLAVOURS: frozenset[str] = frozenset({"telnyx.numbered_pages", "telnyx.small_pages"})
_CODES: Final[dict[int, tuple[str, str]]] = {  # Telnyx's API error codes page
    400: ("10015", "Bad Request"),
    401: ("10009", "Authentication failed"),
    403: ("10010", "Authorization failed"),
    404: ("10005", "Resource not found"),
    422: ("10015", "Bad Request"),
    429: ("10011", "Too many requests"),
}


def _cursor(connection: str, position: int) -> str:
    """An opaque ``page[after]`` cursor (``v1:`` + base64, as Telnyx's look)."""
    raw = json.dumps({"c": connection, "p": position}).encode()
    return "v1:" + base64.b64encode(raw).decode()


def _position(cursor: str, connection: str) -> int | None:
    try:
        found = json.loads(base64.b64decode(cursor.removeprefix("v1:"), validate=True))
    except (ValueError, TypeError):
        return None
    if not isinstance(found, dict) or found.get("c") != connection or not isinstance(found.get("p"), int):
        return None
    return int(found["p"])


def control_id(call: SimCall) -> str:
    """The ``call_control_id`` Telnyx writes for ``call`` (``v3:…``; the population's key is ``v3-…``)."""
    return call.id.replace("-", ":", 1)


def population_key(control: str) -> str | None:
    """The population's key for a ``call_control_id`` from a path; ``None`` for one without ``v3:``."""
    version, colon, rest = control.partition(":")
    return f"{version}-{rest}" if colon and version == "v3" else None


def telnyx_item(call: SimCall, ts: float) -> dict[str, Any]:
    """One active call (an item of ``data``)."""
    return {
        "call_control_id": control_id(call),
        "call_leg_id": str(call.extra["call_leg_id"]),
        "call_session_id": str(call.extra["call_session_id"]),
        "client_state": str(call.extra["client_state"]),
        "call_duration": math.floor(max(0.0, ts - call.created_ts)),
        "record_type": "call",
    }


def telnyx_status(call: SimCall, ts: float) -> dict[str, Any]:
    """A call's status (``data`` of ``GET /v2/calls/{call_control_id}``)."""
    ended = call.state_at_ts(ts) == "ended"
    body = telnyx_item(call, min(ts, call.end_ts))
    body.update(
        is_alive=not ended,
        start_time=iso_time_ms(call.created_ts),
        end_time=iso_time_ms(call.end_ts) if ended else None,
    )
    return body


class TelnyxSimulation(SimulatedProvider):
    name = "telnyx"
    flavours = TELNYX_FLAVOURS
    demo_settings = demo_account(
        api_key="KEYsimTelnyx0123456789abcdef", connection_ids="1293384261075731461,1293384261075731499"
    )
    outbound_share = 0.5

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return ()  # Telnyx's call records name no agent

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        call.id = "v3-" + "".join(rng.choice(alphabet) for _ in range(50))
        connections = cls.demo_settings["connection_ids"].split(",")
        call.extra["connection_id"] = connections[0] if rng.random() < 0.6 else connections[1]
        call.extra["call_leg_id"] = random_uuid(rng)
        call.extra["call_session_id"] = random_uuid(rng)
        call.extra["client_state"] = base64.b64encode(f"ticket-{rng.randrange(10**6)}".encode()).decode()

    # -- routes --------------------------------------------------------------------------------

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        return [
            ("/v2/connections/{connection_id}/active_calls", self.active_calls, "GET"),
            ("/v2/calls/{call_control_id}", self.call_status, "GET"),
        ]

    @staticmethod
    def records(route: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        data = payload.get("data")
        if isinstance(data, list):
            return [item for item in data if isinstance(item, dict)]
        return [data] if isinstance(data, dict) else []

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: dict[str, Any]) -> bool:
        """Telnyx names its ids ``call_control_id`` and has no status word: the id faults damage
        that field, an unknown enum the ``record_type``."""
        if kind not in ("huge_ids", "missing_fields", "unknown_enum"):
            return False
        for record in TelnyxSimulation.records(route, payload):
            if kind == "huge_ids":
                record["call_control_id"] = HUGE_ID
            elif kind == "unknown_enum":
                record["record_type"] = "call_fork"
            else:
                record.pop("call_control_id", None)
        return True

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        code, title = _CODES.get(status, ("10007", "Unexpected error"))
        body = {"errors": [{"code": code, "title": title, "detail": message}]}
        return Answer(status, body, self.retry_headers(status, retry_after))

    def _denied(self, request: Request) -> Answer | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        expected = self.account.get("api_key", "")
        if scheme.lower() != "bearer" or not expected or not same(key.strip(), expected):
            return self.error(401, "The API key is missing or invalid.")
        return None

    def _size(self, request: Request) -> int | None:
        size = int_param(request.query_params.get("page[size]"), DEFAULT_PAGE_SIZE)
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            return None
        return min(size, SMALL_PAGE) if self.sim.flavour("telnyx.small_pages") else size

    def _listed(self, connection: str, ts: float) -> list[dict[str, Any]]:
        if self.sim.fixtures:
            found: list[dict[str, Any]] = self.example("active_calls")["data"]
            return found
        # Alive from call.initiated on: a call placed but not ringing yet is listed too.
        population = self.sim.population
        calls = sorted(
            [*population.live(self.name), *population.queued(self.name)],
            key=lambda call: call.created_ts,
            reverse=True,
        )
        return [telnyx_item(call, ts) for call in calls if call.extra.get("connection_id") == connection]

    def _list_page(self, request: Request, connection: str) -> Answer:
        size = self._size(request)
        after = request.query_params.get("page[after]")
        number = int_param(request.query_params.get("page[number]"), 1)
        if size is None or number is None or number < 1:
            return self.error(422, "page[size] must be 1-250 and page[number] a positive integer.")
        if connection not in self.account.get("connection_ids", "").split(","):
            return self.error(404, "Connection not found.")
        items = self._listed(connection, self.sim.now_ts())
        start = (number - 1) * size
        if after:
            position = _position(after, connection)
            if position is None:
                return self.error(422, "page[after] is not a valid cursor.")
            start = position
        shown = items[start : start + size]
        more = start + size < len(items)
        path = request.url.path
        if self.sim.flavour("telnyx.numbered_pages"):
            pages = max(1, math.ceil(len(items) / size))
            meta: dict[str, Any] = {
                "page_number": number,
                "page_size": size,
                "total_pages": pages,
                "total_results": len(items),
            }
        else:
            meta = {
                "cursors": {
                    "after": _cursor(connection, start + size) if more else None,
                    "before": _cursor(connection, max(0, start - size)) if start else None,
                },
                "total_items": len(items),
                "next": f"{path}?page[after]={_cursor(connection, start + size)}" if more else None,
                "previous": f"{path}?page[before]={_cursor(connection, start)}" if start else None,
            }
        return Answer(200, {"data": shown, "meta": meta})

    async def active_calls(self, request: Request) -> Response:
        connection = str(request.path_params["connection_id"])

        def answer() -> Answer:
            return self._denied(request) or self._list_page(request, connection)

        return await self.sim.serve(request, self.name, "list_calls", answer)

    def _example_status(self, wanted: str) -> Answer:
        """The documented status, of the call the documented list shows alive: while it is listed
        it is alive (the example itself shows it after its end, so ``end_time`` goes)."""
        example: dict[str, Any] = self.example("call_status")
        data = example["data"]
        if data["call_control_id"] != wanted:
            return self.error(404, "Call not found.")
        listed = {item["call_control_id"] for item in self.example("active_calls")["data"]}
        if wanted in listed:
            data.update(is_alive=True)
            data.pop("end_time", None)
        return Answer(200, example)

    async def call_status(self, request: Request) -> Response:
        wanted = str(request.path_params["call_control_id"])

        def answer() -> Answer:
            denied = self._denied(request)
            if denied is not None:
                return denied
            if self.sim.fixtures:
                return self._example_status(wanted)
            key = population_key(wanted)
            call = None if key is None else self.sim.population.find(self.name, key)
            ts = self.sim.now_ts()
            if call is None or ts - call.end_ts > STATUS_RETENTION_S:
                return self.error(404, "Call not found.")
            return Answer(200, {"data": telnyx_status(call, ts)})

        return await self.sim.serve(request, self.name, "get_call", answer)


SIMULATED = TelnyxSimulation
"""What the simulator loads for this folder."""
