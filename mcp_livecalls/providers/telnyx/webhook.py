"""Telnyx's Call Control webhooks (``call.initiated``, ``call.answered``, ``call.hangup`` …),
verified by their Ed25519 signature.

Facts (team-telnyx/telnyx-python at commit 6d68c8ca, ``src/telnyx/lib/webhook_verification.py``,
"matching the implementation pattern used in the Go, Java, and Ruby SDKs"): the headers are
``telnyx-signature-ed25519`` (base64 of a 64-byte Ed25519 signature) and ``telnyx-timestamp``
(Unix seconds); the signed message is ``"{timestamp}|{body}"``; the key is the account's public
key from the portal (base64 of 32 bytes, ``TELNYX_PUBLIC_KEY``); a timestamp more than 300 s
from now is refused. The body is ``{"data": {"id", "event_type", "occurred_at", "payload":
{"call_control_id", "call_leg_id", "call_session_id", "connection_id", "state", …},
"record_type": "event"}, "meta": {…}}`` (the SDK's ``types/call_*_webhook_event.py``); ``id``
names the event, so a retry of it has the same dedupe key. Verification uses ``cryptography``'s
Ed25519 (the SDK uses PyNaCl; both are libsodium's algorithm, RFC 8032).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookEvent, WebhookReader, WebhookRefused, WebhookRequest
from mcp_livecalls.providers.reading import parse_iso
from mcp_livecalls.providers.telnyx.adapter import shown_call_id

__all__ = ["EVENT_STATUS", "READER", "TOLERANCE", "TelnyxWebhook", "signed_message"]

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
TOLERANCE = timedelta(seconds=300)
EVENT_STATUS = {
    "call.initiated": CallStatus.RINGING,
    "call.answered": CallStatus.IN_PROGRESS,
    "call.bridged": CallStatus.IN_PROGRESS,
    "call.hold": CallStatus.ON_HOLD,
    "call.unhold": CallStatus.IN_PROGRESS,
    "call.hangup": CallStatus.ENDED,
}
"""The call's status after each event that says one."""


def signed_message(timestamp: str, body: bytes) -> bytes:
    """What Telnyx signs: ``{timestamp}|{body}``."""
    return timestamp.encode("utf-8") + b"|" + body


def _key(public_key: str) -> Ed25519PublicKey | None:
    try:
        raw = base64.b64decode(public_key.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return Ed25519PublicKey.from_public_bytes(raw) if len(raw) == 32 else None


class TelnyxWebhook(WebhookReader):
    provider = ProviderName("telnyx")
    signs_body = True

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "TelnyxWebhook(public_key=…)"

    @classmethod
    def from_settings(cls, settings: Any) -> TelnyxWebhook | None:
        """The reader for ``TELNYX_PUBLIC_KEY``; ``None`` when it is unset or not an Ed25519 key."""
        key = _key(str(getattr(settings, "public_key", "") or ""))
        return cls(key) if key is not None else None

    def _verify(self, request: WebhookRequest, now: datetime) -> None:
        stamp = (request.header(TIMESTAMP_HEADER) or "").strip()
        given = request.header(SIGNATURE_HEADER) or ""
        if not stamp.isdigit() or len(stamp) > 12 or not given:
            raise WebhookRefused("signature", "no telnyx-timestamp or telnyx-signature-ed25519")
        if abs(now.timestamp() - int(stamp)) > TOLERANCE.total_seconds():
            raise WebhookRefused("signature", "telnyx-timestamp is outside its 300-second window")
        try:
            signature = base64.b64decode(given.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise WebhookRefused("signature", "telnyx-signature-ed25519 is not base64") from None
        if len(signature) != 64:
            raise WebhookRefused("signature", "telnyx-signature-ed25519 is not 64 bytes")
        try:
            self._key.verify(signature, signed_message(stamp, request.body))
        except InvalidSignature:
            raise WebhookRefused("signature", "telnyx-signature-ed25519 does not match") from None

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        self._verify(request, now)
        data = request.json.get("data") if isinstance(request.json, dict) else None
        payload = data.get("payload") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(payload, dict):
            raise WebhookRefused("malformed", "the body has no data.payload object")
        control_id, event_type, event_id = (
            payload.get("call_control_id"),
            data.get("event_type"),
            data.get("id"),
        )
        if not isinstance(control_id, str) or not control_id or not isinstance(event_type, str):
            return []  # verified, but about no call (a conference, a recording …)
        occurred = data.get("occurred_at")
        try:
            at = parse_iso(occurred) if isinstance(occurred, str) else None
        except ValueError:
            at = None
        key = (
            event_id
            if isinstance(event_id, str) and event_id
            else f"{event_type}:{request.header(SIGNATURE_HEADER)}"
        )
        return [
            self.event(
                shown_call_id(control_id),
                f"{control_id}:{key}",
                status=EVENT_STATUS.get(event_type),
                provider_status=event_type,
                at=at,
            )
        ]

    def setup(self, url: str) -> str:
        return (
            f"webhook_event_url={url} on the Call Control application (or the connection's webhook URL), "
            "and TELNYX_PUBLIC_KEY set to the account's public key (Mission Control > Keys & Credentials)"
        )


READER = TelnyxWebhook
