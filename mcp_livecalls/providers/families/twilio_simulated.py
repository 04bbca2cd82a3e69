"""The Twilio family's simulated REST API (2010-04-01): resources, paging and routes every member
serves; a member (``twilio/simulated.py``, ``signalwire/simulated.py``) adds its path prefix, ids,
auth, error body and flavours.

Under ``{api_root}/Accounts/{AccountSid}``: ``Calls.json`` (``Status``, ``PageSize`` up to 1000,
``Page``/``PageToken``; pages linked by ``next_page_uri``), ``Calls/{CallSid}.json``,
``Conferences.json`` (``Status``) and ``Conferences/{ConferenceSid}/Participants.json``. A call
answered by an agent is often a conference of the customer's call, the agent's leg and sometimes a
coach, with hold and mute following the shared population's schedule.

Route names (for faults and request counts): ``list_calls`` (``Calls.json``), ``get_call``
(``Calls/{sid}.json``) and ``stream`` (``Conferences.json`` and ``Participants.json``: what the
stream details are made of). A member's flavours are named ``<member>.<variant>``; the family reads
``small_pages`` (at most 2 calls a page whatever ``PageSize`` asks), ``older_body`` and
``live_duration`` (see ``compat_call``) for any member that declares them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.providers.families.twilio_simulated_records import (
    ANSWERED,
    API,
    compat_call,
    compat_conference,
    compat_participants,
    page_of,
)
from mcp_livecalls.simkit.base import (
    HUGE_ID,
    Answer,
    Endpoint,
    SimulatedProvider,
    basic_pair,
    int_param,
    same,
)
from mcp_livecalls.simkit.calls import Agent, SimCall, business_number, random_hex, random_person

__all__ = ["CompatSimulation"]

T = TypeVar("T")

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
SMALL_PAGE: Final = 2
_CODES: Final[dict[int, int]] = {
    400: 20001,
    401: 20003,
    403: 20403,
    404: 20404,
    429: 20429,
    500: 20500,
    503: 20503,
}
"""The family's error codes by HTTP status (SignalWire's spec writes 20003 for a 401 too)."""


class CompatSimulation(SimulatedProvider):
    """A member's simulated API: the family's resources under ``api_root``."""

    api_root: ClassVar[str] = API
    """Where the API version's resources start (SignalWire: ``/api/laml/2010-04-01``)."""
    list_suffixes: ClassVar[tuple[str, ...]] = (".json",)
    """How the list and one-call paths may end (SignalWire answers ``/Calls`` too)."""
    account_setting: ClassVar[str] = "account_sid"
    """The account's setting that is the id every path names and the basic-auth user."""
    token_setting: ClassVar[str] = "auth_token"
    """The account's setting that is the basic-auth password."""
    error_page: ClassVar[str]
    """The page an error body's ``more_info`` points at (``{code}``: the error's code)."""
    outbound_share = 0.55
    mute_share = 0.3

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return ()  # the family's call resource names no agent: agents are conference legs

    @classmethod
    def new_sid(cls, rng: random.Random, prefix: str) -> str:
        """A fresh id of the kind ``prefix`` names (``CA`` a call, ``CF`` a conference, ``PN`` a number)."""
        return f"{prefix}{random_hex(rng, 32)}"

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = cls.new_sid(rng, "CA")
        call.extra["phone_number_sid"] = cls.new_sid(rng, "PN")
        if call.direction == "inbound":
            call.native_direction = "inbound"
            if rng.random() < 0.4:
                call.caller_name = random_person(rng).upper()
            if rng.random() < 0.1:
                call.extra["forwarded_from"] = business_number(rng)
        else:
            call.native_direction = "outbound-api" if rng.random() < 0.8 else "outbound-dial"
            call.extra["queue_time_ms"] = rng.randrange(200, 3000)
            if call.native_direction == "outbound-dial":
                call.parent_call_uuid = cls.new_sid(rng, "CA")  # the leg that ran <Dial>
            elif rng.random() < 0.3:
                call.extra["answered_by"] = rng.choice(("human", "machine_start", "unknown"))
        if call.answer_s is not None and rng.random() < 0.6:
            call.conference_uuid = cls.new_sid(rng, "CF")
            call.extra["agent_leg"] = cls.new_sid(rng, "CA")
            if rng.random() < 0.25:
                call.extra["coach_leg"] = cls.new_sid(rng, "CA")

    # -- what a member says differently --------------------------------------------------------

    def flavoured(self, variant: str) -> bool:
        """Whether this member's flavour ``<member>.<variant>`` is on."""
        return self.sim.flavour(f"{self.name}.{variant}")

    def credential_pairs(self) -> list[tuple[str, str]]:
        """The basic-auth pairs the account accepts: its id and ``token_setting``."""
        return [(self.account_id(), self.account.get(self.token_setting, ""))]

    def account_id(self) -> str:
        """The account id every path names (its ``account_setting``)."""
        return self.account.get(self.account_setting, "")

    def call_body(self, call: SimCall, ts: float, account: str) -> dict[str, Any]:
        """One call as this member writes it."""
        return compat_call(
            call,
            ts,
            account,
            api=self.api_root,
            older=self.flavoured("older_body"),
            live_duration=self.flavoured("live_duration"),
        )

    def participants_of(self, call: SimCall, ts: float, account: str) -> list[dict[str, Any]]:
        """The participants of the call's conference as this member writes them."""
        return compat_participants(call, ts, account, self.api_root)

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        code = _CODES.get(status, 20000 + status)
        body = {
            "code": code,
            "message": message,
            "more_info": self.error_page.format(code=code),
            "status": status,
        }
        return Answer(status, body, self.retry_headers(status, retry_after))

    def fixture_call(self, call_sid: str) -> dict[str, Any] | None:
        """The documented example answered for ``call_sid`` when serving fixtures (none here)."""
        return None

    def page_path(self, request: Request) -> str:
        """The path a page's links name (the one asked)."""
        return request.url.path

    # -- routes --------------------------------------------------------------------------------

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        account = self.api_root + "/Accounts/{sid}"
        routes: list[tuple[str, Endpoint, str]] = []
        for suffix in self.list_suffixes:
            routes += [
                (account + "/Calls" + suffix, self.list_calls, "GET"),
                (account + "/Calls/{call_sid}" + suffix, self.get_call, "GET"),
            ]
        return [
            *routes,
            (account + "/Conferences.json", self.conferences, "GET"),
            (account + "/Conferences/{conference_sid}/Participants.json", self.participants, "GET"),
        ]

    @staticmethod
    def records(route: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        for key in ("calls", "conferences", "participants"):
            items = payload.get(key)
            if isinstance(items, list):
                return [item for item in items if isinstance(item, dict)]
        return [payload] if "sid" in payload else []

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: dict[str, Any]) -> bool:
        """The family names its ids ``sid`` (``call_sid`` in participants), and a single call is the
        whole answer (its ``status`` is the call's, not an envelope's): ids and statuses are damaged
        here for the faults that target them."""
        records = CompatSimulation.records(route, payload)
        if kind == "huge_ids":
            for record in records:
                for key in ("sid", "call_sid"):
                    if key in record:
                        record[key] = HUGE_ID
            return True
        if kind == "missing_fields":
            for record in records:
                for key in ("sid", "call_sid", "status"):
                    record.pop(key, None)
            return True
        if kind == "unknown_enum" and route == "get_call":
            payload.update(status="barging", direction="sideways")
            return True
        return False

    def _auth(self, request: Request, sid: str) -> Answer | None:
        user, password = basic_pair(request)
        pairs = self.credential_pairs()
        if not any(key and same(user, key) and same(password, secret) for key, secret in pairs):
            return self.error(401, "Authenticate")
        if sid != self.account_id():
            return self.error(401, "Authenticate")  # credentials of another account
        return None

    def _size(self, request: Request) -> int | None:
        size = int_param(request.query_params.get("PageSize"), DEFAULT_PAGE_SIZE)
        if size is None or size < 1:
            return None
        size = min(size, MAX_PAGE_SIZE)
        return min(size, SMALL_PAGE) if self.flavoured("small_pages") else size

    def _paging(self, request: Request, sid: str) -> Answer | tuple[int, int, dict[str, str]]:
        """A list request's ``PageSize``, ``Page`` and ``Status`` filter, or the error it gets."""
        denied = self._auth(request, sid)
        if denied is not None:
            return denied
        size, page = self._size(request), int_param(request.query_params.get("Page"), 0)
        if size is None or page is None or page < 0:
            return self.error(400, "PageSize must be 1-1000 and Page a non-negative integer")
        wanted = request.query_params.get("Status")
        return size, page, ({"Status": wanted} if wanted else {})

    async def list_calls(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])

        def calls() -> list[dict[str, Any]]:
            ts = self.sim.now_ts()
            return [self.call_body(call, ts, sid) for call in self.sim.population.visible(self.name)]

        def answer() -> Answer:
            return self._listed(request, sid, "calls", calls, self.page_path(request))

        return await self.sim.serve(request, self.name, "list_calls", answer)

    async def get_call(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])
        call_sid = str(request.path_params["call_sid"])

        def answer() -> Answer:
            # A finished call keeps its record (completed, busy …) for the retention window.
            if self.sim.fixtures:
                return self._found(request, sid, self.fixture_call(call_sid), dict)
            call = self.sim.population.find(self.name, call_sid)
            return self._found(request, sid, call, lambda c: self.call_body(c, self.sim.now_ts(), sid))

        return await self.sim.serve(request, self.name, "get_call", answer)

    def _listed(
        self, request: Request, sid: str, key: str, items: Callable[[], list[dict[str, Any]]], path: str
    ) -> Answer:
        """One page of the ``key`` list (``items``, none when serving fixtures) filtered by
        ``Status``, or the error its request gets."""
        paging = self._paging(request, sid)
        if isinstance(paging, Answer):
            return paging
        size, page, query = paging
        wanted = query.get("Status")
        found = [] if self.sim.fixtures else items()
        if wanted:
            found = [item for item in found if item["status"] == wanted]
        older = key == "calls" and self.flavoured("older_body")
        return Answer(200, page_of(key, found, path, query, page, size, older=older))

    def _found(
        self, request: Request, sid: str, call: T | None, body: Callable[[T], dict[str, Any]]
    ) -> Answer:
        """``body`` of the call asked for, or the error its request gets (auth first, then 404)."""
        denied = self._auth(request, sid)
        if denied is not None:
            return denied
        if call is None:
            return self.error(404, f"The requested resource {request.url.path} was not found")
        return Answer(200, body(call))

    def _talking_in_conference(self, ts: float) -> list[SimCall]:
        return [
            call
            for call in self.sim.population.live(self.name)
            if call.conference_uuid is not None and call.state_at_ts(ts) in ANSWERED
        ]

    async def conferences(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])

        def conferences() -> list[dict[str, Any]]:
            ts = self.sim.now_ts()
            found = self._talking_in_conference(ts)
            return [compat_conference(call, ts, sid, self.api_root) for call in found]

        def answer() -> Answer:
            return self._listed(request, sid, "conferences", conferences, request.url.path)

        return await self.sim.serve(request, self.name, "stream", answer)

    async def participants(self, request: Request) -> Response:
        sid = str(request.path_params["sid"])
        conference_sid = str(request.path_params["conference_sid"])

        def answer() -> Answer:
            size = self._size(request) or DEFAULT_PAGE_SIZE
            ts = self.sim.now_ts()
            found = [] if self.sim.fixtures else self._talking_in_conference(ts)
            call = next((c for c in found if c.conference_uuid == conference_sid), None)
            return self._found(
                request,
                sid,
                call,
                lambda c: page_of(
                    "participants", self.participants_of(c, ts, sid), request.url.path, {}, 0, size
                ),
            )

        return await self.sim.serve(request, self.name, "stream", answer)
