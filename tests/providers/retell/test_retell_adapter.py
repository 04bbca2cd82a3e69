"""Retell AI against the simulator over loopback HTTP: truth of state in every documented flavour,
privacy, errors, and every tool through a real MCP client."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import quote

import anyio
import pytest
from mcp import Client

from mcp_livecalls.core.models import CallStatus, Direction
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, CallNotFound
from mcp_livecalls.providers.retell.adapter import RetellProvider
from mcp_livecalls.providers.retell.simulated import RETELL_FLAVOURS, retell_status
from mcp_livecalls.simkit.calls import SimCall
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator
from mcp_livecalls.simulator.faults import FAULT_KINDS, Fault
from mcp_livecalls.upstream.policy import HttpPolicy
from providers.kit import (
    adapter_on,
    busiest_agent,
    calls_listed,
    client_on,
    list_pages,
    loopback,
    read_all,
    simulated,
    text_of,
)

pytestmark = pytest.mark.anyio

KEY = DEMO_CREDENTIALS.retell_api_key


def _flavoured(flavours: tuple[str, ...] = (), live_calls: int = 30, seed: int = 11) -> Simulator:
    """Retell calls a minute and a half in: some have ended and stay retrievable, some are
    still registered (dialling)."""
    simulator = simulated("retell", seed=seed, live_calls=live_calls, flavours=flavours)
    clock = simulator.clock
    assert isinstance(clock, ManualClock)
    clock.advance(90)
    return simulator


def _truth(simulator: Simulator) -> tuple[dict[str, SimCall], set[str], set[str]]:
    """The ongoing calls by id (what a live list shows), the registered ones (found by id, never
    listed: the filter refuses ``registered``), and the ended ones still retrievable."""
    ts = simulator.now_ts()
    visible = simulator.population.visible("retell")
    ongoing = {c.id: c for c in visible if retell_status(c, ts) == "ongoing"}
    registered = {c.id for c in visible if retell_status(c, ts) == "registered"}
    ended = {c.id for c in visible} - set(ongoing) - registered
    return ongoing, registered, ended


def _of_agent(calls: dict[str, SimCall], agent: str) -> list[str]:
    return sorted(i for i, c in calls.items() if c.agent is not None and c.agent.id == agent)


async def _page_through(adapter: RetellProvider, query: ListQuery, limit: int) -> list[str]:
    found = await read_all(adapter, query, limit)
    assert found.notes == []
    return [item.call.call_id for item in found.items]


FLAVOUR_SETS = [
    (),
    *((name,) for name in sorted(RETELL_FLAVOURS)),
    tuple(sorted(RETELL_FLAVOURS - {"retell.storage_basic_only"})),
]


@pytest.mark.parametrize("flavours", FLAVOUR_SETS, ids=lambda f: "+".join(f) or "plain")
async def test_in_every_flavour_paging_lists_each_ongoing_call_once_and_every_listed_call_opens(
    flavours: tuple[str, ...],
) -> None:
    simulator = _flavoured(flavours)
    ongoing, registered, ended = _truth(simulator)
    agent = busiest_agent(list(ongoing.values()))
    async with adapter_on(simulator, RetellProvider) as adapter:
        everyone = await _page_through(adapter, ListQuery(), 4)
        by_agent = await _page_through(adapter, ListQuery(agent_id=agent), 3)
        inbound = await _page_through(adapter, ListQuery(direction=Direction.INBOUND), 2)
        opened = [await adapter.get_call(call_id) for call_id in everyone]
        dialling = [await adapter.get_call(call_id) for call_id in sorted(registered)]

    assert ended, "the scenario must have ended calls for the last check to mean something"
    assert len(everyone) == len(set(everyone)) > 8
    assert set(everyone) == set(ongoing)
    assert sorted(by_agent) == sorted(
        i for i, c in ongoing.items() if c.agent is not None and c.agent.id == agent
    )
    assert len(by_agent) > 1
    assert sorted(inbound) == sorted(
        i for i, c in ongoing.items() if not c.web_call and c.direction == "inbound"
    )
    assert [call.call_id for call in opened] == everyone
    assert {call.status for call in opened} == {CallStatus.IN_PROGRESS}
    assert {call.status for call in dialling} <= {CallStatus.QUEUED}
    assert not (ended | registered) & (set(everyone) | set(by_agent) | set(inbound))


async def test_pages_follow_the_pagination_key_one_request_a_page() -> None:
    simulator = _flavoured(live_calls=40)
    ongoing, _, _ = _truth(simulator)
    async with adapter_on(simulator, RetellProvider) as adapter:
        seen = await _page_through(adapter, ListQuery(), 5)

    assert sorted(seen) == sorted(ongoing)
    assert simulator.requests[("retell", "list_calls")] == -(-len(seen) // 5)


@pytest.mark.parametrize("flavour", ["retell.storage_except_pii", "retell.storage_basic_only"])
async def test_a_storage_setting_that_keeps_text_out_hides_transcript_metadata_and_logs(flavour: str) -> None:
    simulator = _flavoured(("retell.live_transcript", flavour), live_calls=40)
    ongoing, _, ended = _truth(simulator)
    headers = {"Authorization": f"Bearer {KEY}"}
    checked = 0
    async with loopback(simulator) as served:
        adapter = served.adapter(RetellProvider)
        for call_id in sorted(set(ongoing) | ended):
            raw = (await served.http.get(f"{served.url}/v2/get-call/{call_id}", headers=headers)).json()
            said = [turn["content"] for turn in raw.get("transcript_object", [])]
            call = await adapter.get_call(call_id)
            stream = await adapter.get_stream(call_id)
            assert call.sensitive_data_hidden is stream.sensitive_data_hidden is True
            assert call.extras["data_storage_setting"] == raw["data_storage_setting"]
            assert call.transcript == stream.transcript == []
            for dumped in (call.model_dump_json(), stream.model_dump_json()):
                for text in [
                    *said,
                    *map(json.dumps, raw["metadata"].values()),
                    raw.get("public_log_url", "~"),
                ]:
                    assert text.strip('"') not in dumped
            keeps_recording = flavour == "retell.storage_except_pii" and "recording_url" in raw
            assert (call.recording is not None) == keeps_recording
            checked += bool(said)

    assert checked > 3  # the simulator did send transcripts to hide


async def test_with_everything_stored_a_live_transcript_latency_and_cost_in_dollars_come_through() -> None:
    simulator = _flavoured(("retell.live_transcript",), live_calls=40)
    ongoing, _, _ = _truth(simulator)
    headers = {"Authorization": f"Bearer {KEY}"}
    shown = 0
    async with loopback(simulator) as served:
        adapter = served.adapter(RetellProvider)
        for call_id in sorted(ongoing):
            raw = (await served.http.get(f"{served.url}/v2/get-call/{call_id}", headers=headers)).json()
            if raw["data_storage_setting"] != "everything" or not raw["transcript_object"]:
                continue
            call = await adapter.get_call(call_id)
            shown += 1
            assert [turn.text for turn in call.transcript] == [t["content"] for t in raw["transcript_object"]]
            assert {turn.role for turn in call.transcript} <= {"agent", "user"}
            assert call.cost is not None
            assert call.cost.currency == "USD"
            assert call.cost.total == pytest.approx(raw["call_cost"]["combined_cost"] / 100)
            assert set(call.latency) == set(raw["latency"])

    assert shown > 0


@pytest.mark.parametrize("flavours", [(), ("retell.not_found_404",)], ids=["422", "404"])
async def test_an_unknown_call_is_call_not_found(flavours: tuple[str, ...]) -> None:
    simulator = _flavoured(flavours)
    async with adapter_on(simulator, RetellProvider) as adapter:
        with pytest.raises(CallNotFound, match="not live \\(it may have ended\\)"):
            await adapter.get_call("0" * 32)


async def test_a_wrong_key_names_the_variable_and_never_the_key() -> None:
    simulator = _flavoured()
    wrong = DEMO_CREDENTIALS.replace(retell_api_key="key_wrong_4c1d9e8f0a2b")
    async with adapter_on(simulator, RetellProvider, wrong) as adapter:
        with pytest.raises(AuthError) as listing:
            await adapter.list_active(ListQuery(), 0, 10)
        with pytest.raises(AuthError) as lookup:
            await adapter.get_call("0" * 32)

    for caught in (listing, lookup):
        assert str(caught.value) == "Retell AI rejected the credentials (401): check RETELL_API_KEY."


async def test_the_simulator_in_fixture_mode_lists_nothing_and_finds_nothing() -> None:
    simulator = Simulator(fixtures=True)
    async with adapter_on(simulator, RetellProvider) as adapter:
        piece = await adapter.list_active(ListQuery(), 0, 10)
        with pytest.raises(CallNotFound):
            await adapter.get_call("0" * 32)

    assert (piece.items, piece.exhausted) == ([], True)


# -- through the MCP client --------------------------------------------------------------------


async def _mcp_page_through(client: Client, arguments: dict[str, Any]) -> tuple[list[str], list[str]]:
    results = await list_pages(client, arguments)
    texts = [json.dumps([c.model_dump() for c in result.content]) for result in results]
    return [call["call_id"] for call in calls_listed(results, "retell")], texts


@pytest.mark.parametrize(
    "flavours",
    [(), ("retell.no_total",), ("retell.no_has_more", "retell.live_transcript")],
    ids=["plain", "no_total", "no_has_more+live_transcript"],
)
async def test_through_the_mcp_client_every_tool_answers_each_ongoing_call_and_no_secret_shows(
    flavours: tuple[str, ...],
) -> None:
    simulator = _flavoured(flavours, live_calls=12)
    ongoing, _, ended = _truth(simulator)
    agent = busiest_agent(list(ongoing.values()))
    tokens = [str(c.extra["access_token"]) for c in simulator.population.visible("retell") if c.web_call]
    outputs: list[str] = []
    async with client_on(simulator) as client:
        everyone, texts = await _mcp_page_through(client, {"provider": "retell", "limit": 3})
        outputs += texts
        by_agent, texts = await _mcp_page_through(client, {"agent_id": agent, "limit": 2})
        outputs += texts
        for call_id in everyone:
            for tool in ("get_live_call", "get_stream_details"):
                result = await client.call_tool(tool, {"call_id": call_id, "provider": "retell"})
                assert not result.is_error, result.content
                found = result.structured_content or {}
                assert (found.get("provider"), found.get("call_id"), found.get("status")) == (
                    "retell",
                    call_id,
                    "in_progress",
                )
                outputs.append(json.dumps(found) + json.dumps([c.model_dump() for c in result.content]))
        missing = await client.call_tool("get_live_call", {"call_id": "0" * 32, "provider": "retell"})

    assert ended
    assert len(everyone) == len(set(everyone))
    assert set(everyone) == set(ongoing)
    assert sorted(by_agent) == sorted(
        i for i, c in ongoing.items() if c.agent is not None and c.agent.id == agent
    )
    assert missing.is_error
    everything = "\n".join(outputs)
    assert KEY not in everything
    assert tokens
    assert not [token for token in tokens if token in everything]


# -- a misbehaving Retell: every fault is an answer or a clear error, and the key never shows -----

FAULTS = (
    [
        Fault(kind="credential_echo", provider="retell", status_code=status, echo=echo)
        for status in (401, 403, 503)
        for echo in ("raw", "base64", "urlencoded", "upper")
    ]
    + [
        Fault(kind=kind, provider="retell")
        # Every kind that answers at once (latency and hang only wait).
        for kind in FAULT_KINDS
        if kind not in ("status", "credential_echo", "latency", "hang")
    ]
    + [Fault(kind="status", provider="retell", status_code=code) for code in (400, 401, 404, 429, 500, 503)]
)


def _key_forms() -> list[str]:
    raw = KEY.encode()
    encoded = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return [form.lower() for form in (KEY, quote(KEY, safe=""), *encoded, *(e.rstrip("=") for e in encoded))]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.status_code}-{f.echo}")
@pytest.mark.parametrize("flavours", [(), ("retell.live_transcript",)], ids=["plain", "live_transcript"])
async def test_under_every_fault_each_tool_answers_or_errors_clearly_and_never_shows_the_key(
    fault: Fault, flavours: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator = _flavoured(flavours, live_calls=8)
    ongoing, _, _ = _truth(simulator)
    call_id = sorted(ongoing)[0]
    policy = HttpPolicy(retry_attempts=1, tool_budget_s=5)
    seen: list[str] = []
    simulator.faults.inject(fault)
    async with client_on(simulator, http=policy) as client:
        for tool, arguments in (
            ("list_active_calls", {"provider": "retell"}),
            ("get_live_call", {"call_id": call_id, "provider": "retell"}),
            ("get_stream_details", {"call_id": call_id, "provider": "retell"}),
        ):
            with anyio.fail_after(15):
                result = await client.call_tool(tool, arguments)
            text = text_of(result)
            assert "mcp-livecalls hit an internal error" not in text, text
            if result.is_error:
                assert "Retell" in text, text
            seen += [text, json.dumps(result.structured_content)]

    everything = "\n".join([*seen, *(record.getMessage() for record in caplog.records)]).lower()
    assert [form for form in _key_forms() if form in everything] == []
