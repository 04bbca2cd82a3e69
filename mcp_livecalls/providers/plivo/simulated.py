"""The simulated Plivo API: the Plivo family's simulation (``families/plivo_simulated.py``) on
Plivo's paths, auth, errors and flavours (``plivo.*``).

Plivo answers the live and queued lists at ``/v1/Account/{auth_id}/Call/?status=live|queued``
(UUIDs, paged by ``limit`` 1-20 and ``offset``), one call at ``/Call/{uuid}/`` in the flat shape
and its media streams at ``/Call/{uuid}/Stream/``; auth is HTTP basic ``auth_id:auth_token``, and
every error is ``{"api_id", "error"}``. The live list applies Plivo's ``call_direction``,
``from_number`` and ``to_number`` filters (plivo-go ``LiveCallFilters``). Times are UTC.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from starlette.requests import Request

from mcp_livecalls.providers.families.plivo_simulated import AccountCallSimulation
from mcp_livecalls.providers.families.plivo_simulated_records import flat_call
from mcp_livecalls.simkit.base import Answer, basic_pair, demo_account, same_pair
from mcp_livecalls.simkit.calls import SimCall

__all__ = ["PLIVO_FLAVOURS", "PlivoSimulation"]

PLIVO_FLAVOURS: frozenset[str] = frozenset(
    {
        # Without a flavour: UUID lists paged by limit/offset, filters applied, UTC, Plivo's error body.
        "plivo.object_list",  # list entries as call objects (flat shape) instead of bare UUIDs
        "plivo.filters_ignored",  # call_direction / from_number / to_number are not applied upstream
        "plivo.idle_404",  # an empty list answers a 404 in Plivo's error body instead of calls: []
    }
)


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


class PlivoSimulation(AccountCallSimulation):
    name = "plivo"
    flavours = PLIVO_FLAVOURS
    demo_settings = demo_account(auth_id="MAPLIVOSIMULATOR0001", auth_token="sim-plivo-token")
    api_prefix = "/v1"

    # Calls (``dress``), the flat single call and paging (limit 1-20 and offset, as plivo-python's
    # live_calls.py sends them), UTC times and the {"api_id", "error"} body are the family's.

    def authenticate(self, request: Request) -> bool:
        """HTTP basic ``auth_id:auth_token``."""
        return same_pair(basic_pair(request), (self.account["auth_id"], self.account["auth_token"]))

    def auth_failure(self) -> Answer:
        return self.error(401, "authentication failed")

    def live_calls(self, request: Request) -> list[SimCall]:
        calls = super().live_calls(request)
        if self.sim.flavour("plivo.filters_ignored"):
            return calls
        params = request.query_params
        direction = params.get("call_direction")
        from_number, to_number = _digits(params.get("from_number", "")), _digits(params.get("to_number", ""))
        return [
            c
            for c in calls
            if (not direction or c.direction == direction)
            and (not from_number or _digits(c.from_number) == from_number)
            and (not to_number or _digits(c.to_number) == to_number)
        ]

    def list_entries(self, calls: list[SimCall], ts: float) -> list[Any]:
        if self.sim.flavour("plivo.object_list"):
            return [flat_call(c, ts, self.sim.new_uuid(), UTC) for c in calls]
        return super().list_entries(calls, ts)


SIMULATED = PlivoSimulation
"""What the simulator loads for this folder."""
