"""Vobiz against its documents: every documented answer, served to the real adapter.

Each fixture in ``fixtures/vobiz`` is typed from the document its ``source`` names (the docs pages
in provider-docs, the OpenAPI example, Plivo's shapes for the twin API), not from the simulator.
Each test pins the normalized result whole and the requests the adapter made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from contract.harness import PROVIDER_TESTS, Answer, Upstream, asked, calls_of, fixture, load
from pydantic import SecretStr

from mcp_livecalls.core.models import (
    CallStatus,
    Direction,
    LiveCall,
    MediaStream,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound, ConfigError, ProviderUnavailable
from mcp_livecalls.providers.base import ProviderSlice
from mcp_livecalls.providers.vobiz.adapter import VobizProvider, VobizSettings
from providers.kit import documented

pytestmark = pytest.mark.anyio

AUTH_ID = "MA2025RK4E639VJFZAGV"
CALLS = f"/api/v1/Account/{AUTH_ID}/Call"
LIST = CALLS + "/"
FLAT_UUID = "2ded13fe-4f9b-4958-9bfb-093ea2f29f91"
LEGACY_UUID = "97ceeb52-58b6-11e1-86da-77300b68f8bb"
QUEUED_UUID = "7f3c2a10-5e8b-4d21-9a6c-3b2d1e0f9a87"
IST_NOW = datetime(2026, 6, 11, 10, 35, 0, tzinfo=UTC)
"""16:05 in India: 91 s after the flat example's ``session_start`` (16:03:28.586839 local)."""
NOT_OFFERED = ["legs", "bridge", "recording state", "agent", "hold/mute per leg", "latency"]


def provider(upstream: Upstream, *, timezone: str = "Asia/Kolkata", now: datetime = IST_NOW) -> VobizProvider:
    settings = VobizSettings(
        auth_id=SecretStr(AUTH_ID), auth_token=SecretStr("token-7c1e"), timezone=timezone
    )
    return documented(VobizProvider, settings, upstream, now)


def body(name: str) -> Any:
    return load("vobiz", name)["body"]


def flat_call_for(uuid: str) -> Answer:
    """The documented flat call, as the call ``uuid`` (the list fixtures name the calls)."""
    return Answer(200, {**body("live_call_flat"), "call_uuid": uuid, "request_uuid": uuid}, source="flat")


def uuid_of(request: httpx2.Request) -> str:
    return request.url.path.removeprefix(CALLS + "/").strip("/")


def flat_call(uuid: str = FLAT_UUID, **changes: Any) -> LiveCall:
    fields: dict[str, Any] = {
        "provider": ProviderName("vobiz"),
        "call_id": uuid,
        "status": CallStatus.IN_PROGRESS,
        "provider_status": "in-progress",
        "direction": Direction.OUTBOUND,
        "from_number": "919262171438",
        "to_number": "919148227303",
        "started_at": datetime(2026, 6, 11, 10, 33, 28, 586839, tzinfo=UTC),
        "duration_s": 91,
    }
    return LiveCall(**{**fields, **changes})


# -- one call --------------------------------------------------------------------------------------


async def test_the_flat_live_call_of_the_current_docs_reads_its_local_time_in_the_accounts_zone() -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{FLAT_UUID}/", fixture("vobiz", "live_call_flat"))

    call = await provider(upstream).get_call(FLAT_UUID)

    assert call == flat_call()
    assert asked(upstream) == [(f"{CALLS}/{FLAT_UUID}/", {"status": "live"})]


async def test_the_legacy_plivo_style_call_reads_initiation_and_answer_time_in_the_accounts_zone() -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{LEGACY_UUID}/", fixture("vobiz", "live_call_legacy"))
    now = datetime(2014, 10, 15, 3, 36, 43, tzinfo=UTC)  # 09:06:43 in India

    call = await provider(upstream, now=now).get_call(LEGACY_UUID)

    assert call == LiveCall(
        provider=ProviderName("vobiz"),
        call_id=LEGACY_UUID,
        status=CallStatus.IN_PROGRESS,
        provider_status="ACTIVE",
        direction=Direction.OUTBOUND,
        from_number="+14156667777",
        to_number="+14156667778",
        started_at=datetime(2014, 10, 15, 3, 33, 38, tzinfo=UTC),
        answered_at=datetime(2014, 10, 15, 3, 33, 43, tzinfo=UTC),
        duration_s=180,
        stir_attestation="A",
        extras={"stir_verification": "verified"},
    )


