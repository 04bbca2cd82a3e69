"""Sign-in end to end with a real authorization server (issue #25): panva's ``oidc-provider`` on
loopback (dynamic registration, PKCE, RFC 8707 resource indicators, JWT access tokens) and the
official TypeScript SDK 1.x client's OAuth, against ``mcp-livecalls serve --transport http``.

With ``LIVECALLS_OAUTH_SCOPES="livecalls:read livecalls:pii"`` the 401 names both scopes, the
client requests both, and the authorization server's policy decides: a person it grants
``livecalls:pii`` sees full numbers, a person it does not sees the last 4 digits.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from mcp_livecalls.simulator import ManualClock, Simulator, serve_simulator

from .harness import (
    HERE,
    SERVER_START_TIMEOUT_S,
    ClientRunFailed,
    ForeignClient,
    _stop,
    free_port,
    http_server,
    run_client,
    server_env,
    unavailable,
)
from .install import ClientUnavailable, oidc_provider, ts_client

POLICY = {"alice": ["livecalls:read", "livecalls:pii"], "bob": ["livecalls:read"]}
"""Who may see what, as the authorization server's policy says (alice: a supervisor)."""


@contextlib.contextmanager
def authorization_server(resource: str) -> Iterator[str]:
    """``oidc_server.mjs`` on a free loopback port; yields its issuer."""
    try:
        modules = oidc_provider() / "node_modules"
    except ClientUnavailable as exc:
        unavailable(str(exc))
    config = {"port": free_port(), "resource": resource, "policy": POLICY, "person": "alice"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - our own command line
        ["node", str(HERE / "oidc_server.mjs"), str(modules), json.dumps(config)],  # noqa: S607
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # written once it listens
        if not line:
            log.seek(0)
            raise ClientRunFailed(
                f"oidc-provider did not start: {log.read().decode(errors='replace')[-2000:]}"
            )
        issuer: str = json.loads(line)["issuer"]
        yield issuer
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def signed_in() -> Iterator[tuple[str, str]]:
    """(the MCP URL, the issuer): the server signs people in with oidc-provider."""
    port = free_port()
    mcp_url = f"http://127.0.0.1:{port}/mcp"
    with (
        serve_simulator(Simulator(seed=7, clock=ManualClock.starting_now())) as sim_url,
        authorization_server(mcp_url) as issuer,
    ):
        env = {
            **server_env(sim_url),
            "LIVECALLS_OAUTH_ISSUER": issuer,
            "LIVECALLS_OAUTH_AUDIENCE": mcp_url,
            "LIVECALLS_OAUTH_SCOPES": "livecalls:read livecalls:pii",
        }
        with http_server(env, token=None, port=port) as url:
            yield url, issuer


def sign_in_as(person: str, signed_in: tuple[str, str]) -> dict[str, Any]:
    url, issuer = signed_in
    httpx2.post(f"{issuer}/_test/person/{person}", timeout=SERVER_START_TIMEOUT_S).raise_for_status()
    try:
        modules = ts_client() / "node_modules"
    except ClientUnavailable as exc:
        unavailable(str(exc))
    client = ForeignClient("typescript-sdk-oauth", ["node", str(HERE / "oidc_signin.mjs"), str(modules)])
    report = run_client(client, {"url": url})
    assert "error" not in report, report["error"]
    return report


def _numbers(report: dict[str, Any]) -> list[str]:
    calls = report["list"]["calls"]
    assert calls, report
    return [call[side] for call in calls for side in ("from_number", "to_number") if call.get(side)]


def test_a_person_whose_policy_grants_pii_gets_full_numbers_through_the_typescript_sdk(
    signed_in: tuple[str, str],
) -> None:
    report = sign_in_as("alice", signed_in)

    asked = report["signin"]["authorization_url"]
    assert asked["scope"] == "livecalls:read livecalls:pii"  # what the 401 named
    assert asked["resource"] == signed_in[0]  # RFC 8707
    assert asked["code_challenge_method"] == "S256"  # PKCE
    assert set(report["signin"]["token_scope"].split(" ")) == {"livecalls:read", "livecalls:pii"}
    assert report["list"]["is_error"] is False
    numbers = _numbers(report)
    assert all(number.startswith("+") and len(number) > 8 for number in numbers), numbers[:4]


def test_a_person_whose_policy_does_not_grant_pii_sees_the_last_4_digits(signed_in: tuple[str, str]) -> None:
    report = sign_in_as("bob", signed_in)

    assert report["signin"]["authorization_url"]["scope"] == "livecalls:read livecalls:pii"
    assert report["signin"]["token_scope"] == "livecalls:read"  # the policy's answer
    numbers = _numbers(report)
    assert all(number.startswith("…") and len(number) == 5 for number in numbers), numbers[:4]
