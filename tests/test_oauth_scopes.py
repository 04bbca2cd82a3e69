"""Which scopes a token grants, and which a client is told to request (issue #25, findings 5 and 6).

One claim is read — the first present of ``scope``, ``scp``, ``permissions`` — and a string is
split on plain spaces only (RFC 6749 §3.3), so neither a second claim nor a look-alike separator
adds ``livecalls:pii``. The 401 names ``LIVECALLS_OAUTH_SCOPES`` (default ``livecalls:read``):
real clients request exactly what it names. Uses the authorization server of ``test_oauth``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from test_oauth import (  # the same authorization server and helpers
    AUDIENCE,
    AuthServer,
    auth_server,
    authority,
    mint,
    oauth,
    verifier,
    wall,
)

from mcp_livecalls.config import OAuthSettings, Settings
from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.core.views import CallerView, supported_scopes
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import Simulator, serve_asgi
from mcp_livecalls.web.front import http_app
from mcp_livecalls.web.oauth import OAuthVerifier
from mcp_livecalls.web.tokens import granted_scopes

__all__ = ["auth_server", "authority", "oauth", "verifier", "wall"]  # fixtures used here

PII = "livecalls:pii"


@pytest.mark.parametrize(
    ("claims", "granted"),
    [
        ({"scope": "livecalls:read livecalls:pii"}, ["livecalls:read", PII]),
        ({"scope": "livecalls:read\u00a0livecalls:pii"}, ["livecalls:read\u00a0livecalls:pii"]),
        ({"scope": "livecalls:read\tlivecalls:pii"}, ["livecalls:read\tlivecalls:pii"]),
        ({"scope": "livecalls:read  livecalls:pii "}, ["livecalls:read", PII]),
        ({"scope": "livecalls:read", "scp": PII}, ["livecalls:read"]),
        ({"scope": "livecalls:read", "permissions": [PII]}, ["livecalls:read"]),
        ({"scp": ["livecalls:read", PII]}, ["livecalls:read", PII]),
        ({"scp": "livecalls:read livecalls:pii"}, ["livecalls:read", PII]),
        ({"scope": None, "permissions": ["livecalls:read"]}, ["livecalls:read"]),
        ({"scope": 7, "scp": ["livecalls:read"]}, []),
        ({}, []),
    ],
    ids=[
        "spaces",
        "no-break-space",
        "tab",
        "repeated-spaces",
        "scope-then-scp",
        "scope-then-permissions",
        "scp-list",
        "scp-string",
        "null-scope",
        "malformed-scope",
        "none",
    ],
)
def test_scopes_come_from_the_first_claim_present_split_on_plain_spaces(
    claims: dict[str, Any], granted: list[str]
) -> None:
    assert granted_scopes(claims) == granted


@pytest.mark.anyio
async def test_a_look_alike_separator_or_a_second_claim_does_not_grant_pii(
    authority: AuthServer, verifier: OAuthVerifier
) -> None:
    spoofed = await verifier.verify_token(mint(authority, scope="livecalls:read\u00a0livecalls:pii"))
    unioned = await verifier.verify_token(mint(authority, scope="livecalls:read", scp=PII))

    assert spoofed is not None
    assert "livecalls:read" not in spoofed.scopes  # so the gate refuses it: no livecalls:read
    assert unioned is not None
    assert unioned.scopes == ["livecalls:read"]
    assert not CallerView.from_scopes(unioned.scopes).pii


def _env(scopes: str) -> dict[str, str]:
    return {
        "LIVECALLS_OAUTH_ISSUER": "https://auth.example.com",
        "LIVECALLS_OAUTH_AUDIENCE": AUDIENCE,
        "LIVECALLS_OAUTH_SCOPES": scopes,
    }


def test_the_scopes_clients_are_told_to_request_are_configurable() -> None:
    default = Settings.from_env({**_env(""), "LIVECALLS_OAUTH_SCOPES": ""}).oauth
    both = Settings.from_env(_env("livecalls:read livecalls:pii")).oauth

    assert default is not None
    assert default.scopes == ("livecalls:read",)
    assert both is not None
    assert both.scopes == ("livecalls:read", PII)


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ("livecalls:read livecalls:write", "unknown scopes livecalls:write"),
        ("livecalls:pii", "must include livecalls:read"),
    ],
)
def test_requested_scopes_must_be_known_and_include_read(scopes: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(_env(scopes))


@pytest.fixture
def pii_url(settings: Settings, simulator: Simulator, oauth: OAuthSettings, wall: Any) -> Iterator[str]:
    asking = replace(oauth, scopes=("livecalls:read", PII))
    signed_in = settings.with_changes(oauth=asking)
    server = create_server(signed_in, now=simulator.clock.now)
    app = http_app(server, signed_in, host="127.0.0.1", verifier=OAuthVerifier(asking, clock=wall))
    with serve_asgi(app, name="mcp-oauth-pii") as url:
        yield url


def test_the_401_and_403_name_the_configured_scopes(pii_url: str, authority: AuthServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    anonymous = httpx2.post(f"{pii_url}/mcp", json=body, headers=accept)
    unread = httpx2.post(
        f"{pii_url}/mcp",
        json=body,
        headers={**accept, "Authorization": f"Bearer {mint(authority, scope=PII)}"},
    )

    assert anonymous.status_code == 401
    assert 'scope="livecalls:read livecalls:pii"' in anonymous.headers["WWW-Authenticate"]
    assert unread.status_code == 403
    assert 'error="insufficient_scope"' in unread.headers["WWW-Authenticate"]
    assert 'scope="livecalls:read livecalls:pii"' in unread.headers["WWW-Authenticate"]


def test_the_readme_scope_table_names_every_scope_and_the_form_of_a_providers() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("### Scopes") : readme.index("### Authorization servers")]
    per_provider = {f"livecalls:read:{name}" for name in NAMES}

    assert per_provider <= set(supported_scopes())
    for scope in set(supported_scopes()) - per_provider:
        assert f"`{scope}`" in table, scope
    # One form for every provider, so that adding one changes nothing here.
    assert "`livecalls:read:<provider>`" in table
    assert "LIVECALLS_OAUTH_SCOPES" in table
