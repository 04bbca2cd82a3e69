"""The simulated Vobiz API: the Plivo family's simulation (``families/plivo_simulated.py``) with
Vobiz's paths, auth, error bodies and flavours (``vobiz.*``).

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

from datetime import UTC, tzinfo
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

from starlette.requests import Request

from mcp_livecalls.providers.families.plivo_simulated import AccountCallSimulation
from mcp_livecalls.simkit.base import ERROR_CODES, Answer, demo_account, same_pair
from mcp_livecalls.simkit.render import iso_time_ms

__all__ = ["VOBIZ_FLAVOURS", "VobizSimulation"]

FIXTURE_VOBIZ_PLIVO_UUID: Final = "97ceeb52-58b6-11e1-86da-77300b68f8bb"
FIXTURE_VOBIZ_FLAT_UUID: Final = "2ded13fe-4f9b-4958-9bfb-093ea2f29f91"
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


class VobizSimulation(AccountCallSimulation):
    name = "vobiz"
    flavours = VOBIZ_FLAVOURS
    demo_settings = demo_account(auth_id="MA_SIMULATOR0001", auth_token="sim-vobiz-token", timezone="UTC")
    """``timezone`` is not a credential: the simulated account's Console zone (times written in UTC)."""
    api_prefix = "/api/v1"
    fixture_ids: ClassVar[tuple[str, ...]] = (FIXTURE_VOBIZ_PLIVO_UUID, FIXTURE_VOBIZ_FLAT_UUID)

    def legacy_shape(self) -> bool:
        return self.sim.flavour("vobiz.legacy_shape")

    def zone(self) -> tzinfo:
        return VOBIZ_LOCAL_ZONE if self.sim.flavour("vobiz.local_time") else UTC

    def stream_offsets(self) -> bool:
        return self.sim.flavour("vobiz.local_time")

    def paging(self) -> str:
        if self.sim.flavour("vobiz.offset_ignored"):
            return "offset_ignored"
        return "paged" if self.sim.flavour("vobiz.paged") else "all"

    def slash_refused(self) -> bool:
        """``vobiz.no_slash``: only the OpenAPI's slash-less paths answer."""
        return self.sim.flavour("vobiz.no_slash")

    def authenticate(self, request: Request) -> bool:
        """The ``X-Auth-ID`` / ``X-Auth-Token`` pair."""
        given = (request.headers.get("x-auth-id", ""), request.headers.get("x-auth-token", ""))
        return same_pair(given, (self.account["auth_id"], self.account["auth_token"]))

    def auth_failure(self) -> Answer:
        return self.error(401, "Authentication failed: check X-Auth-ID and X-Auth-Token")

    def fixture_call(self, status: str | None, call_uuid: str) -> dict[str, Any] | None:
        examples = {FIXTURE_VOBIZ_PLIVO_UUID: "live_plivo", FIXTURE_VOBIZ_FLAT_UUID: "live_flat"}
        if status != "live" or call_uuid not in examples:
            return None
        example: dict[str, Any] = self.example(examples[call_uuid])
        return example

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        if self.legacy_shape():
            return super().error(status, message, method=method, retry_after=retry_after)
        body: dict[str, Any] = {
            "status": "error",
            "error": {"code": ERROR_CODES.get(status, "ERROR"), "message": message, "details": None},
            "timestamp": iso_time_ms(self.sim.now_ts()),
            "requestId": self.sim.new_uuid(),
        }
        return Answer(status, body, self.retry_headers(status, retry_after))


SIMULATED = VobizSimulation
"""What the simulator loads for this folder."""
