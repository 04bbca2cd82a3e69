"""Exotel's status callbacks as the simulated Exotel posts them, to the secret token path.

Facts (developer.exotel.com/docs/voice-v1/api-reference/status-callback, as ``webhook.py`` cites
it): a form POST to ``StatusCallback`` on the ``answered`` and ``terminal`` events with
``CallSid``, ``Status``, ``DateUpdated`` and (extended) ``EventType``, ``From``, ``To``,
``Direction``. Exotel does not sign: the URL's path token (``EXOTEL_WEBHOOK_TOKEN``, generated
here) is the secret, so a wrong "signature" is a wrong token.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mcp_livecalls.providers.exotel.simulated_payloads import ist_time
from mcp_livecalls.providers.exotel.webhook import MIN_TOKEN_LENGTH
from mcp_livecalls.providers.plivo.callbacks import plivo_word
from mcp_livecalls.simkit.callbacks import CallbackMaker, Change, Payload, token

__all__ = ["CALLBACKS", "ExotelCallbacks"]


class ExotelCallbacks(CallbackMaker):
    name = "exotel"

    def new_key(self, account: Mapping[str, str], rng: random.Random, *, right: bool) -> Any:
        return token(rng, MIN_TOKEN_LENGTH + 8)

    def settings(self) -> dict[str, str]:
        return {"webhook_token": self.key}

    def path(self, key: Any) -> str:
        return f"/webhooks/{self.name}/{key}"

    def payload(self, change: Change, now: datetime) -> Payload | None:
        word = plivo_word(change.call, change)  # the same words: in-progress, completed, busy …
        if word is None or word == "ringing":
            return None  # Exotel calls back on answered and terminal only
        call = change.call
        return Payload(
            {
                "CallSid": call.id,
                "Status": word,
                "DateUpdated": ist_time(change.at.timestamp()),
                "EventType": "answered" if word == "in-progress" else "terminal",
                "From": call.from_number,
                "To": call.to_number,
                "Direction": call.direction,
            }
        )

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        return {}  # not signed: the token is in the path


CALLBACKS = ExotelCallbacks
