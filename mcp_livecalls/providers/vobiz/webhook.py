"""Vobiz's callbacks (status_url, callback_url, trunk and account callbacks): hints, never data.

Facts (``shared/provider-docs/webhooks-and-next-providers.md`` §1, Vobiz;
docs.vobiz.ai/concepts/validating-callbacks and /compare/plivo/webhooks): ``X-Vobiz-Signature-V2``
is ``base64(HMAC-SHA256(auth token, base URL without query + nonce))`` with the nonce in
``X-Vobiz-Signature-V2-Nonce``; ``-V3`` signs ``base URL + "." + nonce`` (nonce in
``X-Vobiz-Signature-V3-Nonce``); ``-MA-V2`` / ``-MA-V3`` are the parent account's. Unlike Plivo,
Vobiz does not sign the POST parameters, so a verified callback only says *which* call to fetch
now (``CallUUID``); its status is never applied. Events: Ring, StartApp, Hangup …
"""

from __future__ import annotations

from datetime import datetime

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.hooks import SecretReader, WebhookEvent, WebhookRefused, WebhookRequest

__all__ = ["READER", "VobizWebhook", "vobiz_signature"]

_SCHEMES = (("v2", ""), ("v3", "."))
"""Each signature version and what joins the base URL and the nonce."""


def vobiz_signature(token: str, url: str, nonce: str, version: str) -> str:
    """The ``-V2`` or ``-V3`` signature of a callback to ``url`` with ``nonce``."""
    joiner = dict(_SCHEMES)[version]
    return hooks.b64_hmac(token, f"{hooks.without_query(url)}{joiner}{nonce}")


class VobizWebhook(SecretReader):
    provider = ProviderName("vobiz")
    signs_body = False
    verified_by = "auth_token"

    def _verified_nonce(self, request: WebhookRequest) -> str | None:
        for version, _ in _SCHEMES:
            nonce = request.header(f"x-vobiz-signature-{version}-nonce")
            if not nonce:
                continue
            expected = vobiz_signature(self._secret, request.url, nonce, version)
            sent = (
                request.header(f"x-vobiz-signature-{version}"),
                request.header(f"x-vobiz-signature-ma-{version}"),
            )
            if any(hooks.same(expected, part) for part in sent):
                return nonce
        return None

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        nonce = self._verified_nonce(request)
        if nonce is None:
            raise WebhookRefused("signature", "no X-Vobiz-Signature-V2/V3 matches")
        call_id = request.param("CallUUID")
        if not call_id:
            return []
        return [self.event(call_id, f"nonce:{nonce}", provider_status=request.param("Event"))]

    def setup(self, url: str) -> str:
        return f"status_url={url} per call, or the application's callback_url (or default_callback_url)"


READER = VobizWebhook
