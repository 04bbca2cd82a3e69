"""Vobiz: both documented shapes, every status word, and the adapter over real HTTP.

The truth-of-state tests run the loopback simulator in every Vobiz flavour (``simulator.flavours``):
whatever reading of the documents the upstream follows, every live call is listed once and found.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx2
import pytest
from mcp import Client
from policies import PATIENT
from pydantic import SecretStr

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import CallStatus, Direction, LiveCall, ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, BadResponse, CallNotFound, ConfigError
from mcp_livecalls.providers.vobiz.adapter import (
    VobizProvider,
    VobizSettings,
    normalize_vobiz_call,
    vobiz_status,
)
from mcp_livecalls.providers.vobiz.simulated import VOBIZ_FLAVOURS
from mcp_livecalls.simkit.examples import load_fixture
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Fault, ManualClock, Simulator, serve_simulator
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.translate import translate_errors
from providers.kit import (
    adapter_on,
    alive,
    client_with,
    gathered,
    list_pages,
    look_up_all,
    loopback,
    simulated,
)

NOW = datetime(2026, 6, 11, 16, 5, 0, tzinfo=UTC)


def test_plivo_style_live_call_normalizes_every_field() -> None:
    call = normalize_vobiz_call(load_fixture("vobiz_live_plivo.json"), now=NOW)

    assert call == LiveCall(
        provider=ProviderName("vobiz"),
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
        provider=ProviderName("vobiz"),
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


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["plivo", "flat"])
async def test_listing_follows_every_uuid_with_a_detail_fetch_in_either_shape(shape: str) -> None:
    simulator = Simulator(seed=3, vobiz_shape=shape)  # type: ignore[arg-type]
    async with adapter_on(simulator, VobizProvider) as adapter:
        page = await adapter.list_active(ListQuery(), 0, 100)

    expected_ids = alive(simulator, "vobiz")
    assert page.exhausted
    assert {item.call.call_id for item in page.items} == expected_ids
    assert all(item.call.status is not CallStatus.UNKNOWN for item in page.items)
    assert simulator.requests[("vobiz", "get_call")] == len(expected_ids)  # one request per call, queued too


@pytest.mark.anyio
async def test_a_call_that_is_not_live_is_call_not_found(simulator: Simulator) -> None:
    async with adapter_on(simulator, VobizProvider) as adapter:
        with pytest.raises(CallNotFound, match="not live \\(it may have ended\\)"):
            await adapter.get_call("0f0e0d0c-0000-4000-8000-000000000000")


@pytest.mark.anyio
async def test_rejected_credentials_name_the_variables_and_never_the_token(simulator: Simulator) -> None:
    wrong = DEMO_CREDENTIALS.replace(vobiz_auth_token="wrong-token-7f3a9c")
    async with adapter_on(simulator, VobizProvider, wrong) as adapter:
        with pytest.raises(AuthError) as caught:
            await adapter.list_active(ListQuery(), 0, 5)

    message = str(caught.value)
    assert "VOBIZ_AUTH_ID / VOBIZ_AUTH_TOKEN" in message
    assert "wrong-token-7f3a9c" not in message


# -- truth of state: the loopback simulator in every Vobiz flavour ------------------------------------

EVERY_FLAVOUR = [
    pytest.param(frozenset[str](), id="default"),
    *(pytest.param(frozenset({name}), id=name) for name in sorted(VOBIZ_FLAVOURS)),
]


def _settings(base_url: str, sim: Simulator) -> Settings:
    """Only Vobiz, in the zone the simulated account writes its times in."""
    vobiz = simulator_settings(base_url, DEMO_CREDENTIALS).provider(ProviderName("vobiz"))
    assert vobiz is not None
    zone = "Asia/Kolkata" if sim.flavour("vobiz.local_time") else "UTC"
    return Settings(
        providers={ProviderName("vobiz"): replace(vobiz, timezone=zone)}, cache_ttl_s=0, http=PATIENT
    )


def _population(flavours: frozenset[str], live_calls: int = 45) -> Simulator:
    return simulated("vobiz", seed=8, live_calls=live_calls, arrival_every_s=None, flavours=flavours)


def _expected(sim: Simulator) -> list[str]:
    return [c.id for c in sim.population.live("vobiz") + sim.population.queued("vobiz")]


async def _every_page(client: Client, limit: int = 20) -> tuple[list[str], list[str], list[Any]]:
    """Ids, notes and failures of ``list_active_calls`` paged to the end."""
    pages = await list_pages(client, {"provider": "vobiz", "limit": limit}, pages=20)
    ids = [call["call_id"] for call in gathered(pages, "calls")]
    return ids, gathered(pages, "notes"), gathered(pages, "failures")


@pytest.mark.anyio
@pytest.mark.parametrize("flavours", EVERY_FLAVOUR)
async def test_paging_list_active_calls_to_the_end_lists_every_vobiz_call_once_and_each_is_found(
    flavours: frozenset[str],
) -> None:
    # Where offset is ignored only a first page can be read: 20 slots fit in it (see the next test).
    sim = _population(flavours, live_calls=20 if "vobiz.offset_ignored" in flavours else 45)
    async with client_with(sim, lambda url: _settings(url, sim)) as client:
        with anyio.fail_after(PATIENT.tool_budget_s * 4):
            ids, notes, failures = await _every_page(client)
            found = await look_up_all(client, "vobiz", ids)

    expected = _expected(sim)
    assert len(expected) == (20 if "vobiz.offset_ignored" in flavours else 45)
    assert sorted(ids) == sorted(expected)  # every call, none twice
    assert failures == []
    assert found == {call_id: call_id for call_id in ids}  # get_live_call finds every listed call
    if not (flavours & {"vobiz.offset_ignored"}):
        assert notes == []


@pytest.mark.anyio
async def test_when_offset_is_ignored_the_first_page_is_listed_once_and_the_rest_said_missing() -> None:
    sim = _population(frozenset({"vobiz.offset_ignored"}))
    async with loopback(sim) as served:
        adapter = _vobiz(_settings(served.url, sim), served.http, sim)
        found = await adapter.list_active(ListQuery(), 0, 100)

    live = [c.id for c in sim.population.live("vobiz")]
    listed = [item.call.call_id for item in found.items]
    assert len(live) > 20
    assert listed[:20] == live[:20]
    assert len(listed) == len(set(listed))
    assert found.notes == [
        "a page of the live list repeated calls already listed (it added nothing); paging stopped there, "
        "so more live calls may exist"
    ]
    assert found.total is None


def _vobiz(settings: Settings, client: httpx2.AsyncClient, sim: Simulator) -> VobizProvider:
    vobiz = settings.provider(ProviderName("vobiz"))
    assert vobiz is not None
    return VobizProvider.create(vobiz, client, HttpPolicy(), sim.clock.now)


@pytest.mark.anyio
async def test_an_account_with_45_live_calls_shows_all_45_across_pages_paged_twenty_at_a_time() -> None:
    sim = _population(frozenset({"vobiz.paged"}))
    async with loopback(sim) as served:
        adapter = _vobiz(_settings(served.url, sim), served.http, sim)
        first = await adapter.list_active(ListQuery(), 0, 20)
        second = await adapter.list_active(ListQuery(), first.scanned_to, 20)
        third = await adapter.list_active(ListQuery(), second.scanned_to, 20)

    listed = [item.call.call_id for page in (first, second, third) for item in page.items]
    assert sorted(listed) == sorted(_expected(sim))
    assert (first.exhausted, second.exhausted, third.exhausted) == (False, False, True)
    assert first.total == len(_expected(sim)) == 45


@pytest.mark.anyio
@pytest.mark.parametrize("flavours", [frozenset[str](), frozenset({"vobiz.paged", "vobiz.idle_404"})])
async def test_an_ended_call_is_never_listed_and_an_idle_account_lists_nothing(
    flavours: frozenset[str],
) -> None:
    sim = _population(flavours, live_calls=12)
    async with loopback(sim) as served:
        adapter = _vobiz(_settings(served.url, sim), served.http, sim)
        before = {item.call.call_id for item in (await adapter.list_active(ListQuery(), 0, 100)).items}
        clock = sim.clock
        assert isinstance(clock, ManualClock)
        clock.advance(240)
        after = {item.call.call_id for item in (await adapter.list_active(ListQuery(), 0, 100)).items}
        still = set(_expected(sim))
        clock.advance(24 * 3600)  # every call has ended, nothing new arrives
        idle = await adapter.list_active(ListQuery(), 0, 100)

    ended = before - still
    assert ended  # some calls ended in those four minutes
    assert after == still
    assert not (after & ended)
    assert (idle.items, idle.notes, idle.exhausted) == ([], [], True)


@pytest.mark.anyio
async def test_a_call_that_ends_between_the_list_and_its_details_leaves_the_page_without_error() -> None:
    sim = _population(frozenset({"vobiz.paged"}), live_calls=12)
    # The first detail request answers Vobiz's 404, as it does once a call has ended.
    sim.faults.inject(Fault(kind="status", status_code=404, provider="vobiz", route="get_call", times=1))
    async with client_with(sim, lambda url: _settings(url, sim)) as client:
        ids, notes, failures = await _every_page(client)

    assert len(ids) == len(_expected(sim)) - 1
    assert set(ids) < set(_expected(sim))
    assert (notes, failures) == ([], [])


@pytest.mark.anyio
async def test_a_failing_queued_list_leaves_the_live_calls_listed_and_the_failure_noted() -> None:
    sim = _population(frozenset({"vobiz.paged"}), live_calls=45)
    sim.faults.inject(Fault(kind="status", status_code=500, provider="vobiz", route="list_queued"))
    async with client_with(sim, lambda url: _settings(url, sim)) as client:
        ids, notes, failures = await _every_page(client)

    assert sim.population.queued("vobiz")  # there were queued calls to lose
    assert sorted(ids) == sorted(c.id for c in sim.population.live("vobiz"))
    assert failures == []
    assert notes
    assert all(note.startswith("vobiz: the queued list could not be read") for note in notes)
    assert "internal error (500)" in notes[0]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "shape", [frozenset({"vobiz.local_time"}), frozenset({"vobiz.local_time", "vobiz.legacy_shape"})]
)
async def test_with_vobiz_timezone_asia_kolkata_local_times_become_the_right_utc_instants(
    shape: frozenset[str],
) -> None:
    sim = _population(shape, live_calls=12)
    async with loopback(sim) as served:
        adapter = _vobiz(_settings(served.url, sim), served.http, sim)
        found = await adapter.list_active(ListQuery(), 0, 100)
        streams = [await adapter.get_stream(c.id) for c in sim.population.live("vobiz")]

    now = sim.clock.now()
    by_id = {item.call.call_id: item.call for item in found.items}
    assert sorted(by_id) == sorted(_expected(sim))
    for call_id, call in by_id.items():
        simulated = sim.population.find("vobiz", call_id)
        assert simulated is not None
        assert call.started_at is not None
        assert 0 <= (simulated.created_at - call.started_at).total_seconds() < 1  # legacy: whole seconds
        assert "clock_note" not in call.extras
        if "vobiz.legacy_shape" in shape:  # answer_time given; call_duration counts from it
            if call.answered_at is not None:  # whole seconds, as documented
                assert simulated.answered_at is not None
                assert 0 <= (simulated.answered_at - call.answered_at).total_seconds() < 1
        else:  # duration counted here from session_start (shown to the whole second, so within 1 s)
            assert call.duration_s is not None
            assert 0 <= (now - call.started_at).total_seconds() - call.duration_s <= 1
    started = [s.started_at for d in streams for s in d.media_streams]
    assert all(t is not None and t <= now for t in started)


def test_vobiz_timezone_defaults_to_india_and_a_bad_name_is_a_config_error_naming_the_variable() -> None:
    env = {"VOBIZ_AUTH_ID": "MA1", "VOBIZ_AUTH_TOKEN": "token"}

    default = Settings.from_env(env).provider(ProviderName("vobiz"))
    utc = Settings.from_env({**env, "VOBIZ_TIMEZONE": " UTC "}).provider(ProviderName("vobiz"))

    assert default == VobizSettings(SecretStr("MA1"), SecretStr("token"))
    assert default is not None
    assert default.timezone == "Asia/Kolkata"
    assert utc is not None
    assert utc.timezone == "UTC"
    for bad in ("Mars/Olympus", "../etc/passwd", "+05:30"):
        with pytest.raises(ConfigError, match=r"^VOBIZ_TIMEZONE must be an IANA time zone name"):
            Settings.from_env({**env, "VOBIZ_TIMEZONE": bad})


def test_each_vobiz_flavour_of_the_simulator_plays_its_documented_variant() -> None:
    headers = {"X-Auth-ID": DEMO_CREDENTIALS.vobiz_auth_id, "X-Auth-Token": DEMO_CREDENTIALS.vobiz_auth_token}
    calls = f"/api/v1/Account/{DEMO_CREDENTIALS.vobiz_auth_id}/Call"

    def live(sim: Simulator, path: str = calls + "/", **params: str | int) -> httpx2.Response:
        with serve_simulator(sim) as base_url, httpx2.Client(base_url=base_url, headers=headers) as http:
            return http.get(path, params={"status": "live", **params})

    default = _population(frozenset())
    everything = [c.id for c in default.population.live("vobiz")]
    assert live(default, limit=5, offset=3).json()["calls"] == everything  # no paging documented
    paged = _population(frozenset({"vobiz.paged"}))
    assert live(paged, limit=5, offset=3).json()["calls"] == everything[3:8]
    assert live(paged, limit=21).status_code == 400
    ignored = _population(frozenset({"vobiz.offset_ignored"}))
    assert live(ignored, offset=20).json()["calls"] == everything[:20]
    no_slash = _population(frozenset({"vobiz.no_slash"}))
    assert live(no_slash).status_code == 401
    assert live(no_slash, calls).json()["calls"] == everything
    idle = _population(frozenset({"vobiz.idle_404"}))
    assert isinstance(idle.clock, ManualClock)
    idle.clock.advance(24 * 3600)
    answer = live(idle)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NOT_FOUND")

    local = _population(frozenset({"vobiz.local_time", "vobiz.legacy_shape"}))
    call = local.population.live("vobiz")[0]
    with serve_simulator(local) as base_url, httpx2.Client(base_url=base_url, headers=headers) as http:
        legacy = http.get(f"{calls}/{call.id}/", params={"status": "live"}).json()["calls"][0]
    india = call.created_at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert legacy["initiation_time"] == india.strftime("%Y-%m-%d %H:%M:%S")
    assert legacy["call_state"] in {"RINGING", "EARLY", "ACTIVE", "HELD"}
