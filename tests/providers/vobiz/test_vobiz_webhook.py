"""Vobiz's webhook reader: V2 and V3 signatures over the URL and nonce; a callback is a hint only.

No Vobiz SDK is published to check against; the signatures follow docs.vobiz.ai's validating-callbacks
page (base64 HMAC-SHA256 of base URL + nonce, V3 with a ``.`` between), computed here by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from mcp_livecalls.providers.hooks import WebhookRefused, parse_request
from mcp_livecalls.providers.vobiz.webhook import VobizWebhook

TOKEN = "vobiz-auth-token-for-tests"
NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
URL = "https://hooks.example/webhooks/vobiz"
NONCE = "12345678901234567890"
BODY = b"CallUUID=vb-1&Event=Hangup&CallStatus=completed"


def _documented(message: str, token: str = TOKEN) -> str:
    return base64.b64encode(hmac.new(token.encode(), message.encode(), hashlib.sha256).digest()).decode()


def _request(headers: dict[str, str], url: str = URL):  # type: ignore[no-untyped-def]
    return parse_request("POST", url, {"content-type": "application/x-www-form-urlencoded", **headers}, BODY)


@pytest.mark.parametrize(
    ("version", "message"), [("V2", URL + NONCE), ("V3", URL + "." + NONCE)], ids=["v2", "v3"]
)
def test_a_signed_callback_is_a_hint_to_fetch_the_call_never_its_status(version: str, message: str) -> None:
    headers = {
        f"X-Vobiz-Signature-{version}": _documented(message),
        f"X-Vobiz-Signature-{version}-Nonce": NONCE,
    }

    [event] = VobizWebhook(TOKEN).read(_request(headers, URL + "?ignored=query"), NOW)

    assert (event.call_id, event.kind, event.status) == ("vb-1", "hint", None)


def test_the_parent_accounts_signature_is_accepted_too() -> None:
    headers = {"X-Vobiz-Signature-MA-V3": _documented(URL + "." + NONCE), "X-Vobiz-Signature-V3-Nonce": NONCE}

    assert len(VobizWebhook(TOKEN).read(_request(headers), NOW)) == 1


@pytest.mark.parametrize("case", ["wrong secret", "other nonce", "no signature", "v2 signature as v3"])
def test_a_request_not_signed_with_the_token_is_refused(case: str) -> None:
    signature = _documented(URL + "." + NONCE, "the-wrong-token" if case == "wrong secret" else TOKEN)
    if case == "v2 signature as v3":
        signature = _documented(URL + NONCE)
    headers = {"X-Vobiz-Signature-V3": signature, "X-Vobiz-Signature-V3-Nonce": NONCE}
    if case == "other nonce":
        headers["X-Vobiz-Signature-V3-Nonce"] = "09876543210987654321"
    if case == "no signature":
        headers = {}

    with pytest.raises(WebhookRefused) as refused:
        VobizWebhook(TOKEN).read(_request(headers), NOW)

    assert refused.value.reason == "signature"


def test_a_replay_with_another_call_id_has_the_same_dedupe_key_so_it_fetches_nothing_more() -> None:
    headers = {"X-Vobiz-Signature-V3": _documented(URL + "." + NONCE), "X-Vobiz-Signature-V3-Nonce": NONCE}
    replayed = parse_request(
        "POST", URL, {"content-type": "application/x-www-form-urlencoded", **headers}, b"CallUUID=vb-2"
    )

    assert (
        VobizWebhook(TOKEN).read(replayed, NOW)[0].dedupe_key
        == VobizWebhook(TOKEN).read(_request(headers), NOW)[0].dedupe_key
    )
