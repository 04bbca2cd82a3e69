"""The simulated Vonage Voice API: routes, auth, error bodies and flavours (``vonage.*``).

``GET /v1/calls`` (``status``, ``page_size`` 1-100, ``record_index``, ``order``) answers
``{count, page_size, record_index, _embedded: {calls}, _links}`` with ``next`` while more follow;
``GET /v1/calls/{uuid}`` answers one call, finished calls included (``completed``, ``busy`` …).
Auth is ``Authorization: Bearer <JWT>`` signed RS256 with the demo application's private key
(verified with its public key; the application id must match; the token's times are not judged,
the simulator's clock being its own). Errors are Vonage's ``{type, title, detail, instance}``.
Numbers are E.164 digits without ``+``; endpoints are ``{type: phone, number}``.

With ``fixtures`` (the documented examples) it has no call: Vonage's examples are finished calls.

Route names: ``list_calls`` and ``get_call`` (the stream details are made of the call).

Flavours: ``vonage.small_pages`` honours at most 2 calls a page; ``vonage.plain_times`` writes
times ``YYYY-MM-DD HH:MM:SS`` as the SDK's model docstrings say, instead of ISO 8601 with ``Z``.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.simkit.base import HUGE_ID, Answer, Endpoint, SimulatedProvider, demo_account, int_param
from mcp_livecalls.simkit.calls import Agent, CallState, SimCall, random_uuid
from mcp_livecalls.simkit.render import iso_time_ms

__all__ = ["SMALL_PAGE", "VONAGE_FLAVOURS", "VonageSimulation"]

SMALL_PAGE: Final = 2
MAX_PAGE_SIZE: Final = 100
VONAGE_FLAVOURS: frozenset[str] = frozenset({"vonage.small_pages", "vonage.plain_times"})
DEMO_PRIVATE_KEY: Final = """-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQCbyV4PTTT3UPFL
Ac3AjrJj4Hx/VSXXW6e5sG/MVmS7yFGDgqPstv+83C5xd9R1Sowt7iip2QFWcIyw
ojII9dNyFryCfD9dh1hYaV7G183teFa8AE7g2gz8JuLetIZZ/9jrrPYlfeS9worW
J9rl1bny/BflvZO85k4E7SU9pVqzMVU4PK8UmVIGPIV0mtB82V3VjYVF0BM3Kh0b
iKw+dJqqWfP4IOGdCrZ6YorpM9jSE8ptv+gZEitm83Aybk3uvXogFQZhjcyaAnBu
k6JKQAVZrAPlddScdMvtdeOTXvEgppc98pcH4Z6L9ZgChDWReR6y5z6eEBaQwvOk
Qy6HKEhfAgMBAAECggEAGyqb5PY1QNWUJlzbqPMZZ7Jbc4cBMNNyZb6/WDZOnbJ6
iIDtHhfxc9k/nhjj60pDNLU90RSfF5hL6Hd4WzinFVOiruyEzkYOYWiKlwlGB12/
Xkx9dNeBgS00zdpUPXiQttR0HiicjXzR4jOUCBVjtlxAvJb5Hu1YeKJ0JpJhxTKU
3fVk6BS4RzEqfu4Y9yNAIjEnC5bTpNaFSH9AX/A92PKj8G3tZ1/gIaZhTEk82ux2
vuF0npi+WvqXPLgEfo6y9irq412XbXm5FejKlUHPovGICIoPG2EhnDZFxB5wfrEo
MxF7Gp0Q1iJzwRrTXSmfJSuRbJBMsDWdXctA4HtOsQKBgQDUZP59se1I4AL0zmz/
PlA6c/HCvj2+kZOFb5dEIbYPJ6eji1Gfy66TKHCJsaHl0GwSm8C19kRHP0Boq9dN
EjmobKcn1vXw2bpl7w+Z8OcC0pZpHA/TBKIR881plzV622QPzTV9HiRTrREDLvo4
VR87NZiGFTu/rDObAlQAgOo6UQKBgQC7xS5WLaAqtOo97zlHAfu4VRGz10NR9ILv
AmghW3CQTMeYyYEeMeA4YwlQMjzy4TCw7K6fXns2oJ3SpK3B02HtY/TIun8Q6pSo
ySXUOQmxgCuRiKvS/a61D9kbkiMy19qsWcwBMT+BbtRpM2YMg03L/xPzs5YYUVyh
b1/e/c37rwKBgQCbjN+pNK8AaTchDTFcecmOFa4gnu1fbQRqfEB/YGUSkks/BmCg
NC7FjZ9l6JcWVV9g/XrUiOiWeWd1gSysQEXD6Nc+4Tq7yumtj7iQWJMHSS1pC2k3
dTQxC6oLw/ch5B1TSUn8OSAHvD8yYqxUp1q5JVZwFIrupHIi+0CEIeXpEQKBgQCH
hmxJWykNagLfrPiEXdQXWZ8rVKWMU5TlebE60krOe/xcNKRy7MDPMfwY3AnNq+d+
63WmJYV9CjSfQqj/CtjVhJ26+5CW3xlpMbWSFZD/gmjv49tQsDUXDlc/ZRzup4l3
eGCcQ7V4cEvzmlt/kI3oPTVjYi1lY+QdyMtDoaC4lQKBgQCs99RNpaV1zTZ+uHWD
qBWS5ycqoL2jrGiCnX1w8tC8jEDvez5WeokJeXQBMTAbGZFnT2aiAWSUOv9VDBGT
QRdFuatIctH6GUhPxiyT5CQ1exQTT7Ck4VD00Ze5XxP1ARufUpU9NVPgiY6PGiZZ
FwM62ECQo+Dkr3uz9vq27we6CA==
-----END PRIVATE KEY-----
"""
"""The demo application's key, made for this simulator: it opens nothing else (not a secret)."""
_TITLES: Final[dict[int, str]] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
}
_ENDED: Final[dict[str, str]] = {
    "caller_hangup": "completed",
    "callee_hangup": "completed",
    "transfer": "completed",
    "no_answer": "unanswered",
    "busy": "busy",
    "cancel": "cancelled",
    "failed": "failed",
}
_DEMO_KEY = load_pem_private_key(DEMO_PRIVATE_KEY.encode(), password=None)
assert isinstance(_DEMO_KEY, RSAPrivateKey)
_PUBLIC_KEY = _DEMO_KEY.public_key()


