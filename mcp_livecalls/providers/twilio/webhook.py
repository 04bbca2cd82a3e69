"""Twilio's status callbacks and conference events, verified by ``X-Twilio-Signature``.

Facts (``shared/provider-docs/webhooks-and-next-providers.md`` §1, Twilio; twilio-python
``twilio/request_validator.py``): the signature is ``base64(HMAC-SHA1(auth token, s))`` where ``s``
is the URL followed by each form parameter's name and value, names sorted, a name's distinct
values sorted; it is checked against the URL with and without its port (Twilio's own signing is
inconsistent about it). A JSON body is signed with ``params={}`` and the URL's ``bodySHA256``
query parameter, the hex SHA-256 of the body, must match. No timestamp is signed: replays are
caught by the dedupe key (the signature). Call status callbacks carry ``CallSid``, ``CallStatus``
and ``SequenceNumber``; conference participant events carry ``StatusCallbackEvent``
(``participant-hold`` / ``participant-unhold``, blog "introducing conference events").
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import parse_qs, urlsplit, urlunsplit

from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.hooks import SecretReader, WebhookEvent, WebhookRefused, WebhookRequest
from mcp_livecalls.providers.reading import rest_call_status

__all__ = ["READER", "TwilioWebhook", "twilio_signature"]

SIGNATURE_HEADER = "x-twilio-signature"
_HOLD_EVENTS = {"participant-hold": CallStatus.ON_HOLD, "participant-unhold": CallStatus.IN_PROGRESS}


def twilio_signature(token: str, url: str, form: dict[str, tuple[str, ...]] | None) -> str:
    """The signature of ``url`` and ``form`` as twilio-python's ``compute_signature`` builds it."""
    text = url
    for name in sorted(form or {}):
        for value in sorted(set((form or {})[name])):
            text += name + value
    return hooks.b64_hmac(token, text, "sha1")


def _port_variants(url: str) -> tuple[str, str]:
    """``url`` without its port and with its (default) port."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    port = parts.port or (443 if parts.scheme == "https" else 80)
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, parts.fragment))


class TwilioWebhook(SecretReader):
    provider = ProviderName("twilio")
    signs_body = True
    verified_by = "auth_token"

    def read(self, request: WebhookRequest, now: datetime) -> list[WebhookEvent]:
        signature = request.header(SIGNATURE_HEADER)
        form: dict[str, tuple[str, ...]] = dict(request.form)
        if request.json is not None:
            declared = parse_qs(urlsplit(request.url).query).get("bodySHA256", [None])[0]
            if not hooks.same(hashlib.sha256(request.body).hexdigest(), declared):
                raise WebhookRefused("signature", "bodySHA256 does not match")
            form = {}
        variants = _port_variants(request.url)
        if not any(hooks.same(twilio_signature(self._secret, url, form), signature) for url in variants):
            raise WebhookRefused("signature", "X-Twilio-Signature does not match")
        call_id = request.param("CallSid")
        if not call_id or signature is None:
            return []
        event = request.param("StatusCallbackEvent") or ""
        status = _HOLD_EVENTS.get(event)
        raw_status = request.param("CallStatus")
        if status is None and raw_status:
            status = rest_call_status(raw_status)
        sequence = request.param("SequenceNumber")
        return [
            self.event(
                call_id,
                f"signature:{signature}",
                status=status,
                provider_status=event or raw_status,
                sequence=int(sequence) if sequence and sequence.isdigit() else None,
            )
        ]

    def setup(self, url: str) -> str:
        return (
            f"StatusCallback={url} with StatusCallbackEvent=initiated ringing answered completed when "
            "creating calls (or on <Dial><Number>), and statusCallback on conferences for hold events"
        )


READER = TwilioWebhook
