"""Vonage Voice's signed event webhooks, verified by the JWT in their ``Authorization`` header.

Facts: Vonage signs a voice event with a JWT in ``Authorization: Bearer <token>``, HS256 with the
account's signature secret (vonage-python-sdk at commit b308cb1e, ``jwt/src/vonage_jwt/
verify_jwt.py``: ``decode(token, signature_secret, algorithms='HS256')``; ``voice.py``
``verify_signature``); its claims carry ``iat``, ``jti`` and ``payload_hash``, the SHA-256 (hex)
of the body (Vonage's "signed webhooks" guide, as the issue and the shared provider notes state
it). The SDK checks the signature only; this reader also requires ``payload_hash`` to match the
body (else the body would not be signed) and ``iat`` within 5 minutes of the injected clock (a
choice: Vonage names no window; replays inside it are caught by the dedupe key, the ``jti``).
The body is the call event: ``uuid``, ``conversation_uuid``, ``status`` (``started``,
``ringing``, ``answered``, ``completed`` …), ``direction``, ``timestamp``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers.hooks import WebhookEvent, WebhookReader, WebhookRefused, WebhookRequest, same
from mcp_livecalls.providers.vonage.adapter import parse_vonage_time, vonage_status

__all__ = ["READER", "WINDOW", "VonageWebhook"]

WINDOW = timedelta(minutes=5)


class VonageWebhook(WebhookReader):
    provider = ProviderName("vonage")
    signs_body = True

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return "VonageWebhook(signature_secret=***)"

    @classmethod
    def from_settings(cls, settings: Any) -> VonageWebhook | None:
        secret = str(getattr(settings, "signature_secret", "") or "")
        return cls(secret) if len(secret) >= 16 else None  # HS256 with a short key is guessable

    def _claims(self, request: WebhookRequest, now: datetime) -> dict[str, Any]:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise WebhookRefused("signature", "no bearer JWT")
        import jwt  # here, not at import: the registry loads every reader when the server starts

        try:
            claims: dict[str, Any] = jwt.decode(
                token.strip(),
                self._secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise WebhookRefused("signature", "the JWT is not signed with the signature secret") from None
        issued = claims.get("iat")
        if not isinstance(issued, int | float) or abs(now.timestamp() - issued) > WINDOW.total_seconds():
            raise WebhookRefused("signature", "the JWT's iat is outside its 5-minute window")
        declared = claims.get("payload_hash")
        if not same(
            hashlib.sha256(request.body).hexdigest(), declared if isinstance(declared, str) else None
        ):
            raise WebhookRefused("signature", "payload_hash does not match the body")
        return claims

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        claims = self._claims(request, now)
        body = request.json if isinstance(request.json, dict) else None
        if body is None:
            raise WebhookRefused("malformed", "the body is not a JSON object")
        call_id, raw_status = body.get("uuid"), body.get("status")
        if not isinstance(call_id, str) or not call_id:
            return []  # verified, but about no call leg
        word = raw_status if isinstance(raw_status, str) else None
        stamp = body.get("timestamp")
        try:
            at = parse_vonage_time(stamp) if isinstance(stamp, str) else None
        except ValueError:
            at = None
        jti = claims.get("jti")
        key = jti if isinstance(jti, str) and jti else f"{word}:{stamp}"
        status = vonage_status(word) if word else None
        return [self.event(call_id, f"{call_id}:{key}", status=status, provider_status=word, at=at)]

    def setup(self, url: str) -> str:
        return (
            f"the application's Voice event_url={url} (Applications > Capabilities > Voice), with signed "
            "webhooks on and VONAGE_SIGNATURE_SECRET set to the account's signature secret"
        )


READER = VonageWebhook
