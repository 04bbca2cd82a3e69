"""Sign-in as the MCP authorization spec says: a real authorization server on loopback (its
metadata, a JWKS with keys made here, token introspection), tokens minted here with PyJWT, and
the server through the real MCP client over streamable HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ResourceTemplateReference, TextContent, TextResourceContents
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_livecalls.config import OAuthSettings, Settings
from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import Simulator, serve_asgi
from mcp_livecalls.web.front import http_app
from mcp_livecalls.web.oauth import JWKS_REFETCH_S, JWKS_RETRY_S, AuthServerError, OAuthGate, OAuthVerifier

AUDIENCE = "https://livecalls.example.com/mcp"
METADATA_URL = "https://livecalls.example.com/.well-known/oauth-protected-resource/mcp"
NOW = 1_900_000_000.0
CLIENT_ID = "livecalls-introspector"
CLIENT_SECRET = "introspection-secret-5c1e"
ALL = "livecalls:read livecalls:pii"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: PrivateKey

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        jwk: dict[str, Any]
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class AuthServer:
    """A tiny authorization server: RFC 8414 metadata, a JWKS, RFC 7662 introspection."""

    base_url: str = ""
    published: list[SigningKey] = field(default_factory=list)
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    jwks_requests: int = 0
    introspections: int = 0
    down: bool = False

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/calls"

    def app(self) -> Starlette:
        async def metadata(request: Request) -> Response:
            return JSONResponse({"issuer": self.issuer, "jwks_uri": f"{self.base_url}/jwks"})

        async def oidc_metadata(request: Request) -> Response:
            return JSONResponse(
                {"issuer": f"{self.base_url}/realms/oidc", "jwks_uri": f"{self.base_url}/jwks"}
            )

        async def jwks(request: Request) -> Response:
            self.jwks_requests += 1
            if self.down:
                return JSONResponse({"error": "maintenance"}, status_code=503)
            return JSONResponse({"keys": [key.jwk() for key in self.published]})

        async def introspect(request: Request) -> Response:
            self.introspections += 1
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            return JSONResponse(self.opaque.get(str(form.get("token")), {"active": False}))

        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server/realms/calls", metadata),
                Route("/realms/oidc/.well-known/openid-configuration", oidc_metadata),
                Route("/jwks", jwks),
                Route("/introspect", introspect, methods=["POST"]),
            ]
        )


RSA_KEY = SigningKey("rsa-1", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_KEY = SigningKey("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1()))
ED_KEY = SigningKey("ed-1", "EdDSA", ed25519.Ed25519PrivateKey.generate())
ROTATED_KEY = SigningKey("rsa-2", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    server = AuthServer()
    with serve_asgi(server.app(), name="auth-server") as url:
        server.base_url = url
        yield server


@pytest.fixture
def authority(auth_server: AuthServer) -> Iterator[AuthServer]:
    """The module's authorization server, with the three keys published and no opaque tokens."""
    auth_server.published = [RSA_KEY, EC_KEY, ED_KEY]
    auth_server.opaque = {}
    auth_server.jwks_requests = auth_server.introspections = 0
    auth_server.down = False
    yield auth_server
    auth_server.published = [RSA_KEY, EC_KEY, ED_KEY]
    auth_server.down = False


class WallClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def oauth(authority: AuthServer) -> OAuthSettings:
    return OAuthSettings(
        issuer=authority.issuer,
        audience=AUDIENCE,
        introspection_url=f"{authority.base_url}/introspect",
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
    )


@pytest.fixture
def verifier(oauth: OAuthSettings, wall: WallClock) -> OAuthVerifier:
    return OAuthVerifier(oauth, clock=wall)


