"""SignalWire against its documents: each documented answer, typed in a fixture, through the real adapter.

The fixtures (``fixtures/*.json``) stand for the list, call and error bodies of SignalWire's API
spec (github.com/signalwire/docs ``specs/compatibility-api``) and its reference examples; each
says which in its ``source``. The documented call itself is the provider's example
(``providers/signalwire/examples/retrieve_a_call.json``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from contract.harness import Answer, Upstream, asked, calls_of, fixture
from pydantic import SecretStr

from mcp_livecalls.core.models import CallStatus, Direction, LiveCall, ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound, ConfigError
from mcp_livecalls.providers.signalwire.adapter import SignalWireProvider, SignalWireSettings
from providers.kit import documented

pytestmark = pytest.mark.anyio

NOW = datetime(2018, 9, 19, 20, 2, 1, tzinfo=UTC)
PROJECT = "b3877c40-da60-4998-90ad-b792e98472af"
TOKEN = "PTcontract0signalwire0token"
ROOT = f"/api/laml/2010-04-01/Accounts/{PROJECT}"
CALLS = f"{ROOT}/Calls.json"
SID = "b3877c40-da60-4998-90ad-b792e98472ca"
EXAMPLE = (
    Path(__file__).resolve().parents[3] / "mcp_livecalls/providers/signalwire/examples/retrieve_a_call.json"
)


def signalwire(name: str) -> Answer:
    return fixture("signalwire", name)


def adapter(upstream: Upstream) -> SignalWireProvider:
    settings = SignalWireSettings(
        space_url=SecretStr("example.signalwire.com"),
        project_id=SecretStr(PROJECT),
        api_token=SecretStr(TOKEN),
        base_url="http://upstream.test",
    )
    return documented(SignalWireProvider, settings, upstream, NOW)


def test_the_space_url_is_the_base_and_a_bad_one_is_refused_without_quoting_it() -> None:
    made = SignalWireSettings(
        space_url=SecretStr("https://example.signalwire.com/"),
        project_id=SecretStr(PROJECT),
        api_token=SecretStr(TOKEN),
    )
    assert made.base_url == "https://example.signalwire.com"
    with pytest.raises(ConfigError) as refused:
        SignalWireSettings(
            space_url=SecretStr("evil.test/@x"), project_id=SecretStr(PROJECT), api_token=SecretStr(TOKEN)
        )
    assert "SIGNALWIRE_SPACE_URL" in str(refused.value)
    assert "evil" not in str(refused.value)


async def test_the_documented_call_is_read_with_its_sept_dates_and_integer_duration() -> None:
    example = Answer(status=200, body=json.loads(EXAMPLE.read_text()), headers={}, source="example")
    upstream = Upstream().on("GET", f"{ROOT}/Calls/{SID}.json", example)

    call = await adapter(upstream).get_call(SID)

    assert call == LiveCall(
        provider=ProviderName("signalwire"),
        call_id=SID,
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        direction=Direction.INBOUND,
        from_number="+13103384645",
        to_number="+13105678901",
        started_at=datetime(2018, 9, 19, 20, 0, 1, tzinfo=UTC),
        duration_s=20,
        extras={"parent_call_sid": PROJECT, "answered_by": "human", "forwarded_from": "+13102259067"},
    )
    assert asked(upstream) == [(f"{ROOT}/Calls/{SID}.json", {})]


async def test_a_completed_call_is_not_live() -> None:
    upstream = Upstream().on("GET", f"{ROOT}/Calls/{SID}.json", signalwire("call_completed"))

    with pytest.raises(CallNotFound):
        await adapter(upstream).get_call(SID)


async def test_the_live_lists_follow_a_next_page_uri_written_without_json() -> None:
    upstream = (
        Upstream()
        .on("GET", CALLS, signalwire("list_in_progress_page1"), params={"Status": "in-progress", "Page": "1"})
        .on("GET", CALLS, signalwire("list_in_progress_page0"), params={"Status": "in-progress"})
        .on("GET", CALLS, signalwire("list_empty"), params={"Status": "ringing"})
        .on("GET", CALLS, signalwire("list_empty"), params={"Status": "queued"})
    )

    found = await adapter(upstream).list_active(ListQuery(), 0, 10)

    calls = calls_of(found)
    assert [(c.call_id, c.direction, c.duration_s) for c in calls] == [
        (SID, Direction.INBOUND, 120),
        ("c4988d51-eb71-4aa9-81be-c803f95830db", Direction.OUTBOUND, 61),
    ]
    assert calls[1].extras == {}  # "outbound" is SignalWire's plain word, not an extra
    assert found.notes == []
    pages = [params.get("Page") for path, params in asked(upstream) if params.get("Status") == "in-progress"]
    assert pages == [None, "1"]


async def test_a_401_names_the_project_variables_and_never_the_token() -> None:
    upstream = Upstream().on("GET", f"{ROOT}/Calls/{SID}.json", signalwire("error_401"))

    with pytest.raises(AuthError) as refused:
        await adapter(upstream).get_call(SID)

    said = str(refused.value)
    assert "SIGNALWIRE_PROJECT_ID" in said
    assert "SIGNALWIRE_API_TOKEN" in said
    assert TOKEN not in said
    assert PROJECT not in said
