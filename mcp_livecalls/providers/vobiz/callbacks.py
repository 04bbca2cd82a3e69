"""Vobiz's callbacks as the simulated Vobiz posts them, signed with ``X-Vobiz-Signature-V3``.

Facts (docs.vobiz.ai/concepts/callbacks and /concepts/validating-callbacks, as ``webhook.py``
cites them): a form POST with ``Event`` (Ring, StartApp, Hangup), ``CallUUID``, ``timestamp`` and
``auth_id``; ``X-Vobiz-Signature-V3`` is ``vobiz_signature(token, url, nonce, "v3")`` (the base
URL and the nonce only, not the body), the nonce in ``X-Vobiz-Signature-V3-Nonce``. The status
words are Plivo's (Vobiz follows Plivo's callbacks), so the call's word is ``plivo_word``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mcp_livecalls.providers.plivo.callbacks import plivo_word
from mcp_livecalls.providers.vobiz.webhook import vobiz_signature
from mcp_livecalls.simkit.callbacks import Change, Payload, SecretMaker, nonce

__all__ = ["CALLBACKS", "VobizCallbacks"]

_EVENTS = {"ringing": "Ring", "in-progress": "StartApp"}


class VobizCallbacks(SecretMaker):
    name = "vobiz"
    verified_by = "auth_token"

    def payload(self, change: Change, now: datetime) -> Payload | None:
        word = plivo_word(change.call, change)
        if word is None:
            return None
        return Payload(
            {
                "Event": _EVENTS.get(word, "Hangup"),
                "CallUUID": change.call.id,
                "CallStatus": word,
                "timestamp": str(int(change.at.timestamp())),
                "auth_id": self.account["auth_id"],
            }
        )

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        once = nonce(self.rng)
        return {
            "x-vobiz-signature-v3": vobiz_signature(key, url, once, "v3"),
            "x-vobiz-signature-v3-nonce": once,
        }


CALLBACKS = VobizCallbacks
