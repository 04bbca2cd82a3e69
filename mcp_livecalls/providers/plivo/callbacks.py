"""Plivo's call callbacks as the simulated Plivo posts them, signed with ``X-Plivo-Signature-V3``.

Facts (docs.plivo.com/docs/voice/api/call/make-a-call and plivo-python
``plivo/utils/signature_v3.py``, as ``webhook.py`` cites them): a form POST to the ring, answer or
hangup URL with ``CallUUID``, ``From``, ``To`` (digits without ``+``), ``Direction``,
``CallStatus`` (ringing, in-progress, completed, busy, no-answer, failed) and ``Event``; the
signature is ``base64(HMAC-SHA256(auth token, plivo_v3_base(url, params) + "." + nonce))``, the
nonce in ``X-Plivo-Signature-V3-Nonce``. Plivo posts nothing for a hold or for early media.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.plivo.webhook import NONCE_HEADER, plivo_v3_base
from mcp_livecalls.simkit.callbacks import Change, Payload, SecretMaker, nonce
from mcp_livecalls.simkit.calls import SimCall

__all__ = ["CALLBACKS", "PlivoCallbacks"]

_UNANSWERED = {"busy": "busy", "no_answer": "no-answer", "cancel": "no-answer"}


def plivo_word(call: SimCall, change: Change) -> str | None:
    """``CallStatus`` for a change Plivo calls back about (ring, answer, hangup), else ``None``."""
    if change.state == "ringing":
        return "ringing"
    if change.state == "in_progress" and change.before != "on_hold":
        return "in-progress"
    if change.state == "ended":
        return "completed" if call.answer_s is not None else _UNANSWERED.get(call.end_reason, "failed")
    return None


class PlivoCallbacks(SecretMaker):
    name = "plivo"
    verified_by = "auth_token"

    def payload(self, change: Change, now: datetime) -> Payload | None:
        call = change.call
        word = plivo_word(call, change)
        if word is None:
            return None
        return Payload(
            {
                "CallUUID": call.id,
                "From": call.from_number.removeprefix("+"),
                "To": call.to_number.removeprefix("+"),
                "Direction": call.direction,
                "CallStatus": word,
                "Event": {"ringing": "Ring", "in-progress": "StartApp"}.get(word, "Hangup"),
            }
        )

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        once = nonce(self.rng)
        signature = hooks.b64_hmac(key, f"{plivo_v3_base(url, payload.params)}.{once}")
        return {"x-plivo-signature-v3": signature, NONCE_HEADER: once}


CALLBACKS = PlivoCallbacks
