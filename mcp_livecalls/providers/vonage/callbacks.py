"""Vonage Voice's event webhooks as the simulated Vonage posts them, signed with an HS256 JWT.

Facts (vonage-python-sdk ``vonage_jwt/verify_jwt.py`` and Vonage's "signed webhooks" guide, as
``webhook.py`` cites them): a JSON POST of the call event (``uuid``, ``conversation_uuid``,
``status`` started / ringing / answered / completed …, ``direction``, ``timestamp``, ``from``,
``to``) with ``Authorization: Bearer <JWT>``, HS256 with the account's signature secret
(generated here: ``VONAGE_SIGNATURE_SECRET``), claims ``iat``, ``jti`` and ``payload_hash`` (the
body's SHA-256, hex). Vonage sends no event for a hold or for early media.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mcp_livecalls.providers.vonage.simulated import vonage_status
from mcp_livecalls.simkit.callbacks import CallbackMaker, Change, Payload, token
from mcp_livecalls.simkit.calls import random_uuid
from mcp_livecalls.simkit.render import iso_time_ms

__all__ = ["CALLBACKS", "VonageCallbacks"]

_STATES = frozenset({"queued", "ringing", "in_progress", "ended"})


class VonageCallbacks(CallbackMaker):
    name = "vonage"

    def new_key(self, account: Mapping[str, str], rng: random.Random, *, right: bool) -> Any:
        return token(rng, 32)

    def settings(self) -> dict[str, str]:
        return {"signature_secret": self.key}

    def payload(self, change: Change, now: datetime) -> Payload | None:
        if change.state not in _STATES or change.before == "on_hold":
            return None
        call = change.call
        return Payload(
            json={
                "uuid": call.id,
                "conversation_uuid": str(call.extra["conversation_uuid"]),
                "status": vonage_status(call, change.state),
                "direction": call.direction,
                "timestamp": iso_time_ms(change.at.timestamp()),
                "from": call.from_number.removeprefix("+"),
                "to": call.to_number.removeprefix("+"),
            }
        )

    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        import jwt  # here, as the reader does: serving over stdio loads no jwt

        claims = {
            "iat": int(now.timestamp()),
            "jti": random_uuid(self.rng),
            "payload_hash": hashlib.sha256(payload.body).hexdigest(),
            "application_id": self.account["application_id"],
        }
        return {"authorization": f"Bearer {jwt.encode(claims, key, algorithm='HS256')}"}


CALLBACKS = VonageCallbacks
