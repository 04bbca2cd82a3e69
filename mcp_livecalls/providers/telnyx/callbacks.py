"""Telnyx's Call Control webhooks as the simulated Telnyx posts them, signed with Ed25519.

Facts (telnyx-python ``lib/webhook_verification.py`` and ``types/call_*_webhook_event.py``, as
``webhook.py`` cites them): a JSON POST ``{"data": {"id", "event_type", "occurred_at",
"payload": {"call_control_id", "call_leg_id", "call_session_id", "connection_id", "state"},
"record_type": "event"}, "meta": {"attempt", "delivered_to"}}``; ``telnyx-timestamp`` (Unix
seconds) and ``telnyx-signature-ed25519`` (base64 of the signature of ``signed_message``). The
key pair is generated here; the server is given its public half (``TELNYX_PUBLIC_KEY``).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mcp_livecalls.providers.telnyx.simulated import control_id, telnyx_item
from mcp_livecalls.providers.telnyx.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_message
from mcp_livecalls.simkit.callbacks import CallbackMaker, Change, Payload
from mcp_livecalls.simkit.calls import random_uuid
from mcp_livecalls.simkit.render import iso_time_ms

__all__ = ["CALLBACKS", "TelnyxCallbacks"]

_EVENTS = {"ringing": "call.initiated", "on_hold": "call.hold", "ended": "call.hangup"}


def _event_type(change: Change) -> str | None:
    if change.state == "in_progress":
        return "call.unhold" if change.before == "on_hold" else "call.answered"
    return _EVENTS.get(change.state)


class TelnyxCallbacks(CallbackMaker):
    name = "telnyx"

    def new_key(self, account: Mapping[str, str], rng: random.Random, *, right: bool) -> Any:
        return Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))

    def settings(self) -> dict[str, str]:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"public_key": base64.b64encode(raw).decode()}

    def payload(self, change: Change, now: datetime) -> Payload | None:
        event_type = _event_type(change)
        if event_type is None:
            return None
        call = change.call
        item = telnyx_item(call, change.at.timestamp())
        data = {
            "id": random_uuid(self.rng),
            "event_type": event_type,
            "occurred_at": iso_time_ms(change.at.timestamp()),
            "payload": {
                "call_control_id": control_id(call),
                "call_leg_id": item["call_leg_id"],
                "call_session_id": item["call_session_id"],
                "client_state": item["client_state"],
                "connection_id": str(call.extra["connection_id"]),
                "state": "hangup" if change.state == "ended" else "active",
            },
            "record_type": "event",
        }
        return Payload(json={"data": data, "meta": {"attempt": 1}})

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        stamp = str(int(now.timestamp()))
        signature = key.sign(signed_message(stamp, payload.body))
        return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: base64.b64encode(signature).decode()}


CALLBACKS = TelnyxCallbacks
