"""Retell AI's webhook reader against retell-sdk's ``webhook_auth`` as the oracle, both ways."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from retell.lib.webhook_auth import symmetric

from mcp_livecalls.core.models import CallStatus
from mcp_livecalls.providers.hooks import WebhookRefused, parse_request
from mcp_livecalls.providers.retell.webhook import RetellWebhook, retell_signature

KEY = "retell-api-key-for-tests"
NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
BODY = json.dumps({"event": "call_ended", "call": {"call_id": "call_abc", "call_status": "ended"}})


def _request(body: str, signature: str):  # type: ignore[no-untyped-def]
    headers = {"content-type": "application/json", "x-retell-signature": signature}
    return parse_request("POST", "https://hooks.example/webhooks/retell", headers, body.encode())


def test_a_webhook_the_sdk_signs_is_read_as_an_applicable_status() -> None:
    signature = symmetric["sign"](BODY, KEY, NOW_MS - 1000)

    [event] = RetellWebhook(KEY).read(_request(BODY, signature), NOW)

    assert (event.call_id, event.kind, event.status, event.provider_status) == (
        "call_abc",
        "apply",
        CallStatus.ENDED,
        "call_ended",
    )


def test_our_signature_is_what_the_sdk_verifies_inside_its_window_and_refuses_outside() -> None:
    ours = retell_signature(KEY, BODY.encode(), NOW_MS)

    assert symmetric["verify"](BODY, KEY, ours, {"timestamp": NOW_MS + 299_000})
    assert not symmetric["verify"](BODY, KEY, ours, {"timestamp": NOW_MS + 301_000})


@pytest.mark.parametrize(
    ("late", "accepted"), [(timedelta(minutes=4, seconds=59), True), (timedelta(minutes=5, seconds=1), False)]
)
def test_the_five_minute_window_is_judged_against_the_injected_clock(late: timedelta, accepted: bool) -> None:
    signature = symmetric["sign"](BODY, KEY, NOW_MS)
    reader = RetellWebhook(KEY)

    if accepted:
        assert len(reader.read(_request(BODY, signature), NOW + late)) == 1
        assert len(reader.read(_request(BODY, signature), NOW - late)) == 1
    else:
        for when in (NOW + late, NOW - late):
            with pytest.raises(WebhookRefused):
                reader.read(_request(BODY, signature), when)


@pytest.mark.parametrize("case", ["wrong secret", "tampered body", "no signature", "malformed header"])
def test_a_request_not_signed_with_the_key_is_refused(case: str) -> None:
    signature = symmetric["sign"](BODY, "the-wrong-key" if case == "wrong secret" else KEY, NOW_MS)
    body = BODY.replace("ended", "ongoing") if case == "tampered body" else BODY
    header = {"no signature": "", "malformed header": f"{signature}00"}.get(case, signature)

    with pytest.raises(WebhookRefused) as refused:
        RetellWebhook(KEY).read(_request(body, header), NOW)

    assert refused.value.reason == "signature"
    assert not symmetric["verify"](body, KEY, header, {"timestamp": NOW_MS})


def test_a_retry_of_the_same_event_has_the_same_dedupe_key() -> None:
    first = RetellWebhook(KEY).read(_request(BODY, symmetric["sign"](BODY, KEY, NOW_MS)), NOW)
    retry = RetellWebhook(KEY).read(_request(BODY, symmetric["sign"](BODY, KEY, NOW_MS + 2000)), NOW)

    assert first[0].dedupe_key == retry[0].dedupe_key
