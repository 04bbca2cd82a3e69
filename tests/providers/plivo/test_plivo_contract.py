"""Plivo against its documents: every documented answer, served to the real adapter.

Each fixture in ``fixtures/plivo`` is typed from the document its ``source`` names (plivo-python's
test fixtures and resources, Plivo's API pages as summarised in NOTES.md), not from the simulator.
Each test pins the normalized result whole and the requests the adapter made.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from contract.harness import PROVIDER_TESTS, Answer, Upstream, asked, calls_of, fixture, load
from pydantic import SecretStr

from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import (
    CallStatus,
    Direction,
    LiveCall,
    MediaStream,
    ProviderName,
    StreamDetails,
)
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import (
    AuthError,
    BadResponse,
    CallNotFound,
    ConfigError,
    ProviderUnavailable,
    RateLimited,
)
from mcp_livecalls.providers.base import ProviderSlice
from mcp_livecalls.providers.plivo.adapter import PlivoProvider, PlivoSettings
from mcp_livecalls.upstream.pacing import RequestPacer
from mcp_livecalls.upstream.policy import HttpPolicy
from providers.kit import documented

pytestmark = pytest.mark.anyio

AUTH_ID = "MAODZKMDFJMJU3MTEYNG"
TOKEN = "plivo-token-5e2f0b9a"
CALLS = f"/v1/Account/{AUTH_ID}/Call"
LIST = CALLS + "/"
SDK_UUID = "3f9b6e21-8c4d-4e7a-b5f0-2a1d9c8e7b64"
DOCS_UUID = "b7d5e0c3-1f2a-4c6b-9e8d-5a4f3b2c1d0e"
QUEUED_UUID = "d4c3b2a1-0f9e-4d8c-b7a6-5e4d3c2b1a09"
NOW = datetime(2026, 11, 25, 18, 3, 41, 204518, tzinfo=UTC)
"""90 s after the SDK example's ``session_start`` (18:02:11.204518, UTC)."""
NOT_OFFERED = ["legs", "bridge", "recording state", "agent", "hold/mute per leg", "latency"]


def plivo(name: str) -> Answer:
    return fixture("plivo", name)


def body(name: str) -> Any:
    return load("plivo", name)["body"]


def provider(upstream: Upstream, *, now: datetime = NOW) -> PlivoProvider:
    settings = PlivoSettings(auth_id=SecretStr(AUTH_ID), auth_token=SecretStr(TOKEN))
    return documented(PlivoProvider, settings, upstream, now)


def sdk_call(uuid: str = SDK_UUID, **changes: Any) -> LiveCall:
    fields: dict[str, Any] = {
        "provider": ProviderName("plivo"),
        "call_id": uuid,
        "status": CallStatus.IN_PROGRESS,
        "provider_status": "in-progress",
        "direction": Direction.OUTBOUND,
        "from_number": "+14155550142",
        "to_number": "919845012345",
        "started_at": datetime(2026, 11, 25, 18, 2, 11, 204518, tzinfo=UTC),
        "duration_s": 90,
    }
    return LiveCall(**{**fields, **changes})


def uuid_of(request: httpx2.Request) -> str:
    return request.url.path.removeprefix(CALLS + "/").strip("/")


# -- one call --------------------------------------------------------------------------------------


async def test_the_sdks_live_call_is_read_with_basic_auth_on_plivos_slash_path_and_utc_session_start() -> (
    None
):
    upstream = Upstream().on("GET", f"{CALLS}/{SDK_UUID}/", plivo("live_call_sdk"))

    call = await provider(upstream).get_call(SDK_UUID)

    assert call == sdk_call()
    assert asked(upstream) == [(f"{CALLS}/{SDK_UUID}/", {"status": "live"})]
    expected = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()
    assert upstream.requests[0].headers["Authorization"] == expected


