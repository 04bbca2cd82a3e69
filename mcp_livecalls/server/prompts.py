"""The prompts, one constructor each, registered from ``PROMPTS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer

from mcp_livecalls.providers.registry import titles_offering

if TYPE_CHECKING:
    from mcp_livecalls.server.app import LiveCallsApp

__all__ = ["PROMPTS"]

_VOICE_AGENTS = titles_offering("transcript")
"""The providers whose calls are voice agents (they keep a transcript)."""


def supervisor_overview_prompt(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.prompt(title="Supervisor overview")
    def supervisor_overview(hold_minutes: str = "3", long_call_minutes: str = "20") -> str:
        """A supervisor's summary of every live call: counts, long holds, calls without an agent."""
        return (
            "You are helping a contact-centre supervisor. Call list_active_calls (page with next_cursor "
            "until it is absent) and report briefly:\n"
            "1. How many calls are live, by provider, by status and by agent.\n"
            f"2. Calls on hold longer than {hold_minutes} minutes (status on_hold; duration_s).\n"
            "3. Calls in progress with no agent.\n"
            f"4. Unusually long calls (over {long_call_minutes} minutes).\n"
            "5. Providers listed under failures, if any, and what the note says.\n"
            "Name calls by provider and call_id. Do not invent numbers: say when a figure is unknown."
        )


def call_health_check_prompt(server: MCPServer[Any], app: LiveCallsApp) -> None:
    @server.prompt(
        title="Call health check",
        description=(
            "Check one live call: legs connected, muted or on hold, and "
            f"({_VOICE_AGENTS}) whether latency is degraded."
        ),
    )
    def call_health_check(call_id: str) -> str:
        return (
            f"Check the health of live call {call_id!r}. Call get_live_call with call_id={call_id!r}, then "
            "get_stream_details with the provider it answered with. Then say, in a few lines:\n"
            "- its status and how long it has lasted;\n"
            "- each leg: connected, connecting or disconnected (a dropped agent or customer leg), "
            "muted, on hold;\n"
            f"- for {_VOICE_AGENTS} voice agents: whether e2e latency p90 is above 1500 ms or LLM p90 "
            "above 1000 ms "
            "(degraded), and the last thing said;\n"
            "- what the provider does not offer (not_offered), so nothing is assumed.\n"
            "If the call is not live, say so and stop."
        )


PROMPTS: tuple[Callable[[MCPServer[Any], LiveCallsApp], None], ...] = (
    supervisor_overview_prompt,
    call_health_check_prompt,
)
