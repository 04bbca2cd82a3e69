"""Vapi's server messages: the secret token and the HMAC plan, as Vapi's documents define them.

The SDK (``vapi_server_sdk``) ships no verifier, only the types: its ``ServerMessage`` model is
the oracle for the bodies, and the HMAC signature is computed here the way its
``HmacAuthenticationPlan`` documents the default (sha256, hex, ``{timestamp}.{body}``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from vapi.types import ServerMessage

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookRefused, WebhookRequest, parse_request
from mcp_livecalls.providers.vapi.adapter import VapiSettings
from mcp_livecalls.providers.vapi.webhook import VapiWebhook, signed_payload
from mcp_livecalls.simulator import Simulator
from providers.kit import receiver

NOW = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
TOKEN = "vapi-server-secret-for-tests-0123"
HMAC_KEY = "vapi-hmac-secret-key-for-tests"
CALL = "b1d2c3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d"


def _body(kind: str = "status-update", **fields: Any) -> bytes:
    message = {
        "type": kind,
        "timestamp": 1796691595000,
        "call": {
            "id": CALL,
            "orgId": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "createdAt": "2026-12-08T00:58:10.000Z",
            "updatedAt": "2026-12-08T00:59:55.000Z",
        },
        **fields,
    }
    return json.dumps({"message": message}).encode()


def _request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return parse_request(
        "POST", "https://hooks.example/webhooks/vapi", {"content-type": "application/json", **headers}, body
    )


def _signature(body: bytes, stamp: str, key: str = HMAC_KEY) -> str:
    return hmac.new(key.encode(), signed_payload(stamp, body), hashlib.sha256).hexdigest()


def _reader(token: str = TOKEN, key: str = HMAC_KEY) -> VapiWebhook:
    reader = VapiWebhook.from_settings(
        VapiSettings(api_key=SecretStr("k"), server_secret=token, hmac_secret=key)
    )
    assert reader is not None
    return reader


@pytest.mark.parametrize(
    ("kind", "fields", "status", "word"),
    [
        ("status-update", {"status": "ringing"}, CallStatus.RINGING, "ringing"),
        ("status-update", {"status": "in-progress"}, CallStatus.IN_PROGRESS, "in-progress"),
        ("status-update", {"status": "forwarding"}, CallStatus.IN_PROGRESS, "forwarding"),
        (
            "status-update",
            {"status": "ended", "endedReason": "customer-ended-call"},
            CallStatus.ENDED,
            "ended",
        ),
        (
            "end-of-call-report",
            {"endedReason": "assistant-ended-call"},
            CallStatus.ENDED,
            "end-of-call-report",
        ),
        ("transcript", {"role": "user", "transcriptType": "final", "transcript": "hello"}, None, None),
    ],
)
def test_each_server_message_the_sdk_reads_gives_the_status_it_means(
    kind: str, fields: dict[str, Any], status: CallStatus | None, word: str | None
) -> None:
    body = _body(kind, **fields)
    assert ServerMessage.model_validate(json.loads(body)).message.type == kind  # the SDK's reading

    [event] = _reader().read(_request(body, {"x-vapi-secret": TOKEN}), NOW)

    assert (event.provider, event.call_id, event.kind, event.status, event.provider_status) == (
        ProviderName("vapi"),
        CALL,
        "apply",
        status,
        word,
    )


@pytest.mark.parametrize("headers", [{"x-vapi-secret": TOKEN}, {"authorization": f"Bearer {TOKEN}"}])
def test_the_token_is_taken_from_x_vapi_secret_or_a_bearer_header(headers: dict[str, str]) -> None:
    assert _reader().read(_request(_body(status="queued"), headers), NOW)


def test_a_body_signed_with_the_hmac_plan_is_taken_in_seconds_or_milliseconds_and_with_a_prefix() -> None:
    body = _body(status="queued")
    for stamp in (str(int(NOW.timestamp())), str(int(NOW.timestamp() * 1000))):
        for prefix in ("", "sha256="):
            headers = {"x-timestamp": stamp, "x-signature": prefix + _signature(body, stamp)}
            assert _reader(token="").read(_request(body, headers), NOW)


@pytest.mark.parametrize("case", ["wrong token", "no credential", "other key", "tampered body", "stale"])
def test_what_neither_credential_covers_is_refused(case: str) -> None:
    body = _body(status="in-progress")
    stamp = str(int((NOW - timedelta(minutes=5, seconds=1) if case == "stale" else NOW).timestamp()))
    headers = {
        "x-timestamp": stamp,
        "x-signature": _signature(body, stamp, "another" if case == "other key" else HMAC_KEY),
    }
    if case == "wrong token":
        headers = {"x-vapi-secret": TOKEN + "x"}
    if case == "no credential":
        headers = {}
    sent = body.replace(b"in-progress", b"ended") if case == "tampered body" else body

    with pytest.raises(WebhookRefused) as refused:
        _reader().read(_request(sent, headers), NOW)

    assert refused.value.reason == "signature"


def test_a_retry_has_the_same_dedupe_key_and_another_message_another() -> None:
    reader, headers = _reader(), {"x-vapi-secret": TOKEN}
    first = reader.read(_request(_body(status="ringing"), headers), NOW)
    retry = reader.read(_request(_body(status="ringing"), headers), NOW + timedelta(seconds=3))
    other = reader.read(_request(_body(status="in-progress"), headers), NOW)

    assert first[0].dedupe_key == retry[0].dedupe_key != other[0].dedupe_key


def test_a_message_about_no_call_gives_nothing_and_a_body_without_message_is_malformed() -> None:
    reader, headers = _reader(), {"x-vapi-secret": TOKEN}
    chat = json.dumps({"message": {"type": "chat.created", "chat": {"id": "c"}}}).encode()

    assert reader.read(_request(chat, headers), NOW) == []
    with pytest.raises(WebhookRefused) as refused:
        reader.read(_request(b'{"type": "status-update"}', headers), NOW)
    assert refused.value.reason == "malformed"


def test_without_either_secret_webhooks_stay_off() -> None:
    assert VapiWebhook.from_settings(VapiSettings(api_key=SecretStr("k"))) is None


@pytest.mark.anyio
async def test_a_vapi_message_with_its_token_is_taken_by_the_receiver_and_a_forged_one_refused(
    settings: Settings, simulator: Simulator
) -> None:
    body = _body(status="in-progress")
    headers = {"content-type": "application/json"}

    async with receiver(settings, simulator, "vapi", server_secret=TOKEN) as (url, http):
        taken = await http.post(
            f"{url}/webhooks/vapi", content=body, headers={**headers, "x-vapi-secret": TOKEN}
        )
        forged = await http.post(
            f"{url}/webhooks/vapi", content=body, headers={**headers, "x-vapi-secret": "no"}
        )

    assert (taken.status_code, forged.status_code, forged.content) == (204, 403, b"")