async def test_a_queued_call_answers_as_queued_after_the_live_question_gets_vobizs_404() -> None:
    path = f"{CALLS}/{QUEUED_UUID}/"
    upstream = (
        Upstream()
        .on("GET", path, fixture("vobiz", "idle_404_plivo"), params={"status": "live"})
        .on("GET", path, fixture("vobiz", "queued_call"), params={"status": "queued"})
    )

    call = await provider(upstream).get_call(QUEUED_UUID)

    assert call == LiveCall(
        provider=ProviderName("vobiz"),
        call_id=QUEUED_UUID,
        status=CallStatus.QUEUED,
        provider_status="queued",
        direction=Direction.OUTBOUND,
        from_number="918041234567",
        to_number="919845012345",
        started_at=datetime(2026, 6, 11, 10, 34, 55, 120004, tzinfo=UTC),
        duration_s=4,
        extras={"parent_call_uuid": "4a1b2c3d-0e9f-4876-8a5b-c4d3e2f1a0b9"},
    )
    assert asked(upstream) == [(path, {"status": "live"}), (path, {"status": "queued"})]


async def test_the_python_sdks_path_forms_are_learned_per_kind_of_call_and_then_asked_once() -> None:
    """vobiz-ai/Vobiz-Python-SDK live_calls/raw_client.py: lists ``/Call?status=live`` and
    ``/Call/?status=queued``, a live call ``/Call/{uuid}?status=live``, a queued one
    ``/Call/{uuid}/?status=queued``; here each other form answers 401."""
    queued_uuid = body("queued_call_sdk")["call_uuid"]
    upstream = Upstream()
    upstream.on("GET", CALLS, fixture("vobiz", "live_list_short"), params={"status": "live"})
    upstream.on("GET", LIST, fixture("vobiz", "queued_call_sdk_list"), params={"status": "queued"})
    upstream.on(
        "GET", f"{CALLS}/{queued_uuid}/", fixture("vobiz", "queued_call_sdk"), params={"status": "queued"}
    )
    for uuid in body("live_list_short")["calls"]:
        upstream.on("GET", f"{CALLS}/{uuid}", flat_call_for(uuid), params={"status": "live"})
    for path in (LIST, CALLS):
        upstream.on("GET", path, fixture("vobiz", "error_unauthorized"))
    upstream.on("GET", f"{CALLS}/{queued_uuid}", fixture("vobiz", "error_unauthorized"))
    for uuid in body("live_list_short")["calls"]:
        upstream.on("GET", f"{CALLS}/{uuid}/", fixture("vobiz", "error_unauthorized"))
    adapter = provider(upstream)

    await adapter.list_active(ListQuery(), 0, 100)
    learned = len(upstream.requests)
    again = await adapter.list_active(ListQuery(), 0, 100)

    listed = {item.call.call_id: item.call for item in again.items}
    assert list(listed) == [*body("live_list_short")["calls"], queued_uuid]
    assert listed[queued_uuid].status == CallStatus.QUEUED
    assert listed[queued_uuid].started_at is None
    # Learned: two lists and one request per call, none refused.
    assert len(upstream.requests) - learned == 2 + len(listed)
    assert [adapter.path_form(kind) for kind in ("live_list", "queued_list", "live_call", "queued_call")] == [
        "",
        "/",
        "",
        "/",
    ]
    assert not upstream.unmatched


@pytest.mark.parametrize("shape", ["idle_404_error", "idle_404_plivo"])
async def test_a_call_vobiz_answers_404_for_in_either_error_shape_is_not_live(shape: str) -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{FLAT_UUID}/", fixture("vobiz", shape))

    with pytest.raises(CallNotFound, match="not live"):
        await provider(upstream).get_call(FLAT_UUID)

    assert [params["status"] for _, params in asked(upstream)] == ["live", "queued"]


