"""A voice-agent workflow step: transfer a call only once it is answered and the agent leg is up.

mcp-livecalls simulator --port 8765 &
python examples/transfer_guard.py --simulator http://127.0.0.1:8765            # picks a ringing call
python examples/transfer_guard.py --simulator http://127.0.0.1:8765 CALL_ID
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from common import PROVIDER_NAMES, add_connection_options, connect
from mcp import Client

MAX_WAIT_PER_CALL_S = 55.0


async def pick_call(client: Client) -> tuple[str, str]:
    """A call that is not answered yet, if any, else the newest call."""
    page = (await client.call_tool("list_active_calls", {"limit": 100})).structured_content or {}
    calls = page.get("calls", [])
    if not calls:
        raise SystemExit("no live calls")
    waiting = [c for c in calls if c["status"] in ("queued", "ringing", "early_media")]
    chosen = (waiting or calls)[0]
    return chosen["call_id"], chosen["provider"]


async def guard(args: argparse.Namespace) -> str:
    async with connect(args) as client:
        call_id, provider = (args.call_id, args.provider) if args.call_id else await pick_call(client)
        print(f"waiting for {provider} call {call_id} to be answered (up to {args.timeout:g}s)")

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            print(f"  … {message}")

        arguments: dict[str, Any] = {"call_id": call_id, "until": ["in_progress"]}
        if provider:
            arguments["provider"] = provider
        # One call waits at most 55 s (clients time requests out at 60 s): a longer wait is a loop.
        remaining, outcome = args.timeout, "timeout"
        while outcome == "timeout" and remaining > 0.5:
            arguments["timeout_s"] = min(MAX_WAIT_PER_CALL_S, remaining)
            waited = await client.call_tool("wait_for_call_state", arguments, progress_callback=progress)
            if waited.is_error:
                # Fail safe: a call that ended before the wait began (or a provider that failed)
                # is never transferred.
                print(f"not transferring: {getattr(waited.content[0], 'text', 'the wait failed')}")
                return "error"
            result = waited.structured_content or {}
            outcome = str(result.get("outcome"))
            remaining -= max(float(result.get("waited_s", 0.0)), 0.5)
        if outcome != "reached":
            print(
                f"not transferring: the call {'ended' if outcome == 'ended' else 'was not answered in time'}"
            )
            return str(outcome)

        stream = await client.call_tool("get_stream_details", {"call_id": call_id, "provider": provider})
        details = stream.structured_content or {}
        agent_legs = [leg for leg in details.get("legs", []) if leg.get("role") == "agent"]
        if agent_legs and any(leg.get("status") != "connected" for leg in agent_legs):
            print("not transferring: the agent leg is not connected")
            return "agent-leg-down"
        note = "agent leg connected" if agent_legs else f"{provider} reports no legs; status alone decides"
        print(f"transferring {call_id} now ({note}) — pretend")
        return "transferred"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_connection_options(parser)
    parser.add_argument("call_id", nargs="?")
    parser.add_argument("--provider", choices=PROVIDER_NAMES)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for an answer")
    anyio.run(guard, parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