async def test_the_docs_live_call_keeps_caller_name_and_the_related_uuids_in_extras() -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{DOCS_UUID}/", plivo("live_call_docs"))

    call = await provider(upstream).get_call(DOCS_UUID)

    assert call == LiveCall(
        provider=ProviderName("plivo"),
        call_id=DOCS_UUID,
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        direction=Direction.INBOUND,
        from_number="918041234567",
        to_number="14155550188",
        caller_name="Asha Rao",
        started_at=datetime(2026, 11, 25, 18, 3, 0, tzinfo=UTC),
        duration_s=41,
        extras={
            "request_uuid": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
            "parent_call_uuid": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            "stir_verification": "Verified",
        },
    )


async def test_a_queued_call_answers_as_queued_after_the_live_question_gets_plivos_404() -> None:
    path = f"{CALLS}/{QUEUED_UUID}/"
    upstream = (
        Upstream()
        .on("GET", path, plivo("not_found"), params={"status": "live"})
        .on("GET", path, plivo("queued_call"), params={"status": "queued"})
    )

    call = await provider(upstream).get_call(QUEUED_UUID)

    assert call == LiveCall(
        provider=ProviderName("plivo"),
        call_id=QUEUED_UUID,
        status=CallStatus.QUEUED,
        provider_status="queued",
        direction=Direction.OUTBOUND,
        from_number="14155550142",
        to_number="447700900123",
    )
    assert asked(upstream) == [(path, {"status": "live"}), (path, {"status": "queued"})]


async def test_a_call_plivo_answers_404_for_as_live_and_as_queued_is_not_live() -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{SDK_UUID}/", plivo("not_found"))

    with pytest.raises(CallNotFound, match="not live"):
        await provider(upstream).get_call(SDK_UUID)

    assert [params["status"] for _, params in asked(upstream)] == ["live", "queued"]


async def test_a_start_ahead_of_the_clock_is_said_with_no_zone_variable_to_blame() -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{SDK_UUID}/", plivo("live_call_sdk"))
    early = datetime(2026, 11, 25, 16, 0, 0, tzinfo=UTC)

    call = await provider(upstream, now=early).get_call(SDK_UUID)

    assert call == sdk_call(
        duration_s=None,
        extras={
            "clock_note": "start 2h02m ahead of this server's clock: Plivo's zone-less times are read "
            "as UTC; check this clock"
        },
    )


# -- errors ----------------------------------------------------------------------------------------


async def test_a_401_names_plivos_credentials_at_once_without_trying_another_path_form() -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{SDK_UUID}/", plivo("unauthorized"))

    with pytest.raises(AuthError) as caught:
        await provider(upstream).get_call(SDK_UUID)

    assert (
        caught.value.message
        == "Plivo rejected the credentials (401): check PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN."
    )
    assert len(upstream.requests) == 1
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(404, "<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html"}),
        Answer(404, {"detail": "Not Found"}),
    ],
    ids=["html", "foreign-json"],
)
async def test_a_404_that_is_not_plivos_own_on_the_list_points_at_the_base_url(answer: Answer) -> None:
    upstream = Upstream().on("GET", LIST, answer)

    with pytest.raises(ProviderUnavailable) as caught:
        await provider(upstream).list_active(ListQuery(), 0, 20)

    assert caught.value.message == (
        "Plivo answered 404 without Plivo's error body: this does not look like the Plivo API; "
        "check PLIVO_BASE_URL."
    )
    assert {path for path, _ in asked(upstream)} == {LIST}


async def test_a_429_with_a_short_retry_after_is_retried_then_reported_with_its_wait() -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{SDK_UUID}/", plivo("rate_limited"))

    with pytest.raises(RateLimited) as caught:
        await provider(upstream).get_call(SDK_UUID)

    assert (caught.value.retry_after, caught.value.status_code) == (2.0, 429)
    assert len(upstream.requests) == HttpPolicy().retry_attempts