def mint(
    authority: AuthServer,
    *,
    scope: str = ALL,
    key: SigningKey = RSA_KEY,
    kid: str | None = None,
    sub: str = "agent-7",
    **claims: Any,
) -> str:
    payload: dict[str, Any] = {
        "iss": authority.issuer,
        "aud": AUDIENCE,
        "sub": sub,
        "client_id": "claude-connector",
        "scope": scope,
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key.private, algorithm=key.algorithm, headers={"kid": kid or key.kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims(authority: AuthServer) -> dict[str, Any]:
    return {"iss": authority.issuer, "aud": AUDIENCE, "sub": "mallory", "scope": ALL, "exp": int(NOW) + 300}


# -- the verifier ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("key", [RSA_KEY, EC_KEY, ED_KEY], ids=lambda key: key.algorithm)
async def test_a_valid_token_signed_with_a_published_key_is_accepted_with_its_scopes_and_subject(
    authority: AuthServer, verifier: OAuthVerifier, key: SigningKey
) -> None:
    token = await verifier.verify_token(mint(authority, key=key, scope="livecalls:read livecalls:read:zudu"))

    assert token is not None
    assert token.scopes == ["livecalls:read", "livecalls:read:zudu"]
    assert (token.subject, token.client_id, token.resource) == ("agent-7", "claude-connector", AUDIENCE)
    assert token.expires_at == int(NOW) + 300


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("claims", "clock_moves"),
    [
        ({"exp": int(NOW) - 120}, 0.0),  # expired, beyond the leeway
        ({"exp": int(NOW) + 60}, 200.0),  # expired while the clock moved
        ({"nbf": int(NOW) + 600}, 0.0),  # not valid yet
        ({"iss": "https://other.example.com"}, 0.0),
        ({"aud": "https://elsewhere.example.com/mcp"}, 0.0),
        ({"aud": None}, 0.0),
        ({"exp": None}, 0.0),
    ],
    ids=[
        "expired",
        "expired-later",
        "not-yet-valid",
        "wrong-issuer",
        "wrong-audience",
        "no-audience",
        "no-exp",
    ],
)
async def test_a_token_outside_its_time_window_or_for_another_issuer_or_audience_is_refused(
    authority: AuthServer,
    verifier: OAuthVerifier,
    wall: WallClock,
    claims: dict[str, Any],
    clock_moves: float,
) -> None:
    token = mint(authority, **claims)
    wall.now += clock_moves

    assert await verifier.verify_token(token) is None


@pytest.mark.anyio
async def test_a_small_clock_skew_is_tolerated_within_the_leeway(
    authority: AuthServer, verifier: OAuthVerifier
) -> None:
    nearly = mint(authority, nbf=int(NOW) + 20, exp=int(NOW) - 20)

    assert await verifier.verify_token(nearly) is not None


@pytest.mark.anyio
async def test_an_audience_list_naming_this_resource_is_accepted(
    authority: AuthServer, verifier: OAuthVerifier
) -> None:
    token = mint(authority, aud=["https://other.example.com", AUDIENCE + "/"])

    assert await verifier.verify_token(token) is not None


@pytest.mark.anyio
async def test_an_unknown_kid_refetches_the_keys_once_a_minute_and_accepts_a_rotated_key(
    authority: AuthServer, verifier: OAuthVerifier, wall: WallClock
) -> None:
    assert await verifier.verify_token(mint(authority)) is not None
    assert authority.jwks_requests == 1
    rotated = mint(authority, key=ROTATED_KEY)

    before_rotation = await verifier.verify_token(rotated)  # unknown kid, keys fetched just now
    authority.published = [ROTATED_KEY]
    within_a_minute = await verifier.verify_token(rotated)
    requests_within_a_minute = authority.jwks_requests
    wall.now += JWKS_REFETCH_S
    after_a_minute = await verifier.verify_token(rotated)
    made_up_kids = [await verifier.verify_token(mint(authority, kid=f"made-up-{n}")) for n in range(5)]

    assert before_rotation is None
    assert within_a_minute is None
    assert requests_within_a_minute == 1  # the refetch waits a minute
    assert after_a_minute is not None
    assert made_up_kids == [None] * 5
    assert authority.jwks_requests == 2  # made-up kids do not hammer the authorization server


@pytest.mark.anyio
async def test_while_the_keys_cannot_be_fetched_verification_fails_loudly_and_recovers_after_a_pause(
    authority: AuthServer, verifier: OAuthVerifier, wall: WallClock
) -> None:
    authority.down = True
    token = mint(authority)

    with pytest.raises(AuthServerError):
        await verifier.verify_token(token)
    with pytest.raises(AuthServerError):
        await verifier.verify_token(token)  # no new request yet: the retry pauses
    requests_while_down = authority.jwks_requests
    authority.down = False
    wall.now += JWKS_RETRY_S
    recovered = await verifier.verify_token(token)

    assert requests_while_down == 1
    assert recovered is not None


@pytest.mark.anyio
async def test_an_issuer_with_only_openid_configuration_metadata_is_discovered(
    authority: AuthServer, wall: WallClock
) -> None:
    issuer = f"{authority.base_url}/realms/oidc"
    verifier = OAuthVerifier(OAuthSettings(issuer=issuer, audience=AUDIENCE), clock=wall)

    assert await verifier.verify_token(mint(authority, iss=issuer)) is not None
    assert await verifier.verify_token(mint(authority)) is None  # the other realm's issuer


@pytest.mark.anyio
async def test_a_configured_jwks_url_is_used_without_asking_for_metadata(
    authority: AuthServer, wall: WallClock
) -> None:
    issuer = "https://issuer-without-metadata.example.com"
    settings = OAuthSettings(issuer=issuer, audience=AUDIENCE, jwks_url=f"{authority.base_url}/jwks")

    token = await OAuthVerifier(settings, clock=wall).verify_token(mint(authority, iss=issuer))

    assert token is not None
    assert authority.jwks_requests == 1


@pytest.mark.anyio
async def test_the_gate_hands_the_verified_subject_to_the_app_for_per_caller_limits(
    authority: AuthServer, verifier: OAuthVerifier
) -> None:
    seen: list[object] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["state"]["livecalls_caller"])
        await JSONResponse({})(scope, receive, send)

    gate = OAuthGate(inner, verifier=verifier)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=gate), base_url="http://test") as http:
        await http.post("/mcp", headers={"Authorization": f"Bearer {mint(authority, sub='agent-42')}"})
        refused = await http.post("/mcp", headers={"Authorization": "Bearer not-a-token"})

    assert seen == ["agent-42"]
    assert refused.status_code == 401


