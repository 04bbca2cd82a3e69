"""Vobiz: both documented shapes, every status word, and the adapter over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest
from pydantic import SecretStr

from mcp_livecalls.config import VobizSettings
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound
from mcp_livecalls.http import HttpPolicy, translate_errors
from mcp_livecalls.models import CallStatus, Direction, LiveCall, ProviderName
from mcp_livecalls.providers.base import ListQuery
from mcp_livecalls.providers.vobiz import VobizProvider, normalize_vobiz_call, vobiz_status
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Simulator, serve_simulator
from mcp_livecalls.simulator.fixtures import load_fixture

NOW = datetime(2026, 6, 11, 16, 5, 0, tzinfo=UTC)


def test_plivo_style_live_call_normalizes_every_field() -> None:
    call = normalize_vobiz_call(load_fixture("vobiz_live_plivo.json"), now=NOW)

    assert call == LiveCall(
        provider=ProviderName.VOBIZ,
        call_id="97ceeb52-58b6-11e1-86da-77300b68f8bb",
        status=CallStatus.IN_PROGRESS,
        provider_status="ACTIVE",
        direction=Direction.OUTBOUND,
        from_number="+14156667777",
        to_number="+14156667778",
        started_at=datetime(2014, 10, 15, 9, 3, 38, tzinfo=UTC),
        answered_at=datetime(2014, 10, 15, 9, 3, 43, tzinfo=UTC),
        duration_s=180,
        stir_attestation="A",
        extras={"stir_verification": "verified"},
    )


def test_flat_live_call_normalizes_and_computes_duration_from_session_start() -> None:
    call = normalize_vobiz_call(load_fixture("vobiz_live_flat.json"), now=NOW)

    assert call == LiveCall(
        provider=ProviderName.VOBIZ,
        call_id="2ded13fe-4f9b-4958-9bfb-093ea2f29f91",
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        direction=Direction.OUTBOUND,
        from_number="919262171438",
        to_number="919148227303",
        started_at=datetime(2026, 6, 11, 16, 3, 28, 586839, tzinfo=UTC),
        duration_s=91,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("RINGING", CallStatus.RINGING),
        ("EARLY", CallStatus.EARLY_MEDIA),
        ("ACTIVE", CallStatus.IN_PROGRESS),
        ("HELD", CallStatus.ON_HOLD),
        ("queued", CallStatus.QUEUED),
        ("ringing", CallStatus.RINGING),
        ("early-media", CallStatus.EARLY_MEDIA),
        ("in-progress", CallStatus.IN_PROGRESS),
        ("In_Progress", CallStatus.IN_PROGRESS),
        ("completed", CallStatus.ENDED),
        ("no-answer", CallStatus.FAILED),
        ("busy", CallStatus.FAILED),
        ("cancel", CallStatus.FAILED),
        ("timeout", CallStatus.FAILED),
        ("teleported", CallStatus.UNKNOWN),
        ("", CallStatus.UNKNOWN),
        (None, CallStatus.UNKNOWN),
    ],
)
def test_every_vobiz_status_word_maps_to_the_common_vocabulary(raw: str | None, expected: CallStatus) -> None:
    assert vobiz_status(raw) is expected


def test_an_unknown_status_keeps_the_raw_word_instead_of_failing() -> None:
    payload = {**load_fixture("vobiz_live_flat.json"), "call_status": "warp-speed"}

    call = normalize_vobiz_call(payload, now=NOW)

    assert (call.status, call.provider_status) == (CallStatus.UNKNOWN, "warp-speed")


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "x",
        {"calls": []},
        {"calls": "nope"},
        {"call_status": "in-progress"},
        {"calls": [{"call_state": 3}]},
    ],
)
def test_a_payload_of_neither_shape_is_a_bad_response(payload: object) -> None:
    with pytest.raises(BadResponse, match="Vobiz answered with data"), translate_errors("vobiz"):
        normalize_vobiz_call(payload, now=NOW)


def _adapter(
    base_url: str, client: httpx2.AsyncClient, simulator: Simulator, token: str | None = None
) -> VobizProvider:
    settings = VobizSettings(
        auth_id=SecretStr(DEMO_CREDENTIALS.vobiz_auth_id),
        auth_token=SecretStr(token or DEMO_CREDENTIALS.vobiz_auth_token),
        base_url=base_url,
    )
    return VobizProvider.create(settings, client, HttpPolicy(), simulator.clock.now)


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["plivo", "flat"])
async def test_listing_follows_every_uuid_with_a_detail_fetch_in_either_shape(shape: str) -> None:
    simulator = Simulator(seed=3, vobiz_shape=shape)  # type: ignore[arg-type]
    with serve_simulator(simulator) as base_url:
        async with httpx2.AsyncClient() as client:
            adapter = _adapter(base_url, client, simulator)
            page = await adapter.list_active(ListQuery(), 0, 100)

    population = simulator.population
    expected_ids = {c.id for c in [*population.live("vobiz"), *population.queued("vobiz")]}
    assert page.exhausted
    assert {item.call.call_id for item in page.items} == expected_ids
    assert all(item.call.status is not CallStatus.UNKNOWN for item in page.items)
    assert simulator.requests[("vobiz", "get_call")] == len(expected_ids)  # one request per call, queued too


@pytest.mark.anyio
async def test_a_call_that_is_not_live_is_call_not_found(simulator: Simulator, sim_url: str) -> None:
    async with httpx2.AsyncClient() as client:
        adapter = _adapter(sim_url, client, simulator)
        with pytest.raises(CallNotFound, match="not live \\(it may have ended\\)"):
            await adapter.get_call("0f0e0d0c-0000-4000-8000-000000000000")


@pytest.mark.anyio
async def test_rejected_credentials_name_the_variables_and_never_the_token(
    simulator: Simulator, sim_url: str
) -> None:
    async with httpx2.AsyncClient() as client:
        adapter = _adapter(sim_url, client, simulator, token="wrong-token-7f3a9c")
        with pytest.raises(AuthError) as caught:
            await adapter.list_active(ListQuery(), 0, 5)

    message = str(caught.value)
    assert "VOBIZ_AUTH_ID / VOBIZ_AUTH_TOKEN" in message
    assert "wrong-token-7f3a9c" not in message
