"""Retell AI's webhooks as the simulated Retell posts them, signed with ``x-retell-signature``.

Facts (docs.retellai.com/features/webhook and retell-python-sdk ``webhook_auth.py``, as
``webhook.py`` cites them): a JSON POST ``{"event": "call_started" | "call_ended", "call": {...}}``
whose ``call`` is the get-call object (``call_id``, ``agent_id``, ``call_status`` …); the header is
``retell_signature(api key, body, timestamp ms)`` (the reader's), stamped when it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mcp_livecalls.providers.retell.simulated import retell_status
from mcp_livecalls.providers.retell.webhook import SIGNATURE_HEADER, retell_signature
from mcp_livecalls.simkit.callbacks import Change, Payload, SecretMaker

__all__ = ["CALLBACKS", "RetellCallbacks"]


class RetellCallbacks(SecretMaker):
    name = "retell"
    verified_by = "api_key"

    def payload(self, change: Change, now: datetime) -> Payload | None:
        if change.state == "ended":
            event = "call_ended"
        elif change.state == "in_progress" and change.before != "on_hold":
            event = "call_started"
        else:
            return None
        call = change.call
        record = {
            "call_id": call.id,
            "agent_id": call.agent.id if call.agent is not None else None,
            "call_status": retell_status(call, change.at.timestamp()),
            "from_number": call.from_number,
            "to_number": call.to_number,
            "direction": call.direction,
            "start_timestamp": int(call.created_ts * 1000),
        }
        return Payload(json={"event": event, "call": record})

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        return {SIGNATURE_HEADER: retell_signature(key, payload.body, int(now.timestamp() * 1000))}


CALLBACKS = RetellCallbacks
