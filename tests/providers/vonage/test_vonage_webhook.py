"""Vonage's webhook reader against vonage-jwt's ``verify_signature`` as the oracle.

Tokens are signed here with PyJWT the way Vonage signs its webhooks (HS256 with the signature
secret; ``iat``, ``jti``, ``payload_hash``); the SDK's verifier judges each one alongside the
reader, so a token the SDK refuses is refused here too.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr
from vonage_jwt.verify_jwt import verify_signature

from mcp_livecalls.core.models import CallStatus, ProviderName
from mcp_livecalls.providers.hooks import WebhookRefused, parse_request
from mcp_livecalls.providers.vonage.adapter import VonageSettings
from mcp_livecalls.providers.vonage.webhook import VonageWebhook

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
SECRET = "vonage-signature-secret-for-tests-0123"
CALL = "63f61863-4a51-4f6b-86e1-46edebcf9356"
BODY = json.dumps(
    {
        "uuid": CALL,
        "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
        "status": "completed",
        "direction": "outbound",
        "timestamp": "2026-12-07T19:59:58.000Z",
    }
)


def _token(
    body: str, *, secret: str = SECRET, at: datetime = NOW, jti: str = "e1f2", digest: str | None = None
) -> str:
    claims = {
        "iat": int(at.timestamp()),
        "jti": jti,
        "iss": "Vonage",
        "payload_hash": digest if digest is not None else hashlib.sha256(body.encode()).hexdigest(),
        "application_id": "aaaaaaaa-bbbb-4ccc-8ddd-000000000001",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _request(body: str, token: str | None):  # type: ignore[no-untyped-def]
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return parse_request("POST", "https://hooks.example/webhooks/vonage", headers, body.encode())


def _reader() -> VonageWebhook:
    settings = VonageSettings(
        application_id=SecretStr("app"), private_key=SecretStr("unused"), signature_secret=SECRET
    )
    reader = VonageWebhook.from_settings(settings)
    assert reader is not None
    return reader


def test_a_token_the_sdk_verifies_is_read_as_an_applicable_status() -> None:
    token = _token(BODY)
    assert verify_signature(token, SECRET)

    [event] = _reader().read(_request(BODY, token), NOW)

    assert (event.provider, event.call_id, event.kind, event.status, event.provider_status) == (
        ProviderName("vonage"),
        CALL,
        "apply",
        CallStatus.ENDED,
        "completed",
    )


def test_a_token_signed_with_another_secret_is_refused_by_both() -> None:
    token = _token(BODY, secret="another-secret-of-sixteen-or-more")

    assert not verify_signature(token, SECRET)
    with pytest.raises(WebhookRefused) as refused:
        _reader().read(_request(BODY, token), NOW)
    assert refused.value.reason == "signature"


@pytest.mark.parametrize("case", ["tampered body", "no payload_hash", "no token", "stale iat"])
def test_a_body_the_token_does_not_cover_or_an_old_token_is_refused(case: str) -> None:
    token = _token(
        BODY,
        digest="" if case == "no payload_hash" else None,
        at=NOW - timedelta(minutes=5, seconds=1) if case == "stale iat" else NOW,
    )
    body = BODY.replace("completed", "answered") if case == "tampered body" else BODY

    with pytest.raises(WebhookRefused) as refused:
        _reader().read(_request(body, None if case == "no token" else token), NOW)

    assert refused.value.reason == "signature"


def test_a_retry_has_the_same_dedupe_key_and_another_event_another() -> None:
    reader = _reader()
    first = reader.read(_request(BODY, _token(BODY)), NOW)
    retry = reader.read(_request(BODY, _token(BODY)), NOW + timedelta(seconds=3))
    other = reader.read(_request(BODY, _token(BODY, jti="e1f3")), NOW)

    assert first[0].dedupe_key == retry[0].dedupe_key != other[0].dedupe_key


@pytest.mark.parametrize("secret", ["", "short"])
def test_without_a_signature_secret_of_16_characters_webhooks_stay_off(secret: str) -> None:
    settings = VonageSettings(
        application_id=SecretStr("app"), private_key=SecretStr("unused"), signature_secret=secret
    )
    assert VonageWebhook.from_settings(settings) is None
