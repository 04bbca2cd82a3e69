"""Plivo's webhook reader against plivo-python's ``signature_v3`` as the oracle, both ways."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3, validate_v3_signature

from mcp_livecalls.core.models import CallStatus
from mcp_livecalls.providers.hooks import WebhookRefused, b64_hmac, parse_request
from mcp_livecalls.providers.plivo.webhook import PlivoWebhook, plivo_v3_base

TOKEN = "plivo-auth-token-for-tests"
NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
UUID = "0b8e3f3c-1f2a-4c6e-9d1b-5a7c2e4f6a8b"
PARAMS = {"CallUUID": UUID, "CallStatus": "in-progress", "Direction": "outbound", "From": "15550199"}
NONCE = "12345678901234567890"


def _sdk_signature(url: str, params: dict[str, str], nonce: str = NONCE, token: str = TOKEN) -> str:
    base = construct_post_url(url, dict(params)).decode()
    signature: bytes = get_signature_v3(token.encode(), base, nonce.encode())
    return signature.decode()


def _request(url: str, signature: str, params: dict[str, str] = PARAMS, nonce: str = NONCE):  # type: ignore[no-untyped-def]
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "X-Plivo-Signature-V3": signature,
        "X-Plivo-Signature-V3-Nonce": nonce,
    }
    return parse_request("POST", url, headers, urlencode(params).encode())


@pytest.mark.parametrize(
    "url", ["https://hooks.example/webhooks/plivo", "https://hooks.example/webhooks/plivo?b=2&a=1"]
)
def test_a_callback_the_sdk_signs_is_read_as_an_applicable_status(url: str) -> None:
    [event] = PlivoWebhook(TOKEN).read(_request(url, _sdk_signature(url, PARAMS)), NOW)

    assert (event.call_id, event.kind, event.status) == (UUID, "apply", CallStatus.IN_PROGRESS)


@pytest.mark.parametrize(
    "url", ["https://hooks.example/webhooks/plivo", "https://hooks.example/webhooks/plivo?b=2&a=1"]
)
def test_our_signature_is_what_the_sdk_validates(url: str) -> None:
    ours = b64_hmac(TOKEN, f"{plivo_v3_base(url, {k: (v,) for k, v in PARAMS.items()})}.{NONCE}")

    assert validate_v3_signature("POST", url, NONCE, TOKEN, ours, dict(PARAMS))


def test_one_of_several_signatures_in_the_header_is_enough() -> None:
    url = "https://hooks.example/webhooks/plivo"
    header = f"bm90LXRoaXMtb25l,{_sdk_signature(url, PARAMS)}"

    assert validate_v3_signature("POST", url, NONCE, TOKEN, header, dict(PARAMS))
    assert len(PlivoWebhook(TOKEN).read(_request(url, header), NOW)) == 1


@pytest.mark.parametrize("case", ["wrong secret", "tampered body", "other nonce", "no signature"])
def test_a_request_not_signed_with_the_token_is_refused(case: str) -> None:
    url = "https://hooks.example/webhooks/plivo"
    signature = _sdk_signature(url, PARAMS, token="the-wrong-token" if case == "wrong secret" else TOKEN)
    params = {**PARAMS, "CallStatus": "completed"} if case == "tampered body" else PARAMS
    nonce = "09876543210987654321" if case == "other nonce" else NONCE

    with pytest.raises(WebhookRefused) as refused:
        PlivoWebhook(TOKEN).read(
            _request(url, "" if case == "no signature" else signature, params, nonce), NOW
        )

    assert refused.value.reason == "signature"


def test_a_replay_has_the_same_dedupe_key() -> None:
    url = "https://hooks.example/webhooks/plivo"
    request = _request(url, _sdk_signature(url, PARAMS))

    assert (
        PlivoWebhook(TOKEN).read(request, NOW)[0].dedupe_key
        == PlivoWebhook(TOKEN).read(request, NOW)[0].dedupe_key
    )