@pytest.mark.anyio
async def test_an_unsigned_alg_none_token_is_refused(authority: AuthServer, verifier: OAuthVerifier) -> None:
    token = _unsigned({"alg": "none", "typ": "JWT", "kid": RSA_KEY.kid}, _claims(authority)) + "."

    assert await verifier.verify_token(token) is None


@pytest.mark.anyio
async def test_an_hs256_token_signed_with_the_public_key_is_refused(
    authority: AuthServer, verifier: OAuthVerifier
) -> None:
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": RSA_KEY.kid}, _claims(authority))
    signature = hmac.new(RSA_KEY.public_pem(), signing_input.encode(), hashlib.sha256).digest()

    assert await verifier.verify_token(f"{signing_input}.{_b64(signature)}") is None


@pytest.mark.anyio
async def test_a_token_signed_by_a_key_claiming_a_published_kid_is_refused(
    authority: AuthServer, verifier: OAuthVerifier
) -> None:
    forged = mint(authority, key=ROTATED_KEY, kid=RSA_KEY.kid)

    assert await verifier.verify_token(forged) is None


@pytest.mark.anyio
async def test_an_opaque_token_is_introspected_and_the_answer_cached_for_at_most_a_minute(
    authority: AuthServer, verifier: OAuthVerifier, wall: WallClock
) -> None:
    authority.opaque["opaque-1"] = {
        "active": True,
        "iss": authority.issuer,
        "aud": AUDIENCE,
        "sub": "agent-9",
        "client_id": "vs-code",
        "scope": "livecalls:read",
        "exp": int(NOW) + 3600,
    }

    first = await verifier.verify_token("opaque-1")
    again = await verifier.verify_token("opaque-1")
    after_first = authority.introspections
    wall.now += 61
    later = await verifier.verify_token("opaque-1")

    assert first is not None
    assert first.subject == "agent-9"
    assert first.scopes == ["livecalls:read"]
    assert again == first
    assert after_first == 1
    assert later is not None
    assert authority.introspections == 2


