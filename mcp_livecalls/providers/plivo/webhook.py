"""Plivo's call callbacks (answer, ring, hangup URLs), verified by ``X-Plivo-Signature-V3``.

Facts (``shared/provider-docs/webhooks-and-next-providers.md`` §1, Plivo; plivo-python
``plivo/utils/signature_v3.py``, docs.plivo.com/docs/voice/xml/request/validation): for a POST the
signed base is the URL without its query, then ``?`` and the sorted query ``k=v&…`` (empty when
there is none), then ``.`` only when there was a query, then the sorted POST parameters as
``key+value`` with no separators; the message is that base + ``.`` + the
``X-Plivo-Signature-V3-Nonce`` header, signed ``base64(HMAC-SHA256(auth token))``. The header may
hold several signatures, comma-separated (``X-Plivo-Signature-Ma-V3``: the main account's).
Callbacks carry ``CallUUID`` and ``CallStatus`` (ringing, in-progress, completed, busy, failed,
timeout, no-answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.families.plivo_records import family_status
from mcp_livecalls.providers.hooks import SecretReader, WebhookEvent, WebhookRefused, WebhookRequest

__all__ = ["READER", "PlivoWebhook", "plivo_v3_base"]

_HEADERS = ("x-plivo-signature-v3", "x-plivo-signature-ma-v3")
NONCE_HEADER = "x-plivo-signature-v3-nonce"


def plivo_v3_base(url: str, params: Mapping[str, tuple[str, ...]]) -> str:
    """The signed base of a POST to ``url`` with ``params``, as plivo-python builds it."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    query_text = "&".join(f"{name}={value}" for name in sorted(query) for value in sorted(query[name]))
    base = hooks.without_query(url)
    if query_text or params:
        base += "?" + query_text
    if query_text and params:
        base += "."
    return base + "".join(f"{name}{value}" for name in sorted(params) for value in sorted(params[name]))


class PlivoWebhook(SecretReader):
    provider = ProviderName("plivo")
    signs_body = True
    verified_by = "auth_token"

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        if request.json is not None:  # V3 signs form parameters: a JSON body would go unsigned
            raise WebhookRefused("malformed", "Plivo callbacks are form parameters")
        nonce = request.header(NONCE_HEADER)
        if not nonce:
            raise WebhookRefused("signature", "no X-Plivo-Signature-V3-Nonce")
        expected = hooks.b64_hmac(self._secret, f"{plivo_v3_base(request.url, request.form)}.{nonce}")
        sent = [part.strip() for name in _HEADERS for part in (request.header(name) or "").split(",")]
        if not any(hooks.same(expected, part) for part in sent if part):
            raise WebhookRefused("signature", "X-Plivo-Signature-V3 does not match")
        call_id = request.param("CallUUID")
        if not call_id:
            return []
        raw_status = request.param("CallStatus")
        return [
            self.event(
                call_id,
                f"nonce:{nonce}",
                status=family_status(raw_status) if raw_status else None,
                provider_status=raw_status,
            )
        ]

    def setup(self, url: str) -> str:
        return f"answer_url / hangup_url / ring_url={url} (Make a Call API), or the Application's URLs"


READER = PlivoWebhook