@pytest.mark.parametrize("transient", ["rate_limited", "unavailable"])
async def test_a_429_or_a_503_is_retried_and_the_next_answer_counts(transient: str) -> None:
    answers = [plivo(transient), plivo("live_call_sdk")]
    upstream = Upstream().on("GET", f"{CALLS}/{SDK_UUID}/", lambda _request: answers.pop(0))

    assert await provider(upstream).get_call(SDK_UUID) == sdk_call()
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (
            "server_error",
            ProviderUnavailable,
            "Plivo had an internal error (500); try again later. Plivo says: internal server error",
        ),
        # Plivo's error body in a 200 is Plivo's error, not read as a call.
        ("error_in_200", BadResponse, "Plivo answered with an error: invalid request"),
    ],
)
async def test_an_error_answer_becomes_the_projects_error_with_plivos_own_words(
    name: str, error: type[Exception], message: str
) -> None:
    upstream = Upstream().on("GET", f"{CALLS}/{SDK_UUID}/", plivo(name))

    with pytest.raises(error) as caught:
        await provider(upstream).get_call(SDK_UUID)

    assert str(caught.value) == message


# -- lists -----------------------------------------------------------------------------------------


class DetailRoutes(Upstream):
    """An upstream whose single-call path answers the SDK's call as whichever call is asked."""

    def __init__(self, direction: str = "outbound") -> None:
        super().__init__()
        self.direction = direction

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.startswith(CALLS + "/") and request.url.path != LIST:
            self.requests.append(request)
            return self.detail(request).response()
        return super().handle(request)

    def detail(self, request: httpx2.Request) -> Answer:
        uuid = uuid_of(request)
        return Answer(
            200,
            {**body("live_call_sdk"), "call_uuid": uuid, "request_uuid": uuid, "direction": self.direction},
        )


def by_offset(pages: dict[str, str]) -> Callable[[httpx2.Request], Answer]:
    return lambda request: plivo(pages[request.url.params.get("offset", "0")])


def uuids(*names: str) -> list[str]:
    return [uuid for name in names for uuid in body(name)["calls"]]


