"""The simulated SignalWire Compatibility REST API: the Twilio family's simulation
(``families/twilio_simulated.py``) under ``/api/laml/2010-04-01`` with SignalWire's ids, auth,
error body and flavours (``signalwire.*``).

As SignalWire's spec (github.com/signalwire/docs ``specs/compatibility-api``) writes them: ids are
UUIDs; ``duration`` an integer (``null`` while live), ``price`` a number; ``direction``
``inbound``/``outbound``; ``formatted_from``/``formatted_to`` besides the ``*_formatted`` aliases;
``answered_by`` ``human``/``machine``; no ``queue_time``, ``trunk_sid`` or ``group_sid``; a
participant has no ``label`` and its status is ``in-progress``. The list and one-call paths answer
with or without ``.json``. Auth is HTTP basic ``ProjectID:APIToken``; errors are
``{code, message, more_info, status}`` (20003 for a 401).

Flavours: ``signalwire.small_pages`` at most 2 calls a page; ``signalwire.bare_paths`` page links
without ``.json`` (the spec's list example: ``…/Calls?Page=1&PageSize=50&PageToken=PA…``);
``signalwire.twilio_directions`` directions written as the status callbacks write them
(``outbound-api``, ``outbound-dial``).

Its documented example, in ``examples/`` (answered by ``Simulator(fixtures=True)``):
``retrieve_a_call`` is the spec's ``Call`` model example (``calls/models/core.tsp``), its
``status`` ``in-progress`` instead of the list example's ``queued`` so that it is live.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from starlette.requests import Request

from mcp_livecalls.providers.families.twilio_simulated import CompatSimulation
from mcp_livecalls.simkit.calls import SimCall, random_uuid

__all__ = ["SIGNALWIRE_FLAVOURS", "SignalWireSimulation"]

API_ROOT: Final = "/api/laml/2010-04-01"
FIXTURE_CALL_SID: Final = "b3877c40-da60-4998-90ad-b792e98472ca"
SIGNALWIRE_FLAVOURS: frozenset[str] = frozenset(
    {"signalwire.small_pages", "signalwire.bare_paths", "signalwire.twilio_directions"}
)
_TWILIO_ONLY: Final = ("queue_time", "trunk_sid", "group_sid")


class SignalWireSimulation(CompatSimulation):
    name = "signalwire"
    account_setting = "project_id"  # basic auth is ProjectID:APIToken
    token_setting = "api_token"
    flavours = SIGNALWIRE_FLAVOURS
    demo_settings: ClassVar[Mapping[str, str]] = {
        "project_id": "6bfbbe86-a901-4197-8759-2a0de1fa319d",
        "api_token": "PTsim0signalwire0api0token",
        "space_url": "demo-space.signalwire.com",
        "signing_key": "PSK_simSignalWireSigningKey",
    }
    """``signing_key`` is not a credential of the API: the project's key for signed webhooks."""
    error_page = "https://developer.signalwire.com/compatibility-api/reference/errors"
    api_root = API_ROOT
    list_suffixes = (".json", "")

    @classmethod
    def new_sid(cls, rng: random.Random, prefix: str) -> str:
        return random_uuid(rng)  # every SignalWire id is a UUID, whatever it names

    def call_body(self, call: SimCall, ts: float, account: str) -> dict[str, Any]:
        body = super().call_body(call, ts, account)
        for key in _TWILIO_ONLY:
            body.pop(key, None)
        for key in ("streams", "payments"):
            body["subresource_uris"].pop(key, None)
        body["duration"] = None if body["duration"] is None else int(body["duration"])
        body["price"] = None if body["price"] is None else float(body["price"])
        body["formatted_from"], body["formatted_to"] = body["from"], body["to"]
        if body["answered_by"] not in (None, "human"):
            body["answered_by"] = "machine"
        if body["direction"] != "inbound" and not self.flavoured("twilio_directions"):
            body["direction"] = "outbound"
        return body

    def participants_of(self, call: SimCall, ts: float, account: str) -> list[dict[str, Any]]:
        found = super().participants_of(call, ts, account)
        for participant in found:
            participant.pop("label", None)
            participant.pop("queue_time", None)
            participant["status"] = "in-progress"
        return found

    def page_path(self, request: Request) -> str:
        path = request.url.path
        return path.removesuffix(".json") if self.flavoured("bare_paths") else path

    def fixture_call(self, call_sid: str) -> dict[str, Any] | None:
        if call_sid != FIXTURE_CALL_SID:
            return None
        example: dict[str, Any] = self.example("retrieve_a_call")
        return example


SIMULATED = SignalWireSimulation
"""What the simulator loads for this folder."""