async def test_a_start_more_than_a_minute_ahead_is_said_and_no_duration_is_made_up() -> None:
    """The docs' Indian call read as UTC starts 5 h 30 m in the future: a wrong VOBIZ_TIMEZONE."""
    upstream = Upstream().on("GET", f"{CALLS}/{FLAT_UUID}/", fixture("vobiz", "live_call_flat"))

    call = await provider(upstream, timezone="UTC").get_call(FLAT_UUID)

    assert call == flat_call(
        started_at=datetime(2026, 6, 11, 16, 3, 28, 586839, tzinfo=UTC),
        duration_s=None,
        extras={
            "clock_note": "start 5h28m ahead of this server's clock: Vobiz's zone-less times are read as "
            "UTC; set VOBIZ_TIMEZONE to the Vobiz Console's zone (or fix this clock)"
        },
    )


def test_an_unknown_time_zone_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="VOBIZ_TIMEZONE must be an IANA time zone name"):
        VobizSettings(auth_id=SecretStr(AUTH_ID), auth_token=SecretStr("t"), timezone="India/Mumbai")


# -- path forms ------------------------------------------------------------------------------------


async def test_a_401_on_the_slash_form_is_asked_again_without_it_and_that_form_is_remembered() -> None:
    slashless = f"{CALLS}/{FLAT_UUID}"
    upstream = (
        Upstream()
        .on("GET", slashless + "/", fixture("vobiz", "error_unauthorized"))
        .on("GET", slashless, fixture("vobiz", "live_call_flat"))
    )
    adapter = provider(upstream)

    first = await adapter.get_call(FLAT_UUID)
    second = await adapter.get_call(FLAT_UUID)

    assert first == second == flat_call()
    assert [path for path, _ in asked(upstream)] == [slashless + "/", slashless, slashless]
    assert adapter.path_form("live_call") == ""


async def test_a_401_on_both_path_forms_names_the_credentials_and_the_path_form() -> None:
    call = f"{CALLS}/{FLAT_UUID}"
    unauthorized = fixture("vobiz", "error_unauthorized")
    upstream = Upstream().on("GET", call + "/", unauthorized).on("GET", call, unauthorized)

    with pytest.raises(AuthError) as caught:
        await provider(upstream).get_call(FLAT_UUID)

    message = str(caught.value)
    assert message.startswith("Vobiz rejected the credentials (401): check VOBIZ_AUTH_ID / VOBIZ_AUTH_TOKEN.")
    assert "path form" in message
    assert "token-7c1e" not in message
    assert len(upstream.requests) == 2  # each form once: a 401 is not retried


@pytest.mark.parametrize(
    "answer",
    [
        Answer(404, "<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html"}),
        Answer(404, {"detail": "Not Found"}),
    ],
    ids=["html", "foreign-json"],
)
async def test_a_404_that_is_not_vobizs_own_on_both_path_forms_points_at_the_base_url(answer: Answer) -> None:
    upstream = Upstream().on("GET", LIST, answer).on("GET", CALLS, answer)

    with pytest.raises(ProviderUnavailable, match="check VOBIZ_BASE_URL"):
        await provider(upstream).list_active(ListQuery(), 0, 20)

    assert sorted({path for path, _ in asked(upstream)}) == [CALLS, LIST]


# -- lists -----------------------------------------------------------------------------------------


def by_offset(pages: dict[str, str]) -> Callable[[httpx2.Request], Answer]:
    return lambda request: fixture("vobiz", pages[request.url.params.get("offset", "0")])


