"""Vapi's server messages (``status-update``, ``end-of-call-report``, ``transcript``), verified
by their secret token or their HMAC signature.

Facts: the body is ``{"message": {"type", "call": {…the call object…}, "timestamp", …}}``;
``status-update`` carries ``status`` (``scheduled``, ``queued``, ``ringing``, ``in-progress``,
``forwarding``, ``ended``) and, once ended, ``endedReason``; ``end-of-call-report`` comes once
the call has ended; ``transcript`` carries ``role`` and ``transcript`` (VapiAI/docs at commit
eabfa530, ``fern/server-url/events.mdx`` and the OpenAPI schemas ``ServerMessage``,
``ServerMessageStatusUpdate``, ``ServerMessageEndOfCallReport``, ``ServerMessageTranscript``).
Authentication (``fern/server-url/server-authentication.mdx``): a bearer-token credential sends
its token as ``Authorization: Bearer <token>`` or, in the legacy form, as the ``X-Vapi-Secret``
header (the old inline ``serverUrlSecret``); an HMAC credential
(``HMACAuthenticationPlan``, VapiAI/server-sdk-python at commit 72303d15,
``src/vapi/types/hmac_authentication_plan.py``) signs ``{timestamp}.{body}`` with its secret
key, ``sha256`` by default, hex by default, in ``x-signature`` with the Unix time in
``x-timestamp``. This reader checks the token (``VAPI_SERVER_SECRET``, compared in constant
time) and the default HMAC plan (``VAPI_HMAC_SECRET``; a ``sha256=`` prefix is accepted, and a
timestamp more than 5 minutes from the injected clock is refused: our window, none is
documented). Either one verified makes the body signed data: the token arrives over TLS with
the body, as the only proof Vapi offers for that credential. The dedupe key is the call id, the
message type, the status or role and the message's ``timestamp``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookEvent, WebhookReader, WebhookRefused, WebhookRequest, same
from mcp_livecalls.providers.reading import parse_epoch_ms
from mcp_livecalls.providers.vapi.records import vapi_status

__all__ = ["READER", "WINDOW", "VapiWebhook", "signed_payload"]

WINDOW = timedelta(minutes=5)
_STATUS_OF = {"end-of-call-report": CallStatus.ENDED}


def signed_payload(timestamp: str, body: bytes) -> bytes:
    """What the default HMAC plan signs: ``{timestamp}.{body}``."""
    return timestamp.encode("utf-8") + b"." + body


class VapiWebhook(WebhookReader):
    provider = ProviderName("vapi")
    signs_body = True

    def __init__(self, token: str, hmac_key: str) -> None:
        self._token = token
        self._hmac_key = hmac_key

    def __repr__(self) -> str:
        return "VapiWebhook(server_secret=***, hmac_secret=***)"

    @classmethod
    def from_settings(cls, settings: Any) -> VapiWebhook | None:
        token = str(getattr(settings, "server_secret", "") or "")
        key = str(getattr(settings, "hmac_secret", "") or "")
        return cls(token, key) if token or key else None

    def _token_given(self, request: WebhookRequest) -> str | None:
        given = request.header("x-vapi-secret")
        if given is None:
            scheme, _, bearer = (request.header("authorization") or "").partition(" ")
            given = bearer.strip() if scheme.lower() == "bearer" else None
        return given

    def _hmac_ok(self, request: WebhookRequest, now: datetime) -> bool:
        stamp = (request.header("x-timestamp") or "").strip()
        given = (request.header("x-signature") or "").strip().removeprefix("sha256=")
        if not stamp or not given:
            return False
        try:
            seconds = float(stamp)
        except ValueError:
            return False
        seconds = seconds / 1000 if seconds > 1e11 else seconds  # seconds, or milliseconds
        if not abs(now.timestamp() - seconds) <= WINDOW.total_seconds():
            raise WebhookRefused("signature", "x-timestamp is outside its 5-minute window")
        expected = hmac.new(self._hmac_key.encode(), signed_payload(stamp, request.body), hashlib.sha256)
        return same(expected.hexdigest(), given.lower())

    def _verify(self, request: WebhookRequest, now: datetime) -> None:
        if self._token and same(self._token, self._token_given(request)):
            return
        if self._hmac_key and self._hmac_ok(request, now):
            return
        raise WebhookRefused("signature", "no valid x-vapi-secret, bearer token or x-signature")

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        self._verify(request, now)
        message = request.json.get("message") if isinstance(request.json, dict) else None
        if not isinstance(message, dict):
            raise WebhookRefused("malformed", "the body has no message object")
        kind, call = message.get("type"), message.get("call")
        call_id = call.get("id") if isinstance(call, dict) else None
        if not isinstance(call_id, str) or not call_id or not isinstance(kind, str):
            return []  # verified, but about no call (a chat, a session …)
        word = message.get("status") if kind == "status-update" else None
        said = word if isinstance(word, str) else None
        stamp = message.get("timestamp")
        try:
            at = parse_epoch_ms(stamp) if isinstance(stamp, int | float) else None
        except ValueError:
            at = None
        detail = said or message.get("role") or message.get("transcriptType") or ""
        status = vapi_status(said) if said else _STATUS_OF.get(kind)
        return [
            self.event(
                call_id,
                f"{call_id}:{kind}:{detail}:{stamp}",
                status=status,
                provider_status=said or (kind if status else None),
                at=at,
            )
        ]

    def setup(self, url: str) -> str:
        return (
            f"server.url={url} on the assistant, phone number or organization (with serverMessages "
            "status-update and end-of-call-report), and a credential: a bearer token (header "
            "X-Vapi-Secret or Authorization) as VAPI_SERVER_SECRET, or HMAC (sha256, x-signature, "
            "x-timestamp) with its secret key as VAPI_HMAC_SECRET"
        )


READER = VapiWebhook
