"""Retell AI's webhooks (``call_started``, ``call_ended``, ``call_analyzed``), verified by
``x-retell-signature``.

Facts (``shared/provider-docs/webhooks-and-next-providers.md`` §1, Retell; retell-python-sdk
``src/retell/lib/webhook_auth.py``, docs.retellai.com/features/webhook): the header is
``v=<timestamp ms>,d=<64 hex>``; it is valid when ``|now - timestamp| <= 5 minutes`` and ``d`` is
``hex(HMAC-SHA256(API key, body + str(timestamp)))``. The body is ``{"event": ..., "call": {...}}``,
``call`` being the get-call object (``call_id``, ``call_status``). The SDK compares with
``compare_digest``; so does this reader.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.families.retell import family_status
from mcp_livecalls.providers.hooks import (
    SecretReader,
    WebhookEvent,
    WebhookRefused,
    WebhookRequest,
    hex_hmac,
    same,
)

__all__ = ["READER", "WINDOW", "RetellWebhook", "retell_signature"]

SIGNATURE_HEADER = "x-retell-signature"
WINDOW = timedelta(minutes=5)
_FORMAT = re.compile(r"v=(\d{1,16}),d=([0-9a-f]{64})")
_EVENT_STATUS = {"call_started": CallStatus.IN_PROGRESS, "call_ended": CallStatus.ENDED}


def retell_signature(api_key: str, body: bytes, timestamp_ms: int) -> str:
    """The header value for ``body`` sent at ``timestamp_ms``."""
    return f"v={timestamp_ms},d={hex_hmac(api_key, body + str(timestamp_ms).encode())}"


class RetellWebhook(SecretReader):
    provider = ProviderName("retell")
    signs_body = True
    verified_by = "api_key"

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        header = request.header(SIGNATURE_HEADER) or ""
        match = _FORMAT.fullmatch(header.strip())
        if match is None:
            raise WebhookRefused("signature", "no x-retell-signature")
        stamp = int(match.group(1))
        if abs(now.timestamp() * 1000 - stamp) > WINDOW.total_seconds() * 1000:
            raise WebhookRefused("signature", "x-retell-signature is outside its 5-minute window")
        if not same(retell_signature(self._secret, request.body, stamp), header.strip()):
            raise WebhookRefused("signature", "x-retell-signature does not match")
        body = request.json if isinstance(request.json, dict) else None
        call = body.get("call") if body is not None else None
        if body is None or not isinstance(call, dict):
            raise WebhookRefused("malformed", "the body has no call object")
        call_id, event, raw_status = call.get("call_id"), body.get("event"), call.get("call_status")
        if not isinstance(call_id, str) or not call_id:
            return []
        status = family_status(raw_status) if isinstance(raw_status, str) else _EVENT_STATUS.get(str(event))
        return [
            self.event(
                call_id,
                f"{call_id}:{event}",
                status=status if status is not CallStatus.UNKNOWN else _EVENT_STATUS.get(str(event)),
                provider_status=str(event) if event is not None else None,
                at=datetime.fromtimestamp(stamp / 1000, tz=now.tzinfo),
            )
        ]

    def setup(self, url: str) -> str:
        return f"webhook_url={url} on the agent (or the account's webhook URL in the dashboard)"


READER = RetellWebhook