def vonage_status(call: SimCall, state: CallState) -> str:
    if state == "queued":
        return "started"
    if state in ("ringing", "early_media"):
        return "ringing"
    if state in ("in_progress", "on_hold"):
        return "answered"
    return _ENDED[call.end_reason]


def _time(ts: float, plain: bool) -> str:
    if plain:
        return datetime.fromtimestamp(math.floor(ts), UTC).strftime("%Y-%m-%d %H:%M:%S")
    return iso_time_ms(math.floor(ts))


def _endpoint(number: str) -> dict[str, str]:
    return {"type": "phone", "number": number.removeprefix("+")}


def vonage_call(call: SimCall, ts: float, *, plain: bool = False) -> dict[str, Any]:
    state = call.state_at_ts(ts)
    status = vonage_status(call, state)
    body: dict[str, Any] = {
        "_links": {"self": {"href": f"/v1/calls/{call.id}"}},
        "uuid": call.id,
        "conversation_uuid": str(call.extra["conversation_uuid"]),
        "status": status,
        "direction": call.direction,
        "from": _endpoint(call.from_number),
        "to": _endpoint(call.to_number),
        "network": "23420",
    }
    body["start_time"] = _time(call.created_ts, plain)  # "the time the call started": its creation
    if state == "ended":
        answered = call.answer_s is not None
        talked = call.end_ts - (call.created_ts + (call.answer_s or call.end_s)) if answered else 0
        body.update(
            end_time=_time(call.end_ts, plain),
            duration=str(math.floor(talked)),
            rate="0.10000000",
            price=f"{talked / 600:.8f}",
        )
    return body


