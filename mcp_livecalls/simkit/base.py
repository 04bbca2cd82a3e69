"""What every simulated provider shares: the answer type, small helpers, the base class, and the
``Host`` it runs in.

A simulated provider is one module (``providers/<name>/simulated.py``) with a ``SimulatedProvider``
subclass: its routes, its auth, its error bodies, its flavours. ``mcp_livecalls.simulator.Simulator``
(a ``Host``) builds one of each for the providers of the catalog and runs every route through the
shared pipeline (count, faults, answer, body faults).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_livecalls.simkit.examples import load_example
from mcp_livecalls.simkit.generate import CallShape

Endpoint = Callable[[Request], Awaitable[Response]]

if TYPE_CHECKING:
    from mcp_livecalls.simkit.population import Population

__all__ = [
    "ERROR_CODES",
    "HUGE_ID",
    "Answer",
    "Host",
    "JsonBody",
    "SimulatedProvider",
    "basic_pair",
    "demo_account",
    "int_param",
    "json_bytes",
    "same",
    "same_pair",
]

ERROR_CODES: Final[dict[int, str]] = {
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


HUGE_ID: Final[str] = "A" * 4999 + "\x00"

JsonBody = dict[str, Any] | list[Any]
"""An answer's JSON: an object (most providers' envelopes) or a bare array (Vapi's ``GET /call``)."""


@dataclass(slots=True)
class Answer:
    status: int
    body: JsonBody
    headers: dict[str, str] = field(default_factory=dict)


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def int_param(raw: str | None, default: int) -> int | None:
    """``default`` when absent, the integer when valid, ``None`` when invalid."""
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def demo_account(**fields: str) -> Mapping[str, str]:
    """A simulated provider's ``demo_settings``, by the adapter's settings field (read-only)."""
    return MappingProxyType(fields)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def same_pair(given: tuple[str, str], expected: tuple[str, str]) -> bool:
    """Both halves of a credential pair match (each compared in constant time)."""
    return same(given[0], expected[0]) and same(given[1], expected[1])


def basic_pair(request: Request) -> tuple[str, str]:
    """The ``user:password`` of the request's HTTP basic auth; ``("", "")`` when absent or malformed."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password


class Credentials(Protocol):
    def settings_for(self, provider: str) -> Mapping[str, str]: ...


class Host(Protocol):
    """What a simulated provider may ask of the simulator it runs in."""

    @property
    def population(self) -> Population: ...

    @property
    def credentials(self) -> Credentials: ...

    @property
    def fixtures(self) -> bool:
        """Answer with the providers' documented examples (``Simulator(fixtures=True)``)."""
        ...

    def flavour(self, name: str) -> bool:
        """Whether the documented variant ``name`` is switched on."""
        ...

    def now_ts(self) -> float: ...

    def new_uuid(self) -> str: ...

    def hex_id(self, prefix: str, n: int = 12) -> str: ...

    async def serve(
        self, request: Request, provider: str, route: Any, answer: Callable[[], Answer]
    ) -> Response:
        """Run ``answer`` through the shared pipeline: count, faults, the answer, body faults."""
        ...


class SimulatedProvider(CallShape):
    """One provider's API inside a ``Host`` (which holds the population, clock and faults).

    A subclass declares, besides its routes: the demo account it accepts (``demo_settings``),
    the shape of the calls it carries (the knobs below, read by the shared population), and
    ``dress``, which gives each call the provider's own ids and data.
    """

    name: ClassVar[str]
    flavours: ClassVar[frozenset[str]] = frozenset()
    """Documented variants this provider's answers can play (``<name>.<variant>``)."""
    demo_settings: ClassVar[Mapping[str, str]] = {}
    """The demo account, by the adapter's settings field (``auth_id`` …; its ``EnvSpec``). Not
    secrets: they open only the local simulator, and the demo prints them."""

    def __init__(self, sim: Host) -> None:
        self.sim = sim

    @property
    def account(self) -> Mapping[str, str]:
        """The account this simulated API accepts (the simulator's credentials for it)."""
        return self.sim.credentials.settings_for(self.name)

    def example(self, name: str) -> Any:
        """A fresh copy of this provider's documented example ``name`` (``providers/<name>/examples/``)."""
        return load_example(self.name, name)

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        """``(path, handler, method)`` of each route, without a trailing slash."""
        raise NotImplementedError

    def routes(self) -> list[Route]:
        """Every endpoint in both path forms, without and with the trailing slash, in order."""
        return [
            Route(path + suffix, handler, methods=[method])
            for suffix in ("", "/")
            for path, handler, method in self.endpoints()
        ]

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        """An error in this provider's documented shape."""
        raise NotImplementedError

    def fault_routes(self, request: Request, route: str) -> tuple[str, ...]:
        """The route names a fault may target for this request (``route`` itself, by default)."""
        return (route,)

    @staticmethod
    def records(route: str, payload: Any) -> list[dict[str, Any]]:
        """The record objects inside an answer (what a client turns into calls), for the payload
        faults to damage; by default the objects of an answer that is a bare array."""
        return [item for item in payload if isinstance(item, dict)] if isinstance(payload, list) else []

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: Any) -> bool:
        """Damage an answer that has no records (``kind`` of payload fault) in place; ``True`` when
        done, ``False`` to damage its ``records`` instead."""
        return False

    @staticmethod
    def retry_headers(status: int, retry_after: float | None) -> dict[str, str]:
        return {"Retry-After": f"{retry_after:g}"} if status == 429 and retry_after is not None else {}
