"""Twilio's status callbacks and conference events, verified by ``X-Twilio-Signature``.

Facts (``shared/provider-docs/webhooks-and-next-providers.md`` §1, Twilio; twilio-python
``twilio/request_validator.py``): the signature is ``base64(HMAC-SHA1(auth token, s))`` where ``s``
is the URL followed by each form parameter's name and value, names sorted, a name's distinct
values sorted; it is checked against the URL with and without its port. A JSON body is signed with
``params={}`` and the URL's ``bodySHA256`` query parameter, the hex SHA-256 of the body, must match.
Call status callbacks carry ``CallSid``, ``CallStatus`` and ``SequenceNumber``; conference
participant events carry ``StatusCallbackEvent`` (``participant-hold`` / ``participant-unhold``,
blog "introducing conference events"). The reading is the family's (``families/twilio_webhook.py``).
"""

from __future__ import annotations

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers import hooks
from mcp_livecalls.providers.families.twilio_webhook import (
    FormSignedReader,
    body_sha256_signed,
    sorted_form_text,
)
from mcp_livecalls.providers.hooks import WebhookRequest

__all__ = ["READER", "TwilioWebhook", "twilio_signature"]

SIGNATURE_HEADER = "x-twilio-signature"


def twilio_signature(token: str, url: str, form: dict[str, tuple[str, ...]] | None) -> str:
    """The signature of ``url`` and ``form`` as twilio-python's ``compute_signature`` builds it."""
    return hooks.b64_hmac(token, url + sorted_form_text(form), "sha1")


class TwilioWebhook(FormSignedReader):
    provider = ProviderName("twilio")
    verified_by = "auth_token"
    signature_header = SIGNATURE_HEADER
    signature_words = "X-Twilio-Signature"

    def json_signed(self, request: WebhookRequest, signature: str | None) -> bool:
        return body_sha256_signed(self, request, signature)

    def setup(self, url: str) -> str:
        return (
            f"StatusCallback={url} with StatusCallbackEvent=initiated ringing answered completed when "
            "creating calls (or on <Dial><Number>), and statusCallback on conferences for hold events"
        )


READER = TwilioWebhook