async def test_the_live_and_queued_lists_are_paged_by_limit_and_offset_until_a_short_page() -> None:
    upstream = DetailRoutes()
    upstream.on(
        "GET", LIST, by_offset({"0": "live_list_full", "20": "live_list_short"}), params={"status": "live"}
    )
    upstream.on("GET", LIST, plivo("queued_list"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 100)

    expected = uuids("live_list_full", "live_list_short", "queued_list")
    assert calls_of(found) == [sdk_call(uuid) for uuid in expected]
    assert (found.exhausted, found.total, found.notes) == (True, 25, [])
    lists = [params for path, params in asked(upstream) if path == LIST]
    assert sorted(lists, key=lambda p: (p["status"], int(p["offset"]))) == [
        {"status": "live", "limit": "20", "offset": "0"},
        {"status": "live", "limit": "20", "offset": "20"},
        {"status": "queued", "limit": "20", "offset": "0"},
    ]


async def test_pages_of_the_cross_provider_cursor_return_each_call_once() -> None:
    upstream = DetailRoutes()
    upstream.on(
        "GET", LIST, by_offset({"0": "live_list_full", "20": "live_list_short"}), params={"status": "live"}
    )
    upstream.on("GET", LIST, plivo("queued_list"), params={"status": "queued"})
    adapter = provider(upstream)

    seen: list[str] = []
    offset = 0
    for _ in range(10):
        page = await adapter.list_active(ListQuery(), offset, 7)
        seen += [item.call.call_id for item in page.items]
        if page.exhausted:
            break
        offset = page.items[-1].next_offset

    assert seen == uuids("live_list_full", "live_list_short", "queued_list")


async def test_a_direction_filter_is_sent_on_the_live_list_and_applied_locally_to_queued_calls() -> None:
    queued_outbound = body("queued_list")["calls"][0]

    class Mixed(DetailRoutes):
        def detail(self, request: httpx2.Request) -> Answer:
            answer = super().detail(request)
            direction = "outbound" if uuid_of(request) == queued_outbound else "inbound"
            return Answer(200, {**answer.body, "direction": direction})

    upstream = Mixed()
    upstream.on("GET", LIST, plivo("live_list_short"), params={"status": "live", "call_direction": "inbound"})
    upstream.on("GET", LIST, plivo("queued_list"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(direction=Direction.INBOUND), 0, 20)

    expected = [u for u in uuids("live_list_short", "queued_list") if u != queued_outbound]
    assert calls_of(found) == [sdk_call(uuid, direction=Direction.INBOUND) for uuid in expected]
    assert found.local_filters == ["direction"]
    lists = sorted((params for path, params in asked(upstream) if path == LIST), key=lambda p: p["status"])
    assert lists == [
        {"call_direction": "inbound", "status": "live", "limit": "20", "offset": "0"},
        {"status": "queued", "limit": "20", "offset": "0"},
    ]


async def test_a_list_of_call_objects_is_read_by_their_call_uuid() -> None:
    upstream = DetailRoutes()
    upstream.on("GET", LIST, plivo("live_list_objects"), params={"status": "live"})
    upstream.on("GET", LIST, plivo("idle_list"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert calls_of(found) == [sdk_call(SDK_UUID), sdk_call(DOCS_UUID)]


async def test_a_list_entry_that_is_neither_a_uuid_nor_a_call_object_is_a_bad_response() -> None:
    upstream = Upstream().on("GET", LIST, Answer(200, {"api_id": "x", "calls": [42]}))

    with pytest.raises(BadResponse):
        await provider(upstream).list_active(ListQuery(), 0, 20)


async def test_an_idle_account_has_no_calls() -> None:
    upstream = Upstream().on("GET", LIST, plivo("idle_list"))

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert found == ProviderSlice(items=[], exhausted=True, scanned_to=0, total=0)
    assert sorted(params["status"] for _, params in asked(upstream)) == ["live", "queued"]


async def test_a_failing_queued_list_leaves_the_live_calls_listed_and_says_what_failed() -> None:
    upstream = DetailRoutes()
    upstream.on("GET", LIST, plivo("live_list_short"), params={"status": "live"})
    upstream.on("GET", LIST, plivo("server_error"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert calls_of(found) == [sdk_call(uuid) for uuid in uuids("live_list_short")]
    assert found.total is None
    assert found.notes == [
        "the queued list could not be read, so queued calls are missing: Plivo had an internal error "
        "(500); try again later. Plivo says: internal server error"
    ]


async def test_one_calls_details_failing_loses_only_that_call_and_names_it() -> None:
    broken = body("live_list_short")["calls"][1]

    class OneBroken(DetailRoutes):
        def detail(self, request: httpx2.Request) -> Answer:
            return plivo("server_error") if uuid_of(request) == broken else super().detail(request)

    upstream = OneBroken()
    upstream.on("GET", LIST, plivo("live_list_short"), params={"status": "live"})
    upstream.on("GET", LIST, plivo("idle_list"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 20)

    assert calls_of(found) == [sdk_call(u) for u in uuids("live_list_short") if u != broken]
    assert found.notes == [
        f"1 listed call(s) left out, their details could not be read: {broken}: Plivo had an internal "
        "error (500); try again later. Plivo says: internal server error"
    ]


async def test_a_401_on_the_list_is_an_auth_error_naming_plivos_variables() -> None:
    upstream = Upstream().on("GET", LIST, plivo("unauthorized"))

    with pytest.raises(AuthError, match="check PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN"):
        await provider(upstream).list_active(ListQuery(), 0, 20)


# -- streams ---------------------------------------------------------------------------------------


async def test_media_streams_read_the_sdks_meta_and_objects_list() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{SDK_UUID}/", plivo("live_call_sdk"))
        .on("GET", f"{CALLS}/{SDK_UUID}/Stream/", plivo("streams"))
    )

    details = await provider(upstream).get_stream(SDK_UUID)

    assert details == StreamDetails(
        provider=ProviderName("plivo"),
        call_id=SDK_UUID,
        status=CallStatus.IN_PROGRESS,
        provider_status="in-progress",
        duration_s=90,
        media_streams=[
            MediaStream(
                stream_id="6d7e8f90-1a2b-4c3d-9e4f-5a6b7c8d9e0f",
                status="in-progress",
                started_at=datetime(2026, 11, 25, 18, 2, 13, tzinfo=UTC),
            )
        ],
        not_offered=NOT_OFFERED,
    )
    assert [path for path, _ in asked(upstream)] == [f"{CALLS}/{SDK_UUID}/", f"{CALLS}/{SDK_UUID}/Stream/"]


async def test_a_failing_stream_list_still_shows_the_call_and_says_streams_are_missing() -> None:
    upstream = (
        Upstream()
        .on("GET", f"{CALLS}/{SDK_UUID}/", plivo("live_call_sdk"))
        .on("GET", f"{CALLS}/{SDK_UUID}/Stream/", plivo("server_error"))
    )

    details = await provider(upstream).get_stream(SDK_UUID)

    assert (details.call_id, details.media_streams, details.duration_s) == (SDK_UUID, [], 90)
    assert details.not_offered == [*NOT_OFFERED, "media streams (the Stream endpoint did not answer)"]


# -- settings, pacing, secrets ---------------------------------------------------------------------


def test_settings_come_from_plivos_variables_with_the_documented_host() -> None:
    settings = Settings.from_env({"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN})

    assert settings.provider(ProviderName("plivo")) == PlivoSettings(
        auth_id=SecretStr(AUTH_ID), auth_token=SecretStr(TOKEN), base_url="https://api.plivo.com"
    )


def test_a_half_set_plivo_is_a_config_error_naming_the_missing_variable() -> None:
    with pytest.raises(ConfigError, match="PLIVO_AUTH_TOKEN"):
        Settings.from_env({"PLIVO_AUTH_ID": AUTH_ID})


def test_requests_are_paced_so_no_five_seconds_hold_more_than_300() -> None:
    pacer = provider(Upstream()).http.pacer

    assert isinstance(pacer, RequestPacer)
    assert pacer.capacity + 5 * pacer.per_second <= 300
    assert pacer.per_second >= 30  # not slower than needed


def test_the_account_and_the_basic_auth_pair_are_declared_for_pacing_and_redaction() -> None:
    settings = PlivoSettings(auth_id=SecretStr(AUTH_ID), auth_token=SecretStr(TOKEN))
    pair = base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()

    assert PlivoProvider.pacing_account(settings) == AUTH_ID
    assert PlivoProvider.redaction_pairs(settings) == [(AUTH_ID, TOKEN)]
    redact = provider(Upstream()).http.redact
    assert redact(f"Authorization: Basic {pair}; token {TOKEN}; id {AUTH_ID}").count("Basic ") == 1
    assert all(secret not in redact(f"{pair} {TOKEN} {AUTH_ID}") for secret in (pair, TOKEN, AUTH_ID))


def test_every_fixture_says_which_document_it_stands_for() -> None:
    names = sorted(path.stem for path in (PROVIDER_TESTS / "plivo" / "fixtures").glob("*.json"))
    assert len(names) == 15
    for name in names:
        document = load("plivo", name)
        assert document["source"]
        assert isinstance(document["status"], int)


async def test_a_list_that_ignores_offset_stops_at_the_repeated_page_and_says_so() -> None:
    upstream = DetailRoutes()
    upstream.on("GET", LIST, plivo("live_list_full"), params={"status": "live"})  # every offset alike
    upstream.on("GET", LIST, plivo("idle_list"), params={"status": "queued"})

    found = await provider(upstream).list_active(ListQuery(), 0, 100)

    assert calls_of(found) == [sdk_call(uuid) for uuid in uuids("live_list_full")]
    assert found.notes == [
        "a page of the live list repeated calls already listed (it added nothing); paging stopped there, "
        "so more live calls may exist"
    ]
    live = [
        params["offset"] for path, params in asked(upstream) if path == LIST and params["status"] == "live"
    ]
    assert live == ["0", "20"]