class VonageSimulation(SimulatedProvider):
    name = "vonage"
    flavours = VONAGE_FLAVOURS
    demo_settings = demo_account(
        application_id="aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", private_key=DEMO_PRIVATE_KEY
    )

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return ()  # a Vonage call names no agent

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = random_uuid(rng)
        call.extra["conversation_uuid"] = f"CON-{random_uuid(rng)}"

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        return [("/v1/calls", self.list_calls, "GET"), ("/v1/calls/{uuid}", self.get_call, "GET")]

    @staticmethod
    def records(route: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        calls = payload.get("_embedded", {}).get("calls")
        if isinstance(calls, list):
            return [item for item in calls if isinstance(item, dict)]
        return [payload] if "uuid" in payload else []

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: dict[str, Any]) -> bool:
        """Vonage names its ids ``uuid``, and a single call is the whole answer (its ``status`` is
        the call's): those are damaged here for the faults that target them."""
        records = VonageSimulation.records(route, payload)
        if kind == "huge_ids":
            for record in records:
                record["uuid"] = HUGE_ID
            return True
        if kind == "unknown_enum" and route == "get_call":
            payload.update(status="barging", direction="sideways")
            return True
        return False

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        title = _TITLES.get(status, "Internal Error")
        body = {
            "type": f"https://developer.nexmo.com/api-errors#{title.lower().replace(' ', '-')}",
            "title": title,
            "detail": message,
            "instance": self.sim.new_uuid(),
        }
        return Answer(status, body, self.retry_headers(status, retry_after))

    def _denied(self, request: Request) -> Answer | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return self.error(401, "Invalid Token")
        try:
            claims = jwt.decode(
                token.strip(),
                _PUBLIC_KEY,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return self.error(401, "Invalid Token")
        if claims.get("application_id") != self.account.get("application_id") or not claims.get("jti"):
            return self.error(401, "Invalid Token")
        return None

    def _listing(self, request: Request) -> Answer:
        params = request.query_params
        size = int_param(params.get("page_size"), MAX_PAGE_SIZE)
        index = int_param(params.get("record_index"), 0)
        if size is None or index is None or not 1 <= size <= MAX_PAGE_SIZE or index < 0:
            return self.error(400, "page_size must be 1-100 and record_index a non-negative integer")
        if self.sim.flavour("vonage.small_pages"):
            size = min(size, SMALL_PAGE)
        ts = self.sim.now_ts()
        plain = self.sim.flavour("vonage.plain_times")
        visible = [] if self.sim.fixtures else self.sim.population.visible(self.name)
        calls = [vonage_call(call, ts, plain=plain) for call in visible]
        if params.get("status"):
            calls = [call for call in calls if call["status"] == params["status"]]
        shown = calls[index : index + size]
        query = {key: value for key, value in params.items() if key != "record_index"}

        def link(at: int) -> dict[str, str]:
            return {"href": f"/v1/calls?{urlencode({**query, 'record_index': at})}"}

        links = {"self": link(index), "first": link(0), "last": link(max(0, len(calls) - size))}
        if index + size < len(calls):
            links["next"] = link(index + size)
        if index:
            links["prev"] = link(max(0, index - size))
        body = {
            "count": len(calls),
            "page_size": size,
            "record_index": index,
            "_embedded": {"calls": shown},
            "_links": links,
        }
        return Answer(200, body)

    async def list_calls(self, request: Request) -> Response:
        def answer() -> Answer:
            return self._denied(request) or self._listing(request)

        return await self.sim.serve(request, self.name, "list_calls", answer)

    async def get_call(self, request: Request) -> Response:
        wanted = str(request.path_params["uuid"])

        def answer() -> Answer:
            denied = self._denied(request)
            if denied is not None:
                return denied
            call = None if self.sim.fixtures else self.sim.population.find(self.name, wanted)
            if call is None:
                return self.error(404, f"Call {wanted} was not found")
            plain = self.sim.flavour("vonage.plain_times")
            return Answer(200, vonage_call(call, self.sim.now_ts(), plain=plain))

        return await self.sim.serve(request, self.name, "get_call", answer)


SIMULATED = VonageSimulation
"""What the simulator loads for this folder."""
