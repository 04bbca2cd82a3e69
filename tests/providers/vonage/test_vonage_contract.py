"""Vonage against its SDK's bodies: each answer, typed in a fixture, through the real adapter.

The fixtures stand for vonage-python-sdk's ``voice/tests/data`` bodies (each says which, and what
was changed to make a call live); the requests carry an RS256 JWT that PyJWT verifies with the
application's public key, with the claims the SDK's ``JwtClient`` writes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest
from contract.harness import Upstream, fixture
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from mcp_livecalls.core.models import CallStatus, Direction, LiveCall, ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound, ConfigError
from mcp_livecalls.providers.vonage.adapter import VonageProvider, VonageSettings
from mcp_livecalls.upstream.policy import HttpPolicy
from providers.kit import documented

pytestmark = pytest.mark.anyio

NOW = datetime(2024, 4, 18, 16, 3, 51, tzinfo=UTC)
APPLICATION = "aaaaaaaa-bbbb-4ccc-8ddd-000000000001"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
CALLS = "/v1/calls"
FIRST = "1acdf499-83ae-4861-a694-9e47a98c505d"
SECOND = "106a581a-34d0-432a-a625-220221fd434f"


def adapter(upstream: Upstream, pem: str = PEM) -> VonageProvider:
    settings = VonageSettings(application_id=SecretStr(APPLICATION), private_key=SecretStr(pem))
    return documented(VonageProvider, settings, upstream, NOW, HttpPolicy(retry_attempts=1))


def lists(upstream: Upstream) -> Upstream:
    return (
        upstream.on(
            "GET",
            CALLS,
            fixture("vonage", "answered_last_page"),
            params={"status": "answered", "record_index": "2"},
        )
        .on("GET", CALLS, fixture("vonage", "answered_page"), params={"status": "answered"})
        .on("GET", CALLS, fixture("vonage", "empty_page"), params={"status": "started"})
        .on("GET", CALLS, fixture("vonage", "empty_page"), params={"status": "ringing"})
    )


async def test_the_live_lists_follow_the_next_link_and_read_the_documented_call() -> None:
    upstream = lists(Upstream())

    found = await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert found.items[0].call == LiveCall(
        provider=ProviderName("vonage"),
        call_id=FIRST,
        status=CallStatus.IN_PROGRESS,
        provider_status="answered",
        direction=Direction.OUTBOUND,
        from_number="9876543210",  # E.164 digits as Vonage writes them; the server adds the +
        to_number="1234567890",
        started_at=datetime(2024, 4, 18, 16, 1, 51, tzinfo=UTC),
        duration_s=120,
    )
    assert [item.call.call_id for item in found.items] == [FIRST, SECOND]
    asked = sorted(
        (r.url.params.get("status"), r.url.params.get("record_index", "")) for r in upstream.requests
    )
    assert asked == [("answered", ""), ("answered", "2"), ("ringing", ""), ("started", "")]
    assert {r.url.params.get("page_size") for r in upstream.requests} == {"100"}


async def test_every_request_carries_the_applications_rs256_jwt_with_the_sdks_claims() -> None:
    upstream = lists(Upstream())

    await adapter(upstream).list_active(ListQuery(), 0, 10)

    for request in upstream.requests:
        scheme, _, token = request.headers["authorization"].partition(" ")
        claims = jwt.decode(token, KEY.public_key(), algorithms=["RS256"])
        assert scheme == "Bearer"
        assert claims["application_id"] == APPLICATION
        assert claims["exp"] - claims["iat"] == 15 * 60
        assert claims["jti"]


async def test_a_ringing_call_is_live_and_a_completed_one_is_not() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{FIRST}", fixture("vonage", "call_ringing"))
        .on("GET", f"{CALLS}/e154eb57-2962-41e7-baf4-90f63e25e439", fixture("vonage", "call_completed"))
    )
    provider = adapter(upstream)

    with pytest.raises(CallNotFound):
        await provider.get_call("e154eb57-2962-41e7-baf4-90f63e25e439")
    upstream = Upstream().on(
        "GET", "/v1/calls/e154eb57-2962-41e7-baf4-90f63e25e439", fixture("vonage", "call_ringing")
    )
    ringing = await adapter(upstream).get_call("e154eb57-2962-41e7-baf4-90f63e25e439")

    assert (ringing.status, ringing.provider_status, ringing.from_number) == (
        CallStatus.RINGING,
        "ringing",
        "9876543210",
    )


async def test_a_401_names_the_application_variables_and_never_the_key() -> None:
    upstream = Upstream().on("GET", CALLS, fixture("vonage", "error_401"))

    with pytest.raises(AuthError) as raised:
        await adapter(upstream).list_active(ListQuery(), 0, 10)

    assert "VONAGE_APPLICATION_ID" in str(raised.value)
    assert "PRIVATE KEY" not in str(raised.value)


def test_a_private_key_that_is_not_pem_is_a_config_error_that_does_not_quote_it() -> None:
    with pytest.raises(ConfigError) as raised:
        adapter(Upstream(), pem="not-a-key-secret-material")

    assert "VONAGE_PRIVATE_KEY" in str(raised.value)
    assert "secret-material" not in str(raised.value)


def test_a_key_with_escaped_newlines_as_an_environment_variable_holds_it_is_read() -> None:
    assert adapter(Upstream(), pem=PEM.replace("\n", "\\n")).name.value == "vonage"
