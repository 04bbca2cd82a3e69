"""A remote client signing in as the MCP authorization spec says, with the TypeScript SDK 1.x.

Claude's custom connectors, mcp-remote, VS Code and the Inspector are built on the TypeScript SDK.
Pointed at ``mcp-livecalls serve`` with OAuth configured, the SDK must get from a bare 401 to the
authorization server's login page on its own: the 401's ``resource_metadata`` (RFC 9728), the
protected resource metadata, the authorization server's metadata (RFC 8414), and an authorization
request for this resource (RFC 8707) with PKCE. No dynamic client registration is asked of this
server (the connector here is pre-registered). A real authorization server's metadata is served on
loopback; the login itself is the authorization server's business and is not run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_livecalls.simulator import serve_asgi

from .harness import CLIENT_TIMEOUT_S, HERE, free_port, http_server, server_env, unavailable
from .install import ClientUnavailable, ts_client


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """An authorization server's RFC 8414 metadata (and an empty JWKS) on loopback."""
    base: list[str] = []

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": base[0],
                "authorization_endpoint": f"{base[0]}/authorize",
                "token_endpoint": f"{base[0]}/token",
                "jwks_uri": f"{base[0]}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse({"keys": []})

    app = Starlette(
        routes=[
            Route("/.well-known/oauth-authorization-server", metadata),
            Route("/jwks", jwks),
        ]
    )
    with serve_asgi(app, name="authorization-server") as url:
        base.append(url)
        yield url


def discover(mcp_url: str) -> dict[str, Any]:
    try:
        modules = ts_client() / "node_modules"
    except ClientUnavailable as exc:
        unavailable(str(exc))
    finished = subprocess.run(  # noqa: S603 - our own script
        ["node", str(HERE / "oauth_discovery.mjs"), str(modules), mcp_url],  # noqa: S607
        capture_output=True,
        timeout=CLIENT_TIMEOUT_S,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    report: dict[str, Any] = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    return report


def test_the_typescript_sdk_finds_its_way_from_a_401_to_the_authorization_server(issuer: str) -> None:
    port = free_port()
    mcp_url = f"http://127.0.0.1:{port}/mcp"
    env = {**server_env(None), "LIVECALLS_OAUTH_ISSUER": issuer, "LIVECALLS_OAUTH_AUDIENCE": mcp_url}

    with http_server(env, options=("--demo",), token=None, port=port) as url:
        assert url == mcp_url
        report = discover(mcp_url)

    assert "Unauthorized" in report["refused"], report  # no token: no session, only the way to sign in
    discovery = report["discovery"]
    resource = discovery["resourceMetadata"]
    assert resource["resource"] == mcp_url
    assert resource["authorization_servers"] == [issuer]
    assert "livecalls:read" in resource["scopes_supported"]
    assert discovery["authorizationServerMetadata"]["issuer"] == issuer

    login = urlsplit(report["authorization_url"])
    query = {key: values[0] for key, values in parse_qs(login.query).items()}
    assert f"{login.scheme}://{login.netloc}{login.path}" == f"{issuer}/authorize"
    assert query["client_id"] == "pre-registered-connector"
    assert query["resource"] == mcp_url  # RFC 8707: a token for this server, and only this one
    assert query["code_challenge_method"] == "S256"
    assert "livecalls:read" in query["scope"].split()
