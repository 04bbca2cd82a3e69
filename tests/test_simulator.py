"""The simulator, exercised over real loopback HTTP with httpx2."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.simkit.calls import CallState, Provider
from mcp_livecalls.simulator import (
    DEMO_CREDENTIALS,
    Fault,
    ManualClock,
    Population,
    SimCall,
    Simulator,
    WallClock,
    load_fixture,
    serve_simulator,
)
from mcp_livecalls.simulator.registry import SIMULATED

CREDS = DEMO_CREDENTIALS
VOBIZ_HEADERS = {"X-Auth-ID": CREDS.vobiz_auth_id, "X-Auth-Token": CREDS.vobiz_auth_token}
EXOTEL_AUTH = (CREDS.exotel_api_key, CREDS.exotel_api_token)
ZUDU_HEADERS = {"X-API-KEY": CREDS.zudu_api_key, "X-API-SECRET": CREDS.zudu_api_secret}
VOBIZ = f"/api/v1/Account/{CREDS.vobiz_auth_id}/Call"
EXOTEL = f"/v3/accounts/{CREDS.exotel_account_sid}/calls"


@contextmanager
def running(sim: Simulator, timeout: float = 5.0) -> Iterator[httpx2.Client]:
    with serve_simulator(sim) as url, httpx2.Client(base_url=url, timeout=timeout) as client:
        yield client


def manual(sim: Simulator) -> ManualClock:
    assert isinstance(sim.clock, ManualClock)
    return sim.clock


def vobiz_live_ids(client: httpx2.Client) -> list[str]:
    r = client.get(f"{VOBIZ}/", params={"status": "live"}, headers=VOBIZ_HEADERS)
    assert r.status_code == 200
    ids: list[str] = r.json()["calls"]
    return ids


def vobiz_get(client: httpx2.Client, call_uuid: str, status: str | None = "live") -> httpx2.Response:
    params = {"status": status} if status is not None else {}
    return client.get(f"{VOBIZ}/{call_uuid}/", params=params, headers=VOBIZ_HEADERS)


def exotel_active(client: httpx2.Client, **params: Any) -> httpx2.Response:
    return client.get(f"{EXOTEL}/active", params=params, auth=EXOTEL_AUTH)


def zudu_list(client: httpx2.Client, **query: Any) -> httpx2.Response:
    return client.post("/api/calls", json=query, headers=ZUDU_HEADERS)


def first_call(sim: Simulator, provider: Provider, state: CallState) -> SimCall:
    """A call of ``provider`` that is in ``state`` now."""
    now = sim.clock.now()
    pool = sim.population.queued(provider) + sim.population.live(provider)
    for call in pool:
        if call.state_at(now) == state:
            return call
    raise AssertionError(f"no {provider} call in state {state}")


# -- authentication --------------------------------------------------------------------------------


def test_vobiz_answers_401_in_the_configured_error_shape_without_valid_headers() -> None:
    with running(Simulator(vobiz_shape="flat")) as client:
        r = client.get(f"{VOBIZ}/", params={"status": "live"})
        assert r.status_code == 401
        body = r.json()
        assert body["status"] == "error"
        assert body["error"]["code"] == "UNAUTHORIZED"
        assert set(body) == {"status", "error", "timestamp", "requestId"}
        wrong = {**VOBIZ_HEADERS, "X-Auth-Token": "nope"}
        assert client.get(f"{VOBIZ}/", params={"status": "live"}, headers=wrong).status_code == 401
    with running(Simulator(vobiz_shape="plivo")) as client:
        r = client.get(f"{VOBIZ}/", params={"status": "live"})
        assert r.status_code == 401
        assert set(r.json()) == {"api_id", "error"}


def test_vobiz_refuses_another_accounts_path_with_403() -> None:
    with running(Simulator()) as client:
        r = client.get(
            "/api/v1/Account/MA_SOMEONE_ELSE/Call/", params={"status": "live"}, headers=VOBIZ_HEADERS
        )
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "FORBIDDEN"


def test_exotel_answers_401_envelope_for_bad_basic_auth_and_403_for_another_sid() -> None:
    with running(Simulator()) as client:
        r = client.get(f"{EXOTEL}/active", auth=("sim-exotel-key", "wrong"))
        assert r.status_code == 401
        body = r.json()
        assert body["http_code"] == 401
        assert set(body["response"]["error_data"]) == {"code", "message", "description"}
        assert client.get(f"{EXOTEL}/active").status_code == 401
        r = client.get("/v3/accounts/other/calls/active", auth=EXOTEL_AUTH)
        assert r.status_code == 403


def test_zudu_answers_401_for_a_wrong_key_or_secret() -> None:
    with running(Simulator()) as client:
        r = client.post("/api/calls", json={}, headers={**ZUDU_HEADERS, "X-API-SECRET": "s3cr3t_wrong"})
        assert r.status_code == 401
        assert r.json()["status"] == "error"
        assert client.get("/api/calls/anything").status_code == 401


# -- Vobiz -----------------------------------------------------------------------------------------


def test_vobiz_flat_shape_round_trips_every_listed_call_with_the_documented_keys() -> None:
    documented = set(load_fixture("vobiz_live_flat"))
    with running(Simulator(vobiz_shape="flat")) as client:
        ids = vobiz_live_ids(client)
        assert ids
        for call_uuid in ids:
            r = vobiz_get(client, call_uuid)
            assert r.status_code == 200
            body = r.json()
            assert set(body) == documented
            assert body["call_uuid"] == call_uuid == body["request_uuid"]
            assert body["call_status"] in {"ringing", "early-media", "in-progress"}
            assert not body["from"].startswith("+")
            datetime.strptime(body["session_start"], "%Y-%m-%d %H:%M:%S.%f")


def test_vobiz_plivo_shape_round_trips_with_the_documented_keys_and_live_only_nulls() -> None:
    documented = set(load_fixture("vobiz_live_plivo")["calls"][0])
    sim = Simulator(vobiz_shape="plivo", live_calls=30)
    with running(sim) as client:
        ids = vobiz_live_ids(client)
        states = set()
        for call_uuid in ids:
            r = vobiz_get(client, call_uuid)
            assert r.status_code == 200
            (call,) = r.json()["calls"]
            assert set(call) == documented
            assert call["call_uuid"] == call_uuid
            assert call["end_time"] is None
            assert call["total_amount"] is None
            assert call["hangup_cause_code"] is None
            assert call["resource_uri"] == f"/v1/Account/{CREDS.vobiz_auth_id}/Call/{call_uuid}/"
            datetime.strptime(call["initiation_time"], "%Y-%m-%d %H:%M:%S")
            states.add(call["call_state"])
        assert states <= {"RINGING", "EARLY", "ACTIVE", "HELD"}
        assert "ACTIVE" in states


def test_vobiz_list_is_newest_first() -> None:
    sim = Simulator(live_calls=30)
    with running(sim) as client:
        ids = vobiz_live_ids(client)
    created = [sim.population.find("vobiz", i).created_at for i in ids]  # type: ignore[union-attr]
    assert created == sorted(created, reverse=True)


def test_vobiz_accepts_lowercase_path_segments_and_a_missing_trailing_slash() -> None:
    with running(Simulator()) as client:
        call_uuid = vobiz_live_ids(client)[0]
        r = client.get(
            f"/api/v1/account/{CREDS.vobiz_auth_id}/call/{call_uuid}",
            params={"status": "live"},
            headers=VOBIZ_HEADERS,
        )
        assert r.status_code == 200
        r = client.get(
            f"/api/v1/account/{CREDS.vobiz_auth_id}/call", params={"status": "live"}, headers=VOBIZ_HEADERS
        )
        assert r.json()["calls"]


def test_vobiz_queued_call_answers_only_with_status_queued() -> None:
    sim = Simulator(live_calls=200, providers=("vobiz",))
    call = first_call(sim, "vobiz", "queued")
    with running(sim) as client:
        r = client.get(f"{VOBIZ}/", params={"status": "queued"}, headers=VOBIZ_HEADERS)
        queued = r.json()["calls"]
        assert call.id in queued
        assert len(queued) <= 20
        assert call.id not in vobiz_live_ids(client)
        r = vobiz_get(client, call.id, "queued")
        assert r.status_code == 200
        assert r.json()["call_status"] == "queued"
        assert vobiz_get(client, call.id, "live").status_code == 404
        manual(sim).set(call.ringing_at + timedelta(seconds=0.01))
        assert vobiz_get(client, call.id, "queued").status_code == 404
        assert vobiz_get(client, call.id, "live").json()["call_status"] == "ringing"


def test_vobiz_single_call_without_status_is_404() -> None:
    with running(Simulator()) as client:
        call_uuid = vobiz_live_ids(client)[0]
        assert vobiz_get(client, call_uuid, None).status_code == 404


def test_vobiz_not_found_uses_the_documented_error_bodies() -> None:
    with running(Simulator(vobiz_shape="plivo")) as client:
        r = vobiz_get(client, "00000000-0000-4000-8000-000000000000")
        assert r.status_code == 404
        assert r.json()["error"] == "not found"
    with running(Simulator(vobiz_shape="flat")) as client:
        r = vobiz_get(client, "00000000-0000-4000-8000-000000000000")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "NOT_FOUND"


def test_vobiz_media_streams_come_in_a_paged_envelope_and_some_calls_have_one() -> None:
    sim = Simulator(live_calls=60, providers=("vobiz",))  # every slot Vobiz's, however many providers
    with running(sim) as client:
        totals = []
        for call_uuid in vobiz_live_ids(client):
            r = client.get(f"{VOBIZ}/{call_uuid}/Stream/", headers=VOBIZ_HEADERS)
            assert r.status_code == 200
            body = r.json()
            assert {"page", "per_page", "total", "objects"} <= set(body)
            totals.append(body["total"])
            for obj in body["objects"]:
                assert {
                    "stream_id",
                    "status",
                    "audio_track",
                    "bidirectional",
                    "service_url",
                    "start_time",
                } <= set(obj)
        assert 0 in totals
        assert 1 in totals


# -- the clock moves calls -------------------------------------------------------------------------


def test_advancing_the_manual_clock_takes_a_ringing_call_to_in_progress_then_ended() -> None:
    sim = Simulator(live_calls=30)
    candidates = [c for c in sim.population.live("vobiz") if c.state_at(sim.clock.now()) == "ringing"]
    call = next(c for c in candidates if c.answered_at is not None)
    assert call.answered_at is not None
    with running(sim) as client:
        assert vobiz_get(client, call.id).json()["call_status"] == "ringing"
        manual(sim).set(call.answered_at + timedelta(seconds=1))
        assert vobiz_get(client, call.id).json()["call_status"] == "in-progress"
        manual(sim).set(call.ended_at + timedelta(seconds=1))
        assert vobiz_get(client, call.id).status_code == 404
        assert call.id not in vobiz_live_ids(client)


def test_control_route_advances_the_manual_clock_and_reports_state() -> None:
    sim = Simulator()
    with running(sim) as client:
        before = client.get("/_sim/state").json()
        assert before["now"] == "2026-11-23T10:00:00+00:00"
        assert set(before["providers"]) == set(NAMES)
        r = client.post("/_sim/advance", params={"seconds": 90})
        assert r.status_code == 200
        assert sim.clock.now() == datetime(2026, 11, 23, 10, 1, 30, tzinfo=UTC)
    with running(Simulator(clock=WallClock(speed=10))) as client:
        assert client.post("/_sim/advance", params={"seconds": 5}).status_code == 409


def test_new_calls_arrive_and_the_live_count_stays_near_the_target() -> None:
    clock = ManualClock()
    population = Population(seed=3, clock=clock, live_calls=30, arrival_every_s=30.0, simulated=SIMULATED)
    first_ids = {c.id for p in population.providers for c in population.live(p)}
    counts = []
    for _ in range(40):
        clock.advance(60)
        counts.append(sum(len(population.live(p)) for p in population.providers))
    later_ids = {c.id for p in population.providers for c in population.live(p)}
    assert later_ids - first_ids, "new calls arrived"
    assert 22 <= sum(counts) / len(counts) <= 31
    assert min(counts) >= 15


def test_state_is_a_pure_function_of_the_schedule_and_time() -> None:
    population = Population(seed=11, clock=ManualClock(), live_calls=20, simulated=SIMULATED)
    call = population.live("exotel")[0]
    states = [call.state_at(t) for t, _ in call.schedule]
    assert states == [s for _, s in call.schedule]
    assert call.state_at(call.ended_at) == "ended"
    assert call.state_at(call.ended_at - timedelta(seconds=0.01)) != "ended"


def test_exotel_hold_and_mute_flags_follow_the_schedule() -> None:
    sim = Simulator(live_calls=240, providers=("exotel",))
    held = next(c for c in sim.population.live("exotel") if c.holds)
    muted = next(c for c in sim.population.live("exotel") if c.mutes)
    with running(sim) as client:
        start, end = held.holds[0]
        manual(sim).set(held.created_at + timedelta(seconds=(start + end) / 2))
        legs = client.get(f"{EXOTEL}/{held.id}/stream", auth=EXOTEL_AUTH).json()["response"]["stream"]["legs"]
        assert [leg["audio_status"]["hold"] for leg in legs] == [False, True]
        manual(sim).set(held.created_at + timedelta(seconds=end + 0.01))
        legs = client.get(f"{EXOTEL}/{held.id}/stream", auth=EXOTEL_AUTH).json()["response"]["stream"]["legs"]
        assert [leg["audio_status"]["hold"] for leg in legs] == [False, False]

        m_start, m_end, leg_name = muted.mutes[0]
        manual(sim).set(muted.created_at + timedelta(seconds=(m_start + m_end) / 2))
        legs = client.get(f"{EXOTEL}/{muted.id}/stream", auth=EXOTEL_AUTH).json()["response"]["stream"][
            "legs"
        ]
        assert legs[0 if leg_name == "agent" else 1]["audio_status"]["muted"] is True


# -- Exotel ----------------------------------------------------------------------------------------


def test_exotel_active_list_round_trips_to_stream_details() -> None:
    documented = set(load_fixture("exotel_stream")["response"]["stream"])
    with running(Simulator(live_calls=12, providers=("exotel",))) as client:
        body = exotel_active(client).json()
        assert body["http_code"] == 200
        assert body["method"] == "GET"
        active = body["response"]["active_calls"]
        assert body["response"]["total_active"] == len(active) >= 5
        for item in active:
            assert item["status"] in {"ringing", "in-progress"}
            assert item["direction"] in {"outbound-api", "inbound", "outbound-dial"}
            assert item["start_time"].endswith("Z")
            r = client.get(f"{EXOTEL}/{item['call_sid']}/stream", auth=EXOTEL_AUTH)
            assert r.status_code == 200
            stream = r.json()["response"]["stream"]
            assert set(stream) == documented
            assert stream["call_sid"] == item["call_sid"]
            assert len(stream["legs"]) == 2
            assert (stream["bridge"] is None) == (item["status"] == "ringing")
        r = client.get(f"{EXOTEL}/call_doesnotexist/stream", auth=EXOTEL_AUTH)
        assert r.status_code == 404
        assert r.json()["response"]["error_data"]["code"] == 404


def test_exotel_filters_and_pages_upstream() -> None:
    with running(Simulator(live_calls=150, providers=("exotel",))) as client:
        everything = exotel_active(client, limit=100).json()["response"]
        total = everything["total_active"]
        assert total > 100
        assert len(everything["active_calls"]) == 100
        assert (
            exotel_active(client, limit=500).json()["response"]["active_calls"] == everything["active_calls"]
        )
        page1 = exotel_active(client, limit=20, offset=0).json()["response"]["active_calls"]
        page2 = exotel_active(client, limit=20, offset=20).json()["response"]["active_calls"]
        assert page1 + page2 == everything["active_calls"][:40]
        starts = [c["start_time"] for c in everything["active_calls"]]
        assert starts == sorted(starts, reverse=True)

        inbound = exotel_active(client, direction="inbound", limit=100).json()["response"]
        outbound = exotel_active(client, direction="outbound", limit=100).json()["response"]
        assert inbound["total_active"] + outbound["total_active"] == total
        assert {c["direction"] for c in inbound["active_calls"]} == {"inbound"}
        assert {c["direction"] for c in outbound["active_calls"]} <= {"outbound-api", "outbound-dial"}

        agent = next(c["agent_details"] for c in everything["active_calls"] if c["agent_details"])
        mine = exotel_active(client, agent_id=agent["user_id"]).json()["response"]["active_calls"]
        assert mine
        assert all(c["agent_details"]["user_id"] == agent["user_id"] for c in mine)

        for bad in ({"limit": 0}, {"limit": "ten"}, {"offset": -1}, {"direction": "sideways"}):
            r = exotel_active(client, **bad)
            assert r.status_code == 400
            assert r.json()["response"]["error_data"]["code"] == 400


# -- Zudu ------------------------------------------------------------------------------------------


def test_zudu_pages_are_zero_based_and_cover_every_call_once() -> None:
    with running(Simulator(live_calls=60)) as client:
        first = zudu_list(client, page=0, limit=7).json()["data"]
        pagination = first["pagination"]
        assert pagination["page"] == 0
        assert pagination["has_previous_page"] is False
        seen: list[str] = []
        for page in range(pagination["total_pages"]):
            data = zudu_list(client, page=page, limit=7).json()["data"]
            assert data["returned_count"] == len(data["calls"])
            assert data["pagination"]["has_next_page"] == (page + 1 < pagination["total_pages"])
            seen += [c["id"] for c in data["calls"]]
        assert len(seen) == len(set(seen)) == pagination["total"]
        starts = [c["start_timestamp"] for c in zudu_list(client, limit=100).json()["data"]["calls"]]
        assert starts == sorted(starts, reverse=True)
        ascending = zudu_list(client, limit=100, sort_order="ascending").json()["data"]["calls"]
        assert [c["start_timestamp"] for c in ascending] == sorted(starts)
        assert zudu_list(client, page=-1).status_code == 400
        assert zudu_list(client, sort_by="nonsense").status_code == 400


def test_zudu_get_accepts_the_record_id_or_the_call_id() -> None:
    with running(Simulator(live_calls=30)) as client:
        documented = set(load_fixture("zudu_call")["data"])
        for record in zudu_list(client, limit=100).json()["data"]["calls"]:
            assert set(record) == documented
            by_id = client.get(f"/api/calls/{record['id']}", headers=ZUDU_HEADERS).json()
            by_call_id = client.get(f"/api/calls/{record['call_id']}", headers=ZUDU_HEADERS).json()
            assert by_id == by_call_id
            assert by_id["status"] == "success"
            assert by_id["data"]["id"] == record["id"]
        r = client.get("/api/calls/nope", headers=ZUDU_HEADERS)
        assert r.status_code == 404
        assert r.json() == {
            "message": "Call not found",
            "status": "error",
            "error": "Call with ID 'nope' does not exist",
        }


def test_zudu_filters_status_case_insensitively_and_mixes_letter_cases() -> None:
    with running(Simulator(live_calls=150, providers=("zudu",))) as client:
        ongoing = zudu_list(client, limit=100, filter_criteria={"call_status": ["ONGOING"]}).json()["data"]
        statuses = {c["call_status"] for c in ongoing["calls"]}
        assert statuses == {"ONGOING", "ongoing"}
        assert ongoing["applied_filters"] == {"call_status": ["ONGOING"]}
        web = zudu_list(client, limit=100, filter_criteria={"call_type": ["WEB_CALL"]}).json()["data"][
            "calls"
        ]
        assert web
        assert all(c["call_type"].upper() == "WEB_CALL" and c["from_number"] is None for c in web)
        assert any(c["opt_out_sensitive_data_storage"] for c in ongoing["calls"])


def test_zudu_transcript_grows_and_an_ended_call_stays_retrievable_as_ended() -> None:
    sim = Simulator(live_calls=30)
    now = sim.clock.now()
    call = next(
        c
        for c in sim.population.live("zudu")
        if c.state_at(now) == "in_progress" and len(c.details().turns) >= 4
    )
    with running(sim) as client:
        turn = call.details().turns[1]
        manual(sim).set(call.created_at + timedelta(seconds=turn.end_s - 0.01))
        early = client.get(f"/api/calls/{call.id}", headers=ZUDU_HEADERS).json()["data"]
        manual(sim).set(call.created_at + timedelta(seconds=turn.end_s + 0.01))
        later = client.get(f"/api/calls/{call.id}", headers=ZUDU_HEADERS).json()["data"]
        assert len(later["transcript_object"]) == len(early["transcript_object"]) + 1
        assert later["call_cost"]["combined_cost"] >= early["call_cost"]["combined_cost"]
        assert later["call_status"].upper() == "ONGOING"
        assert later["call_duration"] is None
        manual(sim).set(call.ended_at + timedelta(seconds=60))
        ended = client.get(f"/api/calls/{call.alt_ids[0]}", headers=ZUDU_HEADERS).json()["data"]
        assert ended["call_status"].upper() in {"ENDED", "ERROR"}
        assert ended["end_timestamp"] == round(call.ended_at.timestamp() * 1000)
        assert ended["disconnection_reason"] is not None
        manual(sim).set(call.ended_at + timedelta(hours=2))
        assert client.get(f"/api/calls/{call.id}", headers=ZUDU_HEADERS).status_code == 404


# -- determinism and scale -------------------------------------------------------------------------


def _snapshot(client: httpx2.Client) -> list[Any]:
    out: list[Any] = []
    for call_uuid in vobiz_live_ids(client):
        out.append(vobiz_get(client, call_uuid).json())
    out.append(exotel_active(client).json())
    out.append(zudu_list(client, limit=100).json())
    return out


def test_the_same_seed_gives_the_same_payloads_and_another_seed_does_not() -> None:
    snapshots = []
    for seed in (5, 5, 6):
        with running(Simulator(seed=seed, live_calls=15)) as client:
            snapshots.append(_snapshot(client))
    assert snapshots[0] == snapshots[1]
    assert snapshots[0] != snapshots[2]


# -- faults ----------------------------------------------------------------------------------------


def test_status_429_fault_sends_retry_after_and_each_providers_error_shape() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="status", status_code=429, retry_after=2))
    with running(sim) as client:
        r = client.get(f"{VOBIZ}/", params={"status": "live"}, headers=VOBIZ_HEADERS)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        assert r.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
        r = exotel_active(client)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        assert r.json()["RestException"]["Code"] == "RATE_LIMIT_EXCEEDED"
        assert r.headers["x-ratelimit-remaining"] == "0"
        assert "x-ratelimit-limit" in r.headers
        r = zudu_list(client)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "2"
        assert r.json()["status"] == "error"


def test_status_faults_without_retry_after_send_no_header_and_respect_scope_and_times() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="status", status_code=503, provider="exotel", route="list_calls", times=2))
    with running(sim) as client:
        assert zudu_list(client).status_code == 200
        first = exotel_active(client)
        assert first.status_code == 503
        assert "retry-after" not in first.headers
        assert first.json()["response"]["error_data"]["code"] == 503
        assert exotel_active(client).status_code == 503
        assert exotel_active(client).status_code == 200
    assert sim.requests[("exotel", "list_calls")] == 3
    assert sim.requests[("zudu", "list_calls")] == 1


def test_a_get_call_fault_hits_exotels_call_details_and_not_its_stream() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="status", status_code=500, provider="exotel", route="get_call"))
    with running(sim) as client:
        call_sid = exotel_active(client).json()["response"]["active_calls"][0]["call_sid"]
        assert client.get(f"{EXOTEL}/{call_sid}", auth=EXOTEL_AUTH).status_code == 500
        assert client.get(f"{EXOTEL}/{call_sid}/stream", auth=EXOTEL_AUTH).status_code == 200
    assert (sim.requests[("exotel", "get_call")], sim.requests[("exotel", "stream")]) == (1, 1)


def test_latency_fault_delays_then_answers_normally() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="latency", delay_s=0.3, times=1))
    with running(sim) as client:
        started = time.perf_counter()
        r = zudu_list(client)
        assert r.status_code == 200
        assert r.json()["status"] == "success"
        assert time.perf_counter() - started >= 0.3


def test_hang_fault_never_answers_and_does_not_block_shutdown(caplog: pytest.LogCaptureFixture) -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="hang", provider="vobiz"))
    with caplog.at_level(logging.WARNING), running(sim, timeout=30) as client:
        with pytest.raises(httpx2.ReadTimeout):  # a hang never answers: any timeout ends it
            client.get(f"{VOBIZ}/", params={"status": "live"}, headers=VOBIZ_HEADERS, timeout=0.3)
        assert zudu_list(client).status_code == 200
    # The server's thread stopped within its bounded join (it warns when it does not).
    assert [r.getMessage() for r in caplog.records if "did not stop" in r.getMessage()] == []


def test_reset_fault_cuts_the_body_short_and_the_client_sees_a_transport_error() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="reset", times=1))
    with running(sim) as client:
        with pytest.raises(httpx2.TransportError):
            client.get(f"{VOBIZ}/", params={"status": "live"}, headers=VOBIZ_HEADERS)
        assert vobiz_live_ids(client)


def test_html_fault_answers_200_with_an_html_page() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="html", provider="zudu"))
    with running(sim) as client:
        r = zudu_list(client)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert r.text.lstrip().startswith("<!DOCTYPE html>")


def test_truncated_and_empty_body_faults_are_not_json() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="truncated_json", times=1))
    sim.faults.inject(Fault(kind="empty_body", times=1))
    with running(sim) as client:
        for _ in range(2):
            r = exotel_active(client)
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/json"
            with pytest.raises(json.JSONDecodeError):
                json.loads(r.content)
        assert exotel_active(client).json()["http_code"] == 200


def test_huge_body_fault_sends_about_ten_megabytes_of_valid_json() -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="huge_body", provider="zudu", route="list_calls"))
    with running(sim) as client:
        r = zudu_list(client)
        assert 10_000_000 < len(r.content) < 12_000_000
        assert r.json()["data"]["calls"]


def test_payload_faults_damage_the_records_the_client_reads() -> None:
    sim = Simulator()
    with running(sim) as client:
        record = zudu_list(client, limit=1).json()["data"]["calls"][0]
        call_id = record["id"]

        def get() -> dict[str, Any]:
            data: dict[str, Any] = client.get(f"/api/calls/{call_id}", headers=ZUDU_HEADERS).json()["data"]
            return data

        sim.faults.inject(Fault(kind="wrong_types", times=1))
        damaged = get()
        assert damaged["start_timestamp"] == {"value": record["start_timestamp"]}
        assert damaged["call_status"] == [record["call_status"]]
        sim.faults.inject(Fault(kind="missing_fields", times=1))
        damaged = get()
        assert "id" not in damaged
        assert "call_status" not in damaged
        assert "call_id" not in damaged
        sim.faults.inject(Fault(kind="unknown_enum", times=1))
        damaged = get()
        assert damaged["call_status"] == "warm-transfer"
        assert damaged["direction"] == "sideways"
        sim.faults.inject(Fault(kind="extra_fields", times=1))
        damaged = get()
        assert damaged["x_sim_extra"]
        assert damaged["id"] == call_id

        sim.faults.inject(Fault(kind="unknown_enum", provider="exotel", times=1))
        statuses = {c["status"] for c in exotel_active(client).json()["response"]["active_calls"]}
        assert statuses == {"barging"}
        sim.faults.inject(Fault(kind="wrong_types", provider="vobiz", route="list_calls", times=1))
        r = client.get(f"{VOBIZ}/", params={"status": "live"}, headers=VOBIZ_HEADERS)
        assert all(isinstance(c, list) for c in r.json()["calls"])


def test_probability_faults_hit_some_requests_reproducibly() -> None:
    outcomes = []
    for _ in range(2):
        sim = Simulator(seed=9)
        sim.faults.inject(Fault(kind="status", status_code=500, probability=0.5))
        with running(sim) as client:
            outcomes.append([zudu_list(client).status_code for _ in range(20)])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 500}


def test_faults_can_be_injected_listed_and_cleared_over_http() -> None:
    sim = Simulator()
    with running(sim) as client:
        r = client.post("/_sim/faults", json={"kind": "status", "status_code": 502, "provider": "zudu"})
        assert r.status_code == 201
        assert client.get("/_sim/faults").json()["faults"][0]["status_code"] == 502
        assert zudu_list(client).status_code == 502
        assert client.post("/_sim/faults", json={"kind": "status", "status_code": 418}).status_code == 400
        assert client.post("/_sim/faults", json={"kind": "explode"}).status_code == 400
        assert client.delete("/_sim/faults").json() == {"cleared": 1}
        assert zudu_list(client).status_code == 200


def test_faults_validate_their_parameters() -> None:
    with pytest.raises(ValueError, match="status_code"):
        Fault(kind="status", status_code=418)
    with pytest.raises(ValueError, match="retry_after"):
        Fault(kind="latency", retry_after=1)
    with pytest.raises(ValueError, match="probability"):
        Fault(kind="html", probability=1.5)


def test_the_simulator_writes_nothing_to_stdout_and_logs_no_error_for_intended_faults(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    sim = Simulator()
    sim.faults.inject(Fault(kind="reset", times=1))
    sim.faults.inject(Fault(kind="hang", times=1))
    with caplog.at_level(logging.DEBUG), running(sim, timeout=30) as client:
        with pytest.raises(httpx2.TransportError):
            client.get(f"{VOBIZ}/", params={"status": "live"}, headers=VOBIZ_HEADERS)
        with pytest.raises(httpx2.ReadTimeout):
            client.get(f"{VOBIZ}/", params={"status": "live"}, headers=VOBIZ_HEADERS, timeout=0.2)
        assert vobiz_live_ids(client)
    out, _ = capfd.readouterr()
    assert out == ""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# -- fixtures --------------------------------------------------------------------------------------


def test_fixture_mode_serves_the_documentation_examples_verbatim() -> None:
    plivo, flat = "97ceeb52-58b6-11e1-86da-77300b68f8bb", "2ded13fe-4f9b-4958-9bfb-093ea2f29f91"
    with running(Simulator(fixtures=True)) as client:
        assert vobiz_live_ids(client) == [plivo, flat]
        assert vobiz_get(client, plivo).json() == load_fixture("vobiz_live_plivo")
        assert vobiz_get(client, flat).json() == load_fixture("vobiz_live_flat")
        assert vobiz_get(client, "97ceeb52-0000-0000-0000-000000000000").status_code == 404
        assert exotel_active(client).json() == load_fixture("exotel_active")
        r = client.get(f"{EXOTEL}/call_active_001/stream", auth=EXOTEL_AUTH)
        assert r.json() == load_fixture("exotel_stream")
        fixture = load_fixture("zudu_call")
        assert (
            client.get("/api/calls/550e8400-e29b-41d4-a716-446655440000", headers=ZUDU_HEADERS).json()
            == fixture
        )
        assert client.get("/api/calls/call-456", headers=ZUDU_HEADERS).json() == fixture
        listed = zudu_list(client).json()["data"]
        assert listed["calls"] == [fixture["data"]]
        assert listed["pagination"]["total"] == 1
        assert client.get("/api/calls/call-456").status_code == 401


def test_fixture_files_hold_the_documented_identifiers() -> None:
    assert load_fixture("vobiz_live_plivo")["calls"][0]["call_state"] == "ACTIVE"
    assert load_fixture("vobiz_live_flat.json")["call_status"] == "in-progress"
    assert load_fixture("exotel_active")["response"]["total_active"] == 2
    assert load_fixture("zudu_call")["data"]["call_id"] == "call-456"
    with pytest.raises(KeyError):
        load_fixture("nope")


# -- clocks ----------------------------------------------------------------------------------------


def test_manual_clock_only_moves_when_told_and_wall_clock_runs_at_its_speed() -> None:
    clock = ManualClock()
    assert clock.now() == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert clock.now() == clock.now()
    clock.advance(1.5)
    assert clock.now() == datetime(2026, 11, 23, 10, 0, 1, 500000, tzinfo=UTC)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    fast = WallClock(speed=1000)
    a = fast.now()
    b = fast.now()
    assert a.tzinfo is not None
    assert b >= a


def test_a_simulated_provider_that_claims_another_providers_route_is_refused_when_the_simulator_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every provider's routes are served side by side: a newcomer copying its family's paths would
    # otherwise be answered by the other provider (and meet its credentials as a 401).
    import mcp_livecalls.simulator.app as app

    first = SIMULATED[0]
    twin = type("TwinSimulated", (first,), {"name": "twin"})
    monkeypatch.setattr(app, "SIMULATED", (*SIMULATED, twin))

    with pytest.raises(ValueError, match=f"the simulated {first.name} and twin both serve GET "):
        Simulator()