class DetailRoutes(Upstream):
    """An upstream whose single-call path answers the flat example as whichever call is asked."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.startswith(CALLS + "/") and request.url.path != LIST:
            self.requests.append(request)
            return self.detail(request).response()
        return super().handle(request)

    def detail(self, request: httpx2.Request) -> Answer:
        return flat_call_for(uuid_of(request))


def live_uuids(*names: str) -> list[str]:
    return [uuid for name in names for uuid in body(name)["calls"]]


async def test_the_live_list_is_paged_by_limit_and_offset_until_a_short_page() -> None:
    upstream = DetailRoutes()
    upstream.on(
        "GET", LIST, by_offset({"0": "live_list_full", "20": "live_list_short"}), params={"status": "live"}
    )
    upstream.on("GET", LIST, fixture("vobiz", "queued_list"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 100)

    expected = live_uuids("live_list_full", "live_list_short") + body("queued_list")["calls"]
    assert calls_of(found) == [flat_call(uuid) for uuid in expected]
    assert (found.exhausted, found.total, found.notes) == (True, 27, [])
    lists = [params for path, params in asked(upstream) if path == LIST]
    assert sorted(lists, key=lambda p: (p["status"], int(p["offset"]))) == [
        {"status": "live", "limit": "20", "offset": "0"},
        {"status": "live", "limit": "20", "offset": "20"},
        {"status": "queued", "limit": "20", "offset": "0"},
    ]


async def test_a_page_that_repeats_means_offset_is_ignored_no_call_is_listed_twice_and_it_is_said() -> None:
    upstream = DetailRoutes()
    upstream.on("GET", LIST, fixture("vobiz", "live_list_full"), params={"status": "live"})
    upstream.on("GET", LIST, fixture("vobiz", "idle_404_error"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 100)

    assert calls_of(found) == [flat_call(uuid) for uuid in live_uuids("live_list_full")]
    assert found.notes == [
        "a page of the live list repeated calls already listed (it added nothing); paging stopped there, "
        "so more live calls may exist"
    ]
    live_lists = [params for path, params in asked(upstream) if path == LIST and params["status"] == "live"]
    assert [params["offset"] for params in live_lists] == ["0", "20"]  # then it stops


async def test_an_answer_longer_than_limit_means_limit_was_ignored_and_one_request_read_everything() -> None:
    """The first reading of the docs: no paging at all, every UUID in one answer."""
    everything = live_uuids("live_list_full", "live_list_short")
    upstream = DetailRoutes()
    upstream.on("GET", LIST, Answer(200, {"api_id": "a", "calls": everything}), params={"status": "live"})
    upstream.on("GET", LIST, fixture("vobiz", "idle_404_plivo"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 100)

    assert calls_of(found) == [flat_call(uuid) for uuid in everything]
    assert (found.total, found.notes) == (25, [])
    assert len([path for path, params in asked(upstream) if path == LIST and params["status"] == "live"]) == 1


async def test_a_later_page_failing_keeps_the_calls_already_read_and_says_more_may_be_missing() -> None:
    upstream = DetailRoutes()
    pages = {"0": fixture("vobiz", "live_list_full"), "20": fixture("vobiz", "error_generic")}
    upstream.on("GET", LIST, lambda request: pages[request.url.params["offset"]], params={"status": "live"})
    upstream.on("GET", LIST, fixture("vobiz", "idle_404_error"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 100)

    assert calls_of(found) == [flat_call(uuid) for uuid in live_uuids("live_list_full")]
    assert found.notes == [
        "the live list could be read only to its first 20 calls, so more live calls may be missing: "
        "Vobiz had an internal error (500); try again later. Vobiz says: Something went wrong while "
        "fetching queued calls"
    ]


async def test_each_kind_of_list_learns_its_own_path_form() -> None:
    """The OpenAPI spec writes the live list as ``/Call`` and the queued list as ``/Call/``."""
    upstream = DetailRoutes()
    upstream.on("GET", LIST, fixture("vobiz", "error_unauthorized"), params={"status": "live"})
    upstream.on("GET", CALLS, fixture("vobiz", "live_list_short"), params={"status": "live"})
    upstream.on("GET", LIST, fixture("vobiz", "queued_list"), params={"status": "queued"})
    upstream.on("GET", CALLS, fixture("vobiz", "error_unauthorized"), params={"status": "queued"})
    adapter = provider(upstream)

    await adapter.list_active(ListQuery(), 0, 100)
    again = await adapter.list_active(ListQuery(), 0, 100)

    assert [item.call.call_id for item in again.items] == live_uuids("live_list_short", "queued_list")
    assert (adapter.path_form("live_list"), adapter.path_form("queued_list")) == ("", "/")
    lists = [(path, params["status"]) for path, params in asked(upstream) if path in (LIST, CALLS)]
    assert lists.count((LIST, "live")) == 1  # the refused form is not asked again
    assert lists.count((CALLS, "live")) == 2
    assert lists.count((LIST, "queued")) == 2
    assert lists.count((CALLS, "queued")) == 0


@pytest.mark.parametrize("shape", ["idle_404_error", "idle_404_plivo"])
async def test_an_idle_account_answering_vobizs_own_404_on_its_lists_has_no_calls(shape: str) -> None:
    upstream = Upstream().on("GET", LIST, fixture("vobiz", shape))

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert found == ProviderSlice(items=[], exhausted=True, scanned_to=0, total=0)
    assert sorted(params["status"] for _, params in asked(upstream)) == ["live", "queued"]


async def test_a_failing_queued_list_leaves_the_live_calls_listed_and_says_what_failed() -> None:
    upstream = DetailRoutes()
    upstream.on("GET", LIST, fixture("vobiz", "live_list_short"), params={"status": "live"})
    upstream.on("GET", LIST, fixture("vobiz", "error_generic"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert calls_of(found) == [flat_call(uuid) for uuid in live_uuids("live_list_short")]
    assert found.total is None  # not the whole population
    assert found.notes == [
        "the queued list could not be read, so queued calls are missing: Vobiz had an internal error "
        "(500); try again later. Vobiz says: Something went wrong while fetching queued calls"
    ]


async def test_one_calls_details_failing_loses_only_that_call_and_names_it() -> None:
    broken = body("live_list_short")["calls"][2]

    class OneBroken(DetailRoutes):
        def detail(self, request: httpx2.Request) -> Answer:
            return (
                fixture("vobiz", "error_generic") if uuid_of(request) == broken else super().detail(request)
            )

    upstream = OneBroken()
    upstream.on("GET", LIST, fixture("vobiz", "live_list_short"), params={"status": "live"})
    upstream.on("GET", LIST, Answer(200, {"api_id": "q", "calls": []}), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert calls_of(found) == [flat_call(u) for u in live_uuids("live_list_short") if u != broken]
    assert found.exhausted
    assert found.notes == [
        f"1 listed call(s) left out, their details could not be read: {broken}: Vobiz had an internal "
        "error (500); try again later. Vobiz says: Something went wrong while fetching queued calls"
    ]


async def test_a_call_that_ended_between_list_and_details_is_left_out_without_a_note() -> None:
    ended = body("live_list_short")["calls"][0]

    class OneEnded(DetailRoutes):
        def detail(self, request: httpx2.Request) -> Answer:
            return (
                fixture("vobiz", "idle_404_plivo") if uuid_of(request) == ended else super().detail(request)
            )

    upstream = OneEnded()
    upstream.on("GET", LIST, fixture("vobiz", "live_list_short"), params={"status": "live"})
    upstream.on("GET", LIST, Answer(200, {"api_id": "q", "calls": []}), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert calls_of(found) == [flat_call(u) for u in live_uuids("live_list_short") if u != ended]
    assert found.notes == []


# -- streams ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["streams_paged", "stream_bare"])
async def test_media_streams_read_the_paged_and_the_bare_object_keeping_their_offset(shape: str) -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{FLAT_UUID}/", fixture("vobiz", "live_call_flat"))
        .on("GET", f"{CALLS}/{FLAT_UUID}/Stream/", fixture("vobiz", shape))
    )

    details = await provider(upstream).get_stream(FLAT_UUID)

    assert details == StreamDetails(
        provider=ProviderName("vobiz"),
        call_id=FLAT_UUID,
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        duration_s=91,
        media_streams=[
            MediaStream(
                stream_id="b4c1f0d2-7a3e-4e59-9d1b-6c2a8e4f3b10",
                status="in-progress",
                audio_track="inbound",
                bidirectional=True,
                started_at=datetime(2026, 6, 11, 10, 33, 30, tzinfo=UTC),
            )
        ],
        not_offered=NOT_OFFERED,
    )
    assert [path for path, _ in asked(upstream)] == [f"{CALLS}/{FLAT_UUID}/", f"{CALLS}/{FLAT_UUID}/Stream/"]


async def test_a_failing_stream_list_still_shows_the_call_and_says_streams_are_missing() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{FLAT_UUID}/", fixture("vobiz", "live_call_flat"))
        .on("GET", f"{CALLS}/{FLAT_UUID}/Stream/", fixture("vobiz", "error_generic"))
    )

    details = await provider(upstream).get_stream(FLAT_UUID)

    assert (details.call_id, details.media_streams, details.duration_s) == (FLAT_UUID, [], 91)
    assert details.not_offered == [*NOT_OFFERED, "media streams (the Stream endpoint did not answer)"]


def test_every_fixture_says_which_document_it_stands_for() -> None:
    names = sorted(path.stem for path in (PROVIDER_TESTS / "vobiz" / "fixtures").glob("*.json"))
    assert len(names) == 14
    for name in names:
        document = load("vobiz", name)
        assert document["source"]
        assert isinstance(document["status"], int)
