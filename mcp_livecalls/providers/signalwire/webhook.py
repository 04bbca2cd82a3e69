"""SignalWire's status callbacks, verified by ``X-SignalWire-Signature`` with the project's Signing Key.

Facts (SignalWire's "Webhook Security" guide, developer.signalwire.com/guides/webhook-security:
every webhook is signed with an HMAC of the project's Signing Key, on the Dashboard's API
Credentials page; ``signalwire-sdk`` 3.7.5 ``signalwire/core/security/webhook_validator.py`` and
``webhook_middleware.py``; PyPI ``signalwire`` 2.1.1 ``signalwire/request_validator.py`` and its
``tests/test_request_validator.py``):

* A form-encoded (Compatibility/cXML) callback is signed as Twilio's:
  ``base64(HMAC-SHA1(key, url + params))``, the URL with and without its default port; the
  parameters sorted by name, a repeated name's values in the order sent (3.7.5's
  ``_sorted_concat_params``, "matches the JS reference"; twilio-python sorts them instead).
* A JSON body (RELAY/SWML, or JSON on the compatibility surface) is signed over the raw body:
  ``hex(HMAC-SHA1(key, url + body))`` (2.1.1 ``build_signature``; 3.7.5 "Scheme A"), and
  ``X-SignalWire-Sha256-Signature`` carries ``hex(HMAC-SHA256(key, url + body))``, preferred when
  present. A JSON body signed the compatible way (``bodySHA256`` in the URL, the form signature
  of no parameters) is accepted as well, as both SDKs do.
* ``X-Twilio-Signature`` is accepted as an alias of ``X-SignalWire-Signature`` (the SDKs'
  ``TWILIO_COMPAT_SIGNATURE_HEADER``).
* Status callbacks (``specs/compatibility-api/calls/models/webhooks.tsp``) carry ``CallSid``,
  ``CallStatus`` (initiated, ringing, in-progress, queued, failed, busy, no-answer, completed,
  canceled), ``SequenceNumber`` and ``Timestamp``; a RELAY body names its call as
  ``call.call_id`` with a ``call_state`` (2.1.1's test body), which is kept as the provider status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.families.twilio_webhook import (
    FormSignedReader,
    body_sha256_signed,
    port_variants,
)
from mcp_livecalls.providers.hooks import WebhookEvent, WebhookRequest

__all__ = ["READER", "SignalWireWebhook", "signalwire_json_signature"]

SHA256_HEADER = "x-signalwire-sha256-signature"
ALIAS_HEADER = "x-twilio-signature"


def signalwire_json_signature(key: str, url: str, body: bytes, digest: str = "sha1") -> str:
    """``hex(HMAC(key, url + raw body))``: how SignalWire signs a JSON body."""
    return hooks.hex_hmac(key, url.encode() + body, digest)


class SignalWireWebhook(FormSignedReader):
    provider = ProviderName("signalwire")
    verified_by = "signing_key"
    signature_header = "x-signalwire-signature"
    signature_words = "X-SignalWire-Signature"

    @classmethod
    def from_settings(cls, settings: Any) -> SignalWireWebhook | None:
        key = str(getattr(settings, "signing_key", "") or "")
        return cls(key) if key else None

    def form_text(self, form: Mapping[str, tuple[str, ...]]) -> str:
        return "".join(name + value for name in sorted(form) for value in form[name])

    def json_signed(self, request: WebhookRequest, signature: str | None) -> bool:
        stronger = request.header(SHA256_HEADER)
        if stronger:
            return any(
                hooks.same(signalwire_json_signature(self._secret, url, request.body, "sha256"), stronger)
                for url in port_variants(request.url)
            )
        if any(
            hooks.same(signalwire_json_signature(self._secret, url, request.body), signature)
            for url in port_variants(request.url)
        ):
            return True
        return body_sha256_signed(self, request, signature)

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        if request.header(self.signature_header) is None and request.header(ALIAS_HEADER) is not None:
            alias = request.header(ALIAS_HEADER) or ""
            request = dataclasses.replace(request, headers={**request.headers, self.signature_header: alias})
        events = super().read(request, now)
        call = request.json.get("call") if isinstance(request.json, dict) else None
        if events or not isinstance(call, dict) or not isinstance(call.get("call_id"), str):
            return events
        state = call.get("call_state")
        signature = request.header(SHA256_HEADER) or request.header(self.signature_header)
        return [
            self.event(
                call["call_id"],
                f"signature:{signature}",
                provider_status=state if isinstance(state, str) else None,
            )
        ]

    def setup(self, url: str) -> str:
        return (
            f"StatusCallback={url} with StatusCallbackEvent=initiated ringing answered completed when "
            "creating calls (or on <Dial><Number>), or the number's Status Change Webhook; the "
            "signature is checked with SIGNALWIRE_SIGNING_KEY"
        )


READER = SignalWireWebhook
