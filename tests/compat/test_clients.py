"""The official Python SDK 1.x and TypeScript SDK 1.x clients, as deployed, against our server.

Claude Desktop, VS Code, the MCP Inspector and mcp-remote are built on the TypeScript SDK; many
Python agents on the Python SDK 1.x. Each client runs once per scenario (``harness.SCENARIOS``:
stdio, streamable HTTP with a bearer token, stateless HTTP of ``serve --demo``) and reports what it
saw; each test below checks one step of one report, so a failure names the client, the transport
and the step.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from mcp_livecalls.core.catalog import NAMES

from .harness import CLIENTS, Outcome, report_of

TOOLS = ["get_live_call", "get_stream_details", "list_active_calls", "wait_for_call_state"]
PROVIDERS = set(NAMES)

Runs = dict[tuple[str, str], Outcome]

every_client = pytest.mark.parametrize("client", list(CLIENTS))
full_runs = pytest.mark.parametrize(
    ("client", "scenario"), [(client, scenario) for client in CLIENTS for scenario in ("stdio", "http")]
)


def step(runs: Runs, client: str, scenario: str, name: str) -> dict[str, Any]:
    """One step's observations; a step that raised in the client fails here with its error."""
    steps: dict[str, Any] = report_of(runs, client, scenario)["steps"]
    assert name in steps, f"the run stopped before {name}: {steps.get('connection')}"
    observed: dict[str, Any] = steps[name]
    assert "error" not in observed, f"{name} failed in {client} over {scenario}: {observed['error']}"
    return observed