@pytest.mark.anyio
async def test_an_introspected_token_is_not_served_from_cache_past_its_expiry(
    authority: AuthServer, verifier: OAuthVerifier, wall: WallClock
) -> None:
    authority.opaque["short"] = {
        "active": True,
        "aud": AUDIENCE,
        "scope": "livecalls:read",
        "exp": int(NOW) + 10,
    }

    assert await verifier.verify_token("short") is not None
    wall.now += 45  # past exp + leeway, inside the 60 s cache window
    assert await verifier.verify_token("short") is None


@pytest.mark.anyio
async def test_an_opaque_token_with_dots_that_is_no_jwt_is_introspected(
    authority: AuthServer, verifier: OAuthVerifier
) -> None:
    authority.opaque["v1.opaque.7f3a"] = {"active": True, "aud": AUDIENCE, "scope": "livecalls:read"}

    token = await verifier.verify_token("v1.opaque.7f3a")

    assert token is not None
    assert authority.introspections == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        {"active": False},
        {"active": True, "aud": "https://elsewhere.example.com", "scope": "livecalls:read"},
        {"active": True, "aud": AUDIENCE, "iss": "https://other.example.com", "scope": "livecalls:read"},
    ],
    ids=["inactive", "other-audience", "other-issuer"],
)
async def test_an_inactive_or_foreign_opaque_token_is_refused(
    authority: AuthServer, verifier: OAuthVerifier, answer: dict[str, Any]
) -> None:
    authority.opaque["opaque-x"] = answer

    assert await verifier.verify_token("opaque-x") is None


