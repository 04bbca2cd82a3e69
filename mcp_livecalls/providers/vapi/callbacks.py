"""Vapi's server messages as the simulated Vapi posts them, signed by the default HMAC plan.

Facts (as ``webhook.py`` cites them: VapiAI/docs ``fern/server-url/events.mdx``, the OpenAPI
``ServerMessageStatusUpdate`` and ``ServerMessageEndOfCallReport``, server-sdk-python's
``HMACAuthenticationPlan``): a ``status-update`` message is sent whenever the call's ``status``
changes (a hold does not change it), with the whole call object and, once ended, ``endedReason``;
``end-of-call-report`` follows the end. The HMAC plan signs ``{timestamp}.{body}`` with
HMAC-SHA256, hex, in ``x-signature``, the Unix time in ``x-timestamp``. The secret key is the
credential's, not the account's: it is made here and handed to the server as ``hmac_secret``.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mcp_livecalls.providers.vapi.simulated import vapi_call, vapi_status
from mcp_livecalls.providers.vapi.webhook import signed_payload
from mcp_livecalls.simkit.callbacks import CallbackMaker, Change, Payload, token

__all__ = ["CALLBACKS", "VapiCallbacks"]


class VapiCallbacks(CallbackMaker):
    name = "vapi"

    def new_key(self, account: Mapping[str, str], rng: random.Random, *, right: bool) -> Any:
        return token(rng)

    def settings(self) -> dict[str, str]:
        return {"hmac_secret": self.key}

    def payload(self, change: Change, now: datetime) -> Payload | None:
        status = vapi_status(change.state)
        if change.sequence and status == vapi_status(change.before):
            return None  # a hold, or a move Vapi's words do not tell apart
        at = change.at.timestamp()
        message: dict[str, Any] = {
            "type": "status-update",
            "status": status,
            "call": vapi_call(change.call, at),
            "timestamp": int(at * 1000),
        }
        if status == "ended":
            message["endedReason"] = "customer-ended-call"
        return Payload(json={"message": message})

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        stamp = str(int(now.timestamp()))
        digest = hmac.new(str(key).encode(), signed_payload(stamp, payload.body), hashlib.sha256)
        return {"x-timestamp": stamp, "x-signature": digest.hexdigest()}


CALLBACKS = VapiCallbacks