@pytest.mark.parametrize("scenario", ["stdio", "http", "stateless-demo"])
@every_client
def test_initialize_works_on_every_protocol_version_the_client_offers(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    report = report_of(compat_runs, client, scenario)
    offers = report["client"]["offers"]
    assert set(offers) >= {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}
    # Over stdio each version costs a server process: the oldest one here, the latest in the
    # walkthrough; over HTTP every version the client offers.
    tried = ["2024-11-05"] if scenario == "stdio" else offers
    assert sorted(report["initialize"]) == sorted(tried)
    for version in tried:
        seen = report["initialize"][version]
        assert "error" not in seen, f"initialize offering {version}: {seen['error']}"
        # A version the server speaks is accepted as offered; any other gets the server's latest.
        expected = version if version in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
        assert seen["negotiated"] == expected, version
        assert seen["negotiated"] in offers
        assert seen["server_name"] == "mcp-livecalls"
        assert seen["tools"] == TOOLS
        assert seen["tool_errors"] == dict.fromkeys(TOOLS, False), version


@full_runs
def test_tools_list_names_every_tool(compat_runs: Runs, client: str, scenario: str) -> None:
    assert step(compat_runs, client, scenario, "initialize")["negotiated"] == "2025-11-25"
    assert step(compat_runs, client, scenario, "tools_list")["names"] == TOOLS


@full_runs
def test_list_active_calls_answers_structured_calls_and_compact_text(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    page = step(compat_runs, client, scenario, "list_active_calls")
    assert page["is_error"] is False
    calls = page["structured"]["calls"]
    assert {call["provider"] for call in calls} == PROVIDERS
    assert page["text"].startswith(f"{len(calls)} live calls")
    assert all(call["call_id"] in page["text"] for call in calls)


@full_runs
@pytest.mark.parametrize("tool", ["get_live_call", "get_stream_details"])
def test_one_call_tools_answer_for_a_listed_call(
    compat_runs: Runs, client: str, scenario: str, tool: str
) -> None:
    listed = step(compat_runs, client, scenario, "list_active_calls")["structured"]["calls"]
    answer = step(compat_runs, client, scenario, tool)
    assert answer["is_error"] is False
    call = answer["structured"]
    assert (call["provider"], call["call_id"], call["status"]) in {
        (c["provider"], c["call_id"], c["status"]) for c in listed
    }
    assert answer["text"].startswith(f"{call['provider']} {call['call_id']} in_progress")


@full_runs
def test_wait_for_call_state_times_out_on_a_call_that_does_not_move(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    waited = step(compat_runs, client, scenario, "wait_for_call_state")
    assert waited["is_error"] is False
    assert waited["structured"]["outcome"] == "timeout"
    assert waited["structured"]["call"]["status"] == "in_progress"
    assert waited["text"].startswith("timed out after")
    assert waited["progress_notifications"] >= 1  # the client's progress callback was called


@full_runs
def test_an_unknown_call_id_is_a_tool_error_that_says_so(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    answer = step(compat_runs, client, scenario, "unknown_call_id")
    assert answer["is_error"] is True
    assert "has a live call 'no-such-call-000'" in answer["text"]


@full_runs
def test_a_malformed_call_id_is_refused_as_a_tool_error(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    answer = step(compat_runs, client, scenario, "malformed_call_id")
    assert answer["is_error"] is True
    assert "call_id must be" in answer["text"]


@full_runs
def test_resources_list_read_and_templates(compat_runs: Runs, client: str, scenario: str) -> None:
    listed = step(compat_runs, client, scenario, "list_active_calls")["structured"]["calls"]
    resources = step(compat_runs, client, scenario, "resources")
    # The live lists, and the call board (an MCP App resource; hosts without Apps ignore it).
    assert resources["uris"] == ["livecalls://calls/active", "livecalls://providers", "ui://livecalls/board"]
    assert resources["templates"] == [
        "livecalls://calls/{provider}/{call_id}",
        "livecalls://calls/{provider}/{call_id}/stream",
    ]
    configured = {p["name"] for p in resources["providers"]["providers"] if p["configured"]}
    assert configured == PROVIDERS
    assert resources["active_calls"] == len(listed)
    assert (
        resources["call"]["call_id"]
        == step(compat_runs, client, scenario, "get_live_call")["structured"]["call_id"]
    )
    assert resources["mime_type"] == "application/json"


@full_runs
def test_prompts_list_and_get(compat_runs: Runs, client: str, scenario: str) -> None:
    call_id = step(compat_runs, client, scenario, "get_live_call")["structured"]["call_id"]
    prompts = step(compat_runs, client, scenario, "prompts")
    assert prompts["names"] == ["call_health_check", "supervisor_overview"]
    assert f"call_id={call_id!r}" in prompts["health_check"]
    assert "on hold longer than 5 minutes" in prompts["overview"]


@full_runs
def test_completion_offers_providers_and_live_call_ids(compat_runs: Runs, client: str, scenario: str) -> None:
    call_id = step(compat_runs, client, scenario, "get_live_call")["structured"]["call_id"]
    completion = step(compat_runs, client, scenario, "completion")
    assert sorted(completion["providers"]) == sorted(PROVIDERS)
    assert call_id in completion["call_ids"]
    assert call_id in completion["scoped_call_ids"]
    assert all(value.startswith(completion["prefix"]) for value in completion["scoped_call_ids"])


@full_runs
def test_a_subscribed_resource_sends_an_update_when_calls_change(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    subscribed = step(compat_runs, client, scenario, "subscribe")
    assert subscribed["update_arrived"] is True, f"no update after {subscribed['advances']} clock advances"


@full_runs
def test_the_unsubscribe_check_saw_the_server_poll_and_the_calls_change(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    """The next two tests mean something: while unsubscribed, the active list changed and the
    server polled a control subscription twice (time a still-running poller would have used)."""
    unsubscribed = step(compat_runs, client, scenario, "unsubscribe")
    assert unsubscribed["active_changed_meanwhile"] is True
    assert unsubscribed["control_polls_seen"] >= 2


@full_runs
def test_unsubscribing_stops_updates(compat_runs: Runs, client: str, scenario: str) -> None:
    assert step(compat_runs, client, scenario, "unsubscribe")["updates_after_unsubscribe"] == 0


@full_runs
def test_unsubscribing_stops_upstream_polling(compat_runs: Runs, client: str, scenario: str) -> None:
    unsubscribed = step(compat_runs, client, scenario, "unsubscribe")
    assert unsubscribed["counters_after"] == unsubscribed["counters_before"]


@full_runs
def test_wait_for_call_state_offers_no_wait_beyond_the_clients_60_second_request_timeout(
    compat_runs: Runs, client: str, scenario: str
) -> None:
    """The TypeScript SDK abandons a request after 60 s (without resetTimeoutOnProgress)."""
    assert step(compat_runs, client, scenario, "tools_list")["wait_timeout_max"] <= 60


@every_client
def test_a_wrong_bearer_token_is_refused_with_a_bearer_challenge(compat_runs: Runs, client: str) -> None:
    refused = step(compat_runs, client, "http", "unauthorized")
    assert refused["connected"] is False
    assert "401" in refused["client_error"] or "invalid_token" in refused["client_error"]
    assert refused["status"] == 401
    assert (refused["www_authenticate"] or "").startswith("Bearer")


@every_client
def test_stateless_http_does_not_advertise_subscriptions_it_cannot_deliver(
    compat_runs: Runs, client: str
) -> None:
    report = report_of(compat_runs, client, "stateless-demo")
    assert {version: seen["subscribe"] for version, seen in report["initialize"].items()} == dict.fromkeys(
        report["client"]["offers"], False
    )