def test_oauth_and_the_shared_token_together_are_a_config_error() -> None:
    env = {
        "LIVECALLS_HTTP_TOKEN": "shared",
        "LIVECALLS_OAUTH_ISSUER": "https://auth.example.com",
        "LIVECALLS_OAUTH_AUDIENCE": AUDIENCE,
    }

    with pytest.raises(ConfigError, match="choose one"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LIVECALLS_OAUTH_ISSUER": "https://auth.example.com"}, "LIVECALLS_OAUTH_AUDIENCE is not set"),
        (
            {"LIVECALLS_OAUTH_ISSUER": "auth.example.com", "LIVECALLS_OAUTH_AUDIENCE": AUDIENCE},
            "LIVECALLS_OAUTH_ISSUER must start with https://",
        ),
        (
            {
                "LIVECALLS_OAUTH_ISSUER": "https://auth.example.com",
                "LIVECALLS_OAUTH_AUDIENCE": AUDIENCE,
                "LIVECALLS_OAUTH_INTROSPECTION_URL": "https://auth.example.com/introspect",
            },
            "needs LIVECALLS_OAUTH_CLIENT_ID",
        ),
    ],
)
def test_incomplete_oauth_settings_are_a_config_error_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_oauth_settings_come_from_the_environment_and_the_client_secret_is_redacted() -> None:
    settings = Settings.from_env(
        {
            "LIVECALLS_OAUTH_ISSUER": "https://auth.example.com/realms/calls",
            "LIVECALLS_OAUTH_AUDIENCE": AUDIENCE,
            "LIVECALLS_OAUTH_JWKS_URL": "https://auth.example.com/keys",
            "LIVECALLS_OAUTH_INTROSPECTION_URL": "https://auth.example.com/introspect",
            "LIVECALLS_OAUTH_CLIENT_ID": CLIENT_ID,
            "LIVECALLS_OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        }
    )

    assert settings.oauth is not None
    assert (settings.oauth.issuer, settings.oauth.audience) == (
        "https://auth.example.com/realms/calls",
        AUDIENCE,
    )
    assert settings.oauth.jwks_url == "https://auth.example.com/keys"
    assert CLIENT_SECRET in settings.secrets()
    assert CLIENT_SECRET not in repr(settings)


def test_binding_beyond_loopback_with_oauth_is_allowed(settings: Settings, oauth: OAuthSettings) -> None:
    signed_in = settings.with_changes(oauth=oauth)

    app = http_app(create_server(signed_in), signed_in, host="0.0.0.0")  # noqa: S104 - the point

    assert app is not None


# -- over HTTP, through the real MCP client -------------------------------------------------------


@pytest.fixture
def mcp_url(
    settings: Settings, simulator: Simulator, oauth: OAuthSettings, verifier: OAuthVerifier
) -> Iterator[str]:
    signed_in = settings.with_changes(oauth=oauth)
    server = create_server(signed_in, now=simulator.clock.now)
    with serve_asgi(
        http_app(server, signed_in, host="127.0.0.1", verifier=verifier), name="mcp-oauth"
    ) as url:
        yield url


@asynccontextmanager
async def connected(url: str, token: str, *, mode: str = "auto") -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client


def _text(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def _post(url: str, headers: dict[str, str]) -> httpx2.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    return httpx2.post(
        f"{url}/mcp", json=body, headers={"Accept": "application/json, text/event-stream", **headers}
    )


def test_an_unauthenticated_request_gets_401_naming_the_resource_metadata(mcp_url: str) -> None:
    response = _post(mcp_url, {})

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{METADATA_URL}"' in challenge
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code without credentials


def test_an_invalid_token_gets_401_invalid_token(mcp_url: str, authority: AuthServer) -> None:
    response = _post(mcp_url, {"Authorization": f"Bearer {mint(authority, aud='https://elsewhere.example')}"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert f'resource_metadata="{METADATA_URL}"' in response.headers["WWW-Authenticate"]


def test_a_token_without_livecalls_read_gets_403_insufficient_scope_naming_it(
    mcp_url: str, authority: AuthServer
) -> None:
    response = _post(mcp_url, {"Authorization": f"Bearer {mint(authority, scope='livecalls:pii')}"})

    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="livecalls:read"' in challenge
    assert response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
)
def test_the_protected_resource_metadata_is_a_valid_rfc_9728_document(
    mcp_url: str, authority: AuthServer, path: str
) -> None:
    response = httpx2.get(f"{mcp_url}{path}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["resource"] == AUDIENCE  # RFC 9728 §3.3: the resource the client asked about
    assert document["authorization_servers"] == [authority.issuer]
    assert document["bearer_methods_supported"] == ["header"]
    assert {"livecalls:read", "livecalls:pii", "livecalls:read:zudu"} <= set(document["scopes_supported"])
    assert all(isinstance(value, str) for value in document["scopes_supported"])


async def _a_call_with_a_transcript(client: Client, simulator: Simulator) -> str:
    for candidate in simulator.population.live("zudu"):
        call = await client.call_tool("get_live_call", {"call_id": candidate.id, "provider": "zudu"})
        if (call.structured_content or {}).get("transcript"):
            return candidate.id
    raise AssertionError("the simulator has no Zudu call with a transcript")


@pytest.mark.anyio
async def test_a_full_token_sees_every_provider_with_numbers_and_transcripts(
    mcp_url: str, authority: AuthServer, simulator: Simulator
) -> None:
    with anyio.fail_after(30):
        async with connected(mcp_url, mint(authority)) as client:
            page = await client.call_tool("list_active_calls", {"limit": 100})
            talking = await _a_call_with_a_transcript(client, simulator)

    calls = (page.structured_content or {})["calls"]
    assert {c["provider"] for c in calls} == set(NAMES)
    assert any((c.get("from_number") or "").startswith("+") for c in calls)
    assert talking


@pytest.mark.anyio
async def test_without_livecalls_pii_numbers_keep_their_last_4_digits_and_transcripts_are_left_out(
    mcp_url: str, authority: AuthServer, simulator: Simulator
) -> None:
    with anyio.fail_after(30):
        async with connected(mcp_url, mint(authority)) as full:
            talking = await _a_call_with_a_transcript(full, simulator)
        async with connected(mcp_url, mint(authority, scope="livecalls:read")) as client:
            page = await client.call_tool("list_active_calls", {"limit": 100})
            call = await client.call_tool(
                "get_live_call", {"call_id": talking, "provider": "zudu", "detail": "full"}
            )
            stream = await client.call_tool("get_stream_details", {"call_id": talking, "provider": "zudu"})
            resource = await client.read_resource(f"livecalls://calls/zudu/{talking}")

    numbers = [
        c.get(side) for c in (page.structured_content or {})["calls"] for side in ("from_number", "to_number")
    ]
    assert numbers
    assert all(n is None or (n.startswith("…") and len(n) == 5) for n in numbers)
    structured = call.structured_content or {}
    assert not structured.get("transcript")
    assert "transcript" not in _text(call)
    assert all(
        n is None or n.startswith("…") for n in (structured.get("from_number"), structured.get("to_number"))
    )
    assert not (stream.structured_content or {}).get("transcript")
    content = resource.contents[0]
    assert isinstance(content, TextResourceContents)
    assert not json.loads(content.text).get("transcript")


@pytest.mark.anyio
async def test_a_provider_scoped_token_sees_only_its_provider_in_lists_and_overview(
    mcp_url: str, authority: AuthServer
) -> None:
    with anyio.fail_after(30):
        async with connected(mcp_url, mint(authority, scope="livecalls:read livecalls:read:zudu")) as client:
            page = await client.call_tool("list_active_calls", {"limit": 100})
            active = await client.read_resource("livecalls://calls/active")
            overview = await client.read_resource("livecalls://providers")

    assert {c["provider"] for c in (page.structured_content or {})["calls"]} == {"zudu"}
    active_body = active.contents[0]
    assert isinstance(active_body, TextResourceContents)
    assert {c["provider"] for c in json.loads(active_body.text)["calls"]} == {"zudu"}
    overview_body = overview.contents[0]
    assert isinstance(overview_body, TextResourceContents)
    configured = {p["name"] for p in json.loads(overview_body.text)["providers"] if p["configured"]}
    assert configured == {"zudu"}


@pytest.mark.anyio
async def test_a_provider_scoped_token_asking_for_another_provider_by_tool_is_told_the_missing_scope(
    mcp_url: str, authority: AuthServer, simulator: Simulator
) -> None:
    vobiz = simulator.population.live("vobiz")[0]
    with anyio.fail_after(30):
        async with connected(mcp_url, mint(authority, scope="livecalls:read livecalls:read:zudu")) as client:
            named = await client.call_tool("get_live_call", {"call_id": vobiz.id, "provider": "vobiz"})
            listed = await client.call_tool("list_active_calls", {"provider": "vobiz"})
            unnamed = await client.call_tool("get_live_call", {"call_id": vobiz.id})
            stream = await client.call_tool("get_stream_details", {"call_id": vobiz.id, "provider": "vobiz"})

    for refused in (named, listed, stream):
        assert refused.is_error
        assert "livecalls:read:vobiz" in _text(refused)
    assert unnamed.is_error  # without provider only zudu is asked, and it does not know the call
    assert vobiz.id not in json.dumps(unnamed.structured_content or {})


@pytest.mark.anyio
async def test_a_provider_scoped_token_reading_another_providers_resource_is_refused(
    mcp_url: str, authority: AuthServer, simulator: Simulator
) -> None:
    vobiz = simulator.population.live("vobiz")[0]
    with anyio.fail_after(30):
        async with connected(mcp_url, mint(authority, scope="livecalls:read livecalls:read:zudu")) as client:
            for uri in (f"livecalls://calls/vobiz/{vobiz.id}", f"livecalls://calls/vobiz/{vobiz.id}/stream"):
                with pytest.raises(MCPError) as refused:
                    await client.read_resource(uri)
                assert refused.value.error.code == INVALID_PARAMS
                assert "livecalls:read:vobiz" in refused.value.error.message


@pytest.mark.anyio
async def test_a_provider_scoped_token_completes_only_its_providers_and_their_call_ids(
    mcp_url: str, authority: AuthServer, simulator: Simulator
) -> None:
    template = ResourceTemplateReference(type="ref/resource", uri="livecalls://calls/{provider}/{call_id}")
    vobiz = simulator.population.live("vobiz")[0]
    with anyio.fail_after(30):
        async with connected(mcp_url, mint(authority, scope="livecalls:read livecalls:read:zudu")) as client:
            providers = await client.complete(template, {"name": "provider", "value": ""})
            elsewhere = await client.complete(
                template, {"name": "call_id", "value": ""}, {"provider": "vobiz"}
            )
            anywhere = await client.complete(template, {"name": "call_id", "value": ""})

    assert providers.completion.values == ["zudu"]
    assert elsewhere.completion.values == []
    assert anywhere.completion.values
    assert vobiz.id not in anywhere.completion.values
    zudu_ids = {c.id for c in [*simulator.population.live("zudu"), *simulator.population.queued("zudu")]}
    assert set(anywhere.completion.values) <= zudu_ids


@pytest.mark.anyio
async def test_a_provider_scoped_token_cannot_subscribe_to_another_providers_call(
    mcp_url: str, authority: AuthServer, simulator: Simulator
) -> None:
    vobiz = simulator.population.live("vobiz")[0]
    uri = f"livecalls://calls/vobiz/{vobiz.id}"
    token = mint(authority, scope="livecalls:read livecalls:read:zudu")
    with anyio.fail_after(30):
        async with connected(mcp_url, token, mode="legacy") as legacy:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resources/subscribe is deprecated in 2026-07-28
                with pytest.raises(MCPError) as subscribe:
                    await legacy.subscribe_resource(uri)
        async with connected(mcp_url, token) as modern:
            with pytest.raises(MCPError) as listen:
                async with modern.listen(resource_subscriptions=[uri]):
                    pass

    assert "livecalls:read:vobiz" in subscribe.value.error.message
    assert "livecalls:read:vobiz" in listen.value.error.message


@pytest.mark.anyio
async def test_a_cursor_minted_for_one_caller_is_refused_for_a_caller_with_other_providers(
    mcp_url: str, authority: AuthServer
) -> None:
    with anyio.fail_after(30):
        async with connected(
            mcp_url, mint(authority, scope="livecalls:read livecalls:read:zudu")
        ) as zudu_only:
            first = await zudu_only.call_tool("list_active_calls", {"limit": 1})
            cursor = (first.structured_content or {})["next_cursor"]
            own = await zudu_only.call_tool("list_active_calls", {"limit": 1, "cursor": cursor})
        async with connected(
            mcp_url, mint(authority, scope="livecalls:read livecalls:read:vobiz")
        ) as vobiz_only:
            other = await vobiz_only.call_tool("list_active_calls", {"limit": 1, "cursor": cursor})
        async with connected(mcp_url, mint(authority)) as everyone:
            unrestricted = await everyone.call_tool("list_active_calls", {"limit": 1, "cursor": cursor})

    assert cursor
    assert not own.is_error
    assert other.is_error
    assert "cursor is not valid" in _text(other)
    assert unrestricted.is_error
    assert "cursor is not valid" in _text(unrestricted)


@pytest.mark.anyio
async def test_without_livecalls_pii_a_number_filter_takes_only_the_last_4_digits(
    mcp_url: str, authority: AuthServer
) -> None:
    with anyio.fail_after(30):
        async with connected(mcp_url, mint(authority, scope="livecalls:read")) as client:
            full = await client.call_tool("list_active_calls", {"number": "+919148227303"})
            last_four = await client.call_tool("list_active_calls", {"number": "7303"})

    assert full.is_error
    assert "livecalls:pii" in _text(full)
    assert not last_four.is_error


def test_a_session_opened_with_one_persons_token_is_not_served_for_anothers(
    mcp_url: str, authority: AuthServer
) -> None:
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    alice = {"Authorization": f"Bearer {mint(authority, sub='alice')}"}
    bob = {"Authorization": f"Bearer {mint(authority, sub='bob')}"}
    with httpx2.Client(base_url=mcp_url, headers=accept, timeout=30) as http:
        opened = http.post("/mcp", json=initialize, headers=alice)
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
        as_bob = http.post("/mcp", json=ping, headers={**bob, **session})
        as_alice = http.post("/mcp", json=ping, headers={**alice, **session})

    assert as_bob.status_code == 404
    assert as_alice.status_code == 200


@pytest.mark.anyio
async def test_every_tool_call_is_audited_with_subject_client_tool_providers_and_outcome_never_the_token(
    mcp_url: str, authority: AuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = mint(authority, scope="livecalls:read livecalls:read:zudu", sub="supervisor-3")
    with caplog.at_level(logging.INFO, logger="mcp_livecalls.audit"), anyio.fail_after(30):
        async with connected(mcp_url, token) as client:
            await client.call_tool("list_active_calls", {"limit": 2})
            await client.call_tool("get_live_call", {"call_id": "CA1", "provider": "vobiz"})

    lines = [r.getMessage() for r in caplog.records if r.name == "mcp_livecalls.audit"]
    events = [json.loads(line.removeprefix("audit ")) for line in lines]
    assert [(e["tool"], e["providers"], e["outcome"]) for e in events] == [
        ("list_active_calls", ["zudu"], "ok"),
        ("get_live_call", ["vobiz"], "error"),
    ]
    assert {(e["subject"], e["client_id"]) for e in events} == {("supervisor-3", "claude-connector")}
    assert all(token not in line for line in lines)


def test_an_unreachable_authorization_server_is_a_503_not_a_401(
    settings: Settings, simulator: Simulator, wall: WallClock
) -> None:
    nowhere = OAuthSettings(issuer="http://127.0.0.1:9/realms/calls", audience=AUDIENCE)
    signed_in = settings.with_changes(oauth=nowhere)
    app = http_app(
        create_server(signed_in), signed_in, host="127.0.0.1", verifier=OAuthVerifier(nowhere, clock=wall)
    )
    with serve_asgi(app, name="mcp-oauth-down") as url:
        token = jwt.encode({"sub": "x"}, RSA_KEY.private, algorithm="RS256", headers={"kid": RSA_KEY.kid})
        response = _post(url, {"Authorization": f"Bearer {token}"})

    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def _open_session(url: str, token: str) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "session-cap-check", "version": "1"},
        },
    }
    return httpx2.post(
        f"{url}/mcp",
        json=body,
        headers={"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def capped_url(
    settings: Settings, simulator: Simulator, oauth: OAuthSettings, verifier: OAuthVerifier
) -> Iterator[str]:
    signed_in = settings.with_changes(oauth=oauth, max_sessions_per_caller=2)
    server = create_server(signed_in, now=simulator.clock.now)
    with serve_asgi(
        http_app(server, signed_in, host="127.0.0.1", verifier=verifier), name="mcp-capped"
    ) as url:
        yield url


def test_session_caps_count_signed_in_callers_by_subject_not_by_address(
    capped_url: str, authority: AuthServer
) -> None:
    alice, bob = mint(authority, sub="alice"), mint(authority, sub="bob")

    opened = [_open_session(capped_url, alice).status_code for _ in range(3)]
    for_bob = _open_session(capped_url, bob)

    assert opened == [200, 200, 429]  # alice's third session is over her cap of 2
    assert for_bob.status_code == 200  # from the same address, bob is another caller


def test_metrics_need_a_valid_token_under_sign_in(mcp_url: str, authority: AuthServer) -> None:
    anonymous = httpx2.get(f"{mcp_url}/metrics")
    signed_in = httpx2.get(f"{mcp_url}/metrics", headers={"Authorization": f"Bearer {mint(authority)}"})

    assert anonymous.status_code == 401
    assert "resource_metadata=" in anonymous.headers["WWW-Authenticate"]
    assert signed_in.status_code == 200
    assert "livecalls_" in signed_in.text
